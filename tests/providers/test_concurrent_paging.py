"""Counted listings fetched with bounded concurrency (providers/paging.py), against the real
simulators over sockets: the same records and failures as one page at a time, a shared pause
after a 429, never more requests in flight than the bound. No assertion here depends on speed:
the pause is checked on the client's own clock (no request may start before Retry-After has
passed, which the gate guarantees however slow the machine is)."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qsl

import pytest

from providers.didww.client import DidwwClient
from providers.errors import BadResponse, RateLimited, Unavailable
from providers.paging import DEFAULT_CONCURRENCY, MAX_CONCURRENCY, RATE_LIMIT_RETRIES, fetch_concurrency
from providers.plivo.client import PlivoClient
from providers.simulators.didww import DidwwSimulator
from providers.simulators.plivo import PlivoSimulator
from providers.simulators.voximplant import VoximplantSimulator
from providers.simulators.voximplant_demo_key import DEMO_CREDENTIALS_JSON
from providers.voximplant.client import VoximplantClient

DIDWW_KEY = "paging-didww-key-0001"
VOX_NUMBERS = "GetPhoneNumbers"


class InFlight:
    """Counts the requests a simulator is handling at once on one listing (held ``hold`` seconds
    each so that overlapping requests really overlap), and records what each one asked for."""

    def __init__(self, sim, path: str, hold: float = 0.0):
        self.now = self.peak = 0
        self.asked: list[dict] = []
        self._lock = threading.Lock()
        original = sim.handle

        def handle(req):
            if path not in req.path:
                return original(req)
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
                self.asked.append(dict(req.query) | dict(parse_qsl(req.body.decode())))
            try:
                if hold:
                    time.sleep(hold)
                return original(req)
            finally:
                with self._lock:
                    self.now -= 1

        sim.handle = handle


@pytest.fixture
def vox():
    sim = VoximplantSimulator(numbers=230, caller_ids=25, seed=5)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def plivo():
    sim = PlivoSimulator(numbers=95, powerpacks=2, seed=4)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def didww():
    sim = DidwwSimulator(api_key=DIDWW_KEY, dids=230, trunks=4, trunk_groups=2, seed=6)
    sim.start()
    yield sim
    sim.stop()


def vox_client(sim, **config) -> VoximplantClient:
    return VoximplantClient(base_url=sim.base_url, secrets={"credentials_json": DEMO_CREDENTIALS_JSON},
                            config={"page_size": 20, **config})


def plivo_client(sim, **config) -> PlivoClient:
    return PlivoClient(base_url=sim.base_url, secrets={"auth_id": sim.auth_id, "auth_token": sim.auth_token},
                       config={"page_size": 10, **config})


def didww_client(sim, **config) -> DidwwClient:
    return DidwwClient(base_url=sim.base_url, secrets={"api_key": DIDWW_KEY}, config={"page_size": 20, **config})


def fetch(make, sim, **config):
    with make(sim, **config) as client:
        return client.fetch_inventory()


def same(a, b) -> None:
    """Two inventories hold the same records in the same order (records compare without ``raw``;
    the raw payloads are compared too)."""
    for name in ("numbers", "trunks", "trunk_groups", "groups", "locations", "caller_ids", "owners"):
        left, right = getattr(a, name), getattr(b, name)
        assert left == right, name
        assert [r.raw for r in left] == [r.raw for r in right], name
    assert (a.total_reported, a.pages_fetched, a.complete) == (b.total_reported, b.pages_fetched, b.complete)


# -- configuration ------------------------------------------------------------------------------
def test_concurrency_comes_from_the_config_within_bounds():
    assert fetch_concurrency({}) == DEFAULT_CONCURRENCY == 4
    assert fetch_concurrency({"fetch_concurrency": "2"}) == 2
    assert fetch_concurrency({"fetch_concurrency": 1}) == 1
    assert fetch_concurrency({"fetch_concurrency": 500}) == MAX_CONCURRENCY
    assert fetch_concurrency({"fetch_concurrency": -3}) == 1
    assert fetch_concurrency({"fetch_concurrency": "many"}) == DEFAULT_CONCURRENCY


# -- same results as one page at a time -----------------------------------------------------------
@pytest.mark.parametrize("make, sim_name", [(vox_client, "vox"), (plivo_client, "plivo"), (didww_client, "didww")])
def test_concurrent_walk_returns_what_the_sequential_walk_returns(make, sim_name, request):
    sim = request.getfixturevalue(sim_name)
    sequential = fetch(make, sim, fetch_concurrency=1)
    for concurrency in (2, 4, 8):
        same(fetch(make, sim, fetch_concurrency=concurrency), sequential)
    assert sequential.complete and len(sequential.numbers) == {"vox": 230, "plivo": 95, "didww": 230}[sim_name]


def test_pages_come_back_in_offset_order_even_when_answered_out_of_order(vox):
    """Later pages answered first (the first pages held back) still land in offset order."""
    original = vox.handle

    def slow_early_pages(req):
        offset = int(dict(parse_qsl(req.body.decode())).get("offset", 0))
        if VOX_NUMBERS in req.path and 0 < offset <= 60:
            time.sleep(0.15)
        return original(req)

    vox.handle = slow_early_pages
    inv = fetch(vox_client, vox, fetch_concurrency=8)
    assert [n.external_id for n in inv.numbers] == [str(r["phone_id"]) for r in sorted(
        vox.phone_numbers, key=lambda r: r["phone_id"])]


# -- the bound ----------------------------------------------------------------------------------
@pytest.mark.parametrize("configured, bound", [(None, DEFAULT_CONCURRENCY), (2, 2), (1, 1), (99, MAX_CONCURRENCY)])
def test_requests_in_flight_never_exceed_the_bound(vox, configured, bound):
    counter = InFlight(vox, VOX_NUMBERS, hold=0.03)
    config = {} if configured is None else {"fetch_concurrency": configured}
    inv = fetch(vox_client, vox, **config)  # 12 pages of 20 + the page past the end
    assert inv.complete and len(inv.numbers) == 230
    assert len(counter.asked) == 13
    assert counter.peak <= bound
    if bound > 1:
        assert counter.peak > 1  # the pages did overlap (12 pages held 30 ms each)


def test_plivo_walk_stays_within_the_bound_on_every_listing(plivo):
    counter = InFlight(plivo, "/Account/", hold=0.03)
    inv = fetch(plivo_client, plivo, fetch_concurrency=3)
    assert inv.complete and counter.peak <= 3


# -- correctness guarantees of CountedListing hold ----------------------------------------------
def test_total_changing_mid_walk_fails(vox):
    vox.faults.total_offset(1, page=6, path=VOX_NUMBERS)
    with pytest.raises(BadResponse, match="total_count changed from 230 to 231"):
        fetch(vox_client, vox)


def test_stated_total_short_by_one_page_fails(vox):
    vox.faults.total_offset(-30, path=VOX_NUMBERS, times=None)  # 200: ends on a page boundary
    with pytest.raises(BadResponse, match="20 more records at offset 200, past total_count 200"):
        fetch(vox_client, vox)


def test_duplicate_across_concurrently_fetched_pages_fails(plivo):
    """The page at offset 40 repeats the records of offset 30 (the listing shifted)."""
    original = plivo.handle

    def shifted(req):
        if req.path.endswith(f"/Account/{plivo.auth_id}/Number/") and req.param("offset") == "40":
            req.query = [(k, "30" if k == "offset" else v) for k, v in req.query]
        return original(req)

    plivo.handle = shifted
    with pytest.raises(BadResponse, match="repeated at offset 40"):
        fetch(plivo_client, plivo)


def test_empty_page_before_the_end_fails(didww):
    didww.faults.empty_page(True, page=5, path="/dids")
    with pytest.raises(BadResponse, match="page 5 is empty after 80 of 230"):
        fetch(didww_client, didww)


def test_pages_of_varying_size_finish_one_at_a_time(vox):
    """A server that returns fewer records than the first page's on a later page: the planned
    offsets no longer line up, and the walk continues from where the records really end."""
    original = vox.handle

    def short_third_page(req):
        response = original(req)
        form = dict(parse_qsl(req.body.decode()))
        if VOX_NUMBERS in req.path and form.get("offset") == "40":
            import json

            doc = json.loads(response.body)
            doc["result"], doc["count"] = doc["result"][:5], 5
            response.body = json.dumps(doc).encode()
        return response

    vox.handle = short_third_page
    counter = InFlight(vox, VOX_NUMBERS)
    inv = fetch(vox_client, vox, fetch_concurrency=4)
    assert inv.complete and len({n.external_id for n in inv.numbers}) == len(inv.numbers) == 230
    assert {"45", "65"} <= {a["offset"] for a in counter.asked}  # carried on from 40 + 5


# -- failures --------------------------------------------------------------------------------------
def test_500_on_one_page_fails_the_walk_and_stops_later_pages(vox):
    counter = InFlight(vox, VOX_NUMBERS, hold=0.02)
    vox.faults.fail(500, page=3, path=VOX_NUMBERS)
    with pytest.raises(Unavailable, match="HTTP 500"):
        fetch(vox_client, vox, fetch_concurrency=2)
    # Pages 1-3 and at most the window behind them were asked, not the whole listing.
    assert len(counter.asked) < 13


def test_earlier_page_error_wins_over_a_later_one(didww):
    """Errors are raised in page order, like one page at a time: page 3's 500 even though page
    6 failed differently (and possibly first)."""
    didww.faults.fail(500, page=3, path="/dids")
    didww.faults.total_offset(7, page=6, path="/dids")
    with pytest.raises(Unavailable, match="HTTP 500"):
        fetch(didww_client, didww, fetch_concurrency=8)


# -- rate limits ----------------------------------------------------------------------------------
class CallLog:
    """When each listing request left the client and when a rate limit came back (client clock)."""

    def __init__(self, client: VoximplantClient):
        self.sent: list[tuple[float, str]] = []
        self.limited: list[float] = []
        original = client.call

        def call(method, params=None):
            if method == VOX_NUMBERS:
                self.sent.append((time.monotonic(), str((params or {}).get("offset"))))
            try:
                return original(method, params)
            except RateLimited:
                self.limited.append(time.monotonic())
                raise

        client.call = call


def test_429_with_retry_after_pauses_every_worker_then_the_walk_completes(vox):
    vox.faults.rate_limit(retry_after=1, page=4, path=VOX_NUMBERS)  # offset 60
    with vox_client(vox, fetch_concurrency=4) as client:
        log = CallLog(client)
        inv = client.fetch_inventory()
    assert inv.complete and len(inv.numbers) == 230
    assert sorted(n.external_id for n in inv.numbers) == sorted(str(r["phone_id"]) for r in vox.phone_numbers)
    (limited_at,) = log.limited
    # The rate-limited page was asked again only once Retry-After had passed ...
    sent = [(t, offset) for t, offset in log.sent]
    assert [offset for _, offset in sent].count("60") == 2
    assert max(t for t, offset in sent if offset == "60") >= limited_at + 1.0
    # ... and so was every other page: within that second, at most the other workers that had
    # already passed the gate before the 429 came back could still start their request.
    during = [offset for t, offset in sent if limited_at < t < limited_at + 1.0]
    assert len(during) <= 3, during
    assert any(t >= limited_at + 1.0 and offset != "60" for t, offset in sent)  # the others resumed


def test_rate_limit_retries_are_bounded_per_walk(vox):
    vox.faults.rate_limit(retry_after=0, page=3, path=VOX_NUMBERS, times=None)
    with vox_client(vox) as client:
        log = CallLog(client)
        with pytest.raises(RateLimited):
            client.fetch_inventory()
    assert [offset for _, offset in log.sent].count("40") == RATE_LIMIT_RETRIES + 1


def test_long_retry_after_goes_back_to_the_scheduler(vox):
    """A Retry-After longer than the walk waits out itself is raised at once (the sync then
    reschedules the run, as for a 429 on the first page or one without Retry-After)."""
    vox.faults.rate_limit(retry_after=30, page=3, path=VOX_NUMBERS)
    with vox_client(vox) as client, pytest.raises(RateLimited) as info:
        client.fetch_inventory()
    assert info.value.retry_after == 30


def test_429_without_retry_after_is_raised(plivo):
    plivo.faults.rate_limit(page=3, path=f"/Account/{plivo.auth_id}/Number/")
    with pytest.raises(RateLimited) as info:
        fetch(plivo_client, plivo)
    assert info.value.retry_after is None

"""List-page faults of the shared simulator base (total_offset, empty_page, drop_next,
die_after_page) against all five provider simulators over real sockets.

Each test fetches pages 1-3 of a listing, sets a fault aimed at page 2, fetches them again and
checks that page 2 changed exactly as the fault says (written out per provider below, not read
from the simulators' hooks) while pages 1 and 3 are unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import httpx
import pytest

from providers.simulators.apifonica import ApifonicaSimulator
from providers.simulators.didww import DidwwSimulator
from providers.simulators.plivo import PlivoSimulator
from providers.simulators.server import Simulator
from providers.simulators.voximplant import VoximplantSimulator
from providers.simulators.voximplant_demo_key import DEMO_CREDENTIALS_JSON
from providers.simulators.webex import WebexSimulator
from providers.voximplant.credentials import parse_credentials, sign_token

SIZE = 20  # items per page; every simulator below holds more than three pages
PLIVO_ID, PLIVO_TOKEN = "MAODZKMDFJMJU3MTEYNG", "sim-plivo-token-42"
APIFONICA_SID, APIFONICA_TOKEN = "AC0000demo0000apifonica", "demo-apifonica-token"
View = dict  # {"body": parsed JSON, "link": Link header or None}


@dataclass
class Provider:
    name: str
    make: Callable[[], Simulator]
    client: Callable[[Simulator], httpx.Client]
    path: str  # what the listing's request path contains (faults target it)
    pages: Callable[[httpx.Client], list[Callable[[], httpx.Response]]]  # requests for pages 1..3
    items: tuple[str, ...]  # the body keys empty_page must clear
    total: tuple[str, ...] | None  # body key path of the stated total
    set_no_next: Callable[[View], None] | None  # what "no continuation" looks like here
    count: str | None = None  # per-page item count kept in step with the items


def _get_pages(api: httpx.Client, path: str, params: Callable[[int], dict]):
    return [lambda n=n: api.get(path, params=params(n)) for n in (1, 2, 3)]


def _didww_no_next(view: View) -> None:
    del view["body"]["links"]["next"]


def _plivo_no_next(view: View) -> None:
    view["body"]["meta"]["next"] = None


def _apifonica_no_next(view: View) -> None:
    view["body"]["next"] = None


def _webex_no_next(view: View) -> None:
    view["link"] = None


def _voximplant_pages(api: httpx.Client):
    return [lambda n=n: api.post("/platform_api/GetPhoneNumbers", data={"count": SIZE, "offset": (n - 1) * SIZE})
            for n in (1, 2, 3)]


def _apifonica_pages(api: httpx.Client):
    # Cursor paging: collect the URLs of pages 2 and 3 from an unfaulted walk.
    path = f"/v2/accounts/{APIFONICA_SID}/numbers"
    urls = [f"{path}?limit={SIZE}"]
    for _ in range(2):
        urls.append(api.get(urls[-1]).json()["next"])
    return [lambda url=url: api.get(url) for url in urls]


PROVIDERS = [
    Provider(
        "didww", lambda: DidwwSimulator(dids=75, seed=7),
        lambda sim: httpx.Client(base_url=sim.base_url, headers={"Api-Key": "demo-didww-key"}, timeout=10),
        "/dids",
        lambda api: _get_pages(api, "/dids", lambda n: {"page[number]": n, "page[size]": SIZE,
                                                       "include": "did_group.country"}),
        items=("data", "included"), total=("meta", "total_records"), set_no_next=_didww_no_next),
    Provider(
        "voximplant", lambda: VoximplantSimulator(caller_ids=5, numbers=75, seed=4),
        lambda sim: httpx.Client(base_url=sim.root_url, timeout=10, headers={
            "Authorization": "Bearer " + sign_token(parse_credentials(DEMO_CREDENTIALS_JSON))}),
        "GetPhoneNumbers", _voximplant_pages,
        items=("result",), total=("total_count",), set_no_next=None, count="count"),
    Provider(
        "plivo", lambda: PlivoSimulator(auth_id=PLIVO_ID, auth_token=PLIVO_TOKEN, numbers=75, seed=2),
        lambda sim: httpx.Client(base_url=sim.base_url, auth=(PLIVO_ID, PLIVO_TOKEN), timeout=10),
        "/Number/",
        lambda api: _get_pages(api, f"/Account/{PLIVO_ID}/Number/",
                               lambda n: {"limit": SIZE, "offset": (n - 1) * SIZE}),
        items=("objects",), total=("meta", "total_count"), set_no_next=_plivo_no_next),
    Provider(
        "webex", lambda: WebexSimulator(numbers=75, seed=3),
        lambda sim: httpx.Client(base_url=sim.root_url, headers={"Authorization": "Bearer demo-webex-token"},
                                 timeout=10),
        "/telephony/config/numbers",
        lambda api: _get_pages(api, "/v1/telephony/config/numbers",
                               lambda n: {"max": SIZE, "start": (n - 1) * SIZE}),
        items=("phoneNumbers",), total=None, set_no_next=_webex_no_next),
    Provider(
        "apifonica", lambda: ApifonicaSimulator(account_sid=APIFONICA_SID, auth_token=APIFONICA_TOKEN,
                                                numbers=75, seed=3),
        lambda sim: httpx.Client(base_url=sim.root_url, auth=(APIFONICA_SID, APIFONICA_TOKEN), timeout=10),
        "/numbers", _apifonica_pages,
        items=("numbers",), total=None, set_no_next=_apifonica_no_next),
]


@pytest.fixture(scope="module", params=PROVIDERS, ids=lambda p: p.name)
def running(request):
    provider: Provider = request.param
    with provider.make() as sim:
        yield provider, sim


@pytest.fixture
def setup(running):
    """(provider, sim, client, page requests) with the sim's faults cleared afterwards."""
    provider, sim = running
    with provider.client(sim) as api:
        yield provider, sim, api, provider.pages(api)
    sim.faults.clear()


def view(response: httpx.Response) -> View:
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("api_id", None)  # Plivo: a fresh uuid per response
    return {"body": body, "link": response.headers.get("link")}


def fetch(pages) -> list[View]:
    return [view(request()) for request in pages]


def assert_only_page_2(before: list[View], after: list[View], expected_page_2: View) -> None:
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] == expected_page_2


# What each fault should make of a page, spelled out from the Provider facts above.
def lied(provider: Provider, page: View, delta: int) -> View:
    page = copy.deepcopy(page)
    if provider.total:  # providers without totals: a no-op
        *parents, key = provider.total
        holder = page["body"]
        for name in parents:
            holder = holder[name]
        holder[key] += delta
    return page


def without_next(provider: Provider, page: View) -> View:
    page = copy.deepcopy(page)
    if provider.set_no_next:  # Voximplant has no continuation: a no-op
        provider.set_no_next(page)
    return page


def emptied(provider: Provider, page: View, keep_next: bool) -> View:
    page = copy.deepcopy(page) if keep_next else without_next(provider, page)
    for key in provider.items:
        page["body"][key] = []
    if provider.count:
        page["body"][provider.count] = 0
    return page


def test_pages_are_real_lists_with_a_continuation(setup):
    """Guards the other tests: page 2 has items, a total where the provider states one, a next."""
    provider, _, _, pages = setup
    page_2 = fetch(pages)[1]
    assert all(page_2["body"][key] for key in provider.items)
    assert (lied(provider, page_2, 1) != page_2) == bool(provider.total)
    assert (without_next(provider, page_2) != page_2) == bool(provider.set_no_next)


@pytest.mark.parametrize("delta", [5, -3])
def test_total_offset_changes_only_the_stated_total(setup, delta):
    provider, sim, _, pages = setup
    before = fetch(pages)
    sim.faults.total_offset(delta, page=2, path=provider.path)
    assert_only_page_2(before, fetch(pages), lied(provider, before[1], delta))


def test_total_offset_for_a_whole_listing_lies_on_every_page(setup):
    provider, sim, _, pages = setup
    before = fetch(pages)
    sim.faults.total_offset(4, path=provider.path, times=None)
    sim.faults.fail(500, page=3, path=provider.path)  # still fires while every page lies
    assert [view(pages[0]()), view(pages[1]())] == [lied(provider, page, 4) for page in before[:2]]
    assert pages[2]().status_code == 500
    assert view(pages[2]()) == lied(provider, before[2], 4)


@pytest.mark.parametrize("keep_next", [True, False])
def test_empty_page(setup, keep_next):
    provider, sim, _, pages = setup
    before = fetch(pages)
    sim.faults.empty_page(keep_next=keep_next, page=2, path=provider.path)
    assert_only_page_2(before, fetch(pages), emptied(provider, before[1], keep_next))


def test_drop_next(setup):
    provider, sim, _, pages = setup
    before = fetch(pages)
    sim.faults.drop_next(page=2, path=provider.path)
    assert_only_page_2(before, fetch(pages), without_next(provider, before[1]))


def test_list_faults_wait_for_a_served_list_page(setup):
    """Answers without a page number (an auth error) or replaced by an error neither change nor
    use up a list-page fault."""
    provider, sim, _, pages = setup
    before = fetch(pages)
    probe = pages[0]().request
    anonymous = httpx.Request(probe.method, probe.url, content=probe.content, headers={
        k: v for k, v in probe.headers.items() if k.lower() not in ("authorization", "api-key")})
    fault = sim.faults.empty_page(path=provider.path)
    sim.faults.fail(503, page=1, path=provider.path)
    with httpx.Client(timeout=10) as stranger:
        denied = stranger.send(anonymous)
    assert denied.status_code == 401 or "error" in denied.json()  # Voximplant: 200 + error body
    assert pages[0]().status_code == 503
    assert fault.times == 1
    assert view(pages[0]()) == emptied(provider, before[0], keep_next=True)
    assert fetch(pages) == before


def test_faults_set_over_http_control(setup):
    provider, sim, _, pages = setup
    before = fetch(pages)
    spec = {"faults": [{"kind": "empty_page", "keep_next": False, "page": 2, "path": provider.path},
                       {"kind": "total_offset", "delta": 2, "page": 2, "path": provider.path, "times": None}]}
    assert httpx.post(sim.root_url + "/__sim__/faults", json=spec).json() == {"ok": True}
    expected = lied(provider, emptied(provider, before[1], keep_next=False), 2)
    assert_only_page_2(before, fetch(pages), expected)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_die_after_page_then_restart(provider):
    with provider.make() as sim, provider.client(sim) as api:
        pages = provider.pages(api)
        before = fetch(pages)
        port = sim.port
        sim.faults.die_after_page(2, path=provider.path)
        assert view(pages[0]()) == before[0]
        assert view(pages[1]()) == before[1]  # the page itself is served in full
        with pytest.raises(httpx.ConnectError):
            pages[2]()
        with pytest.raises(httpx.ConnectError):  # a brand-new client is refused too
            httpx.get(sim.root_url + "/", timeout=5)
        sim.restart()
        assert sim.port == port
        assert fetch(pages) == before  # back, and the fault is used up


def test_die_after_page_cuts_other_keep_alive_connections():
    provider = PROVIDERS[0]
    with provider.make() as sim, provider.client(sim) as bystander, provider.client(sim) as api:
        bystander_pages, pages = provider.pages(bystander), provider.pages(api)
        bystander_pages[0]()  # leaves a pooled keep-alive connection
        sim.faults.die_after_page(1, path=provider.path)
        assert pages[0]().status_code == 200
        with pytest.raises(httpx.TransportError):
            bystander_pages[0]()
        sim.restart()
        assert bystander_pages[0]().status_code == 200


def test_restart_is_a_no_op_while_running():
    with ApifonicaSimulator(numbers=3) as sim:
        server = sim._server
        assert sim.restart() is sim and sim._server is server


def test_webex_drop_next_keeps_other_link_rels():
    sim = WebexSimulator(numbers=3)
    headers = {"Link": '<http://h/v1/x?start=0>; rel="first", <http://h/v1/x?start=20>; rel="next", '
                       '<http://h/v1/x?start=0>; rel="prev"'}
    sim.drop_next({}, headers)
    assert headers == {"Link": '<http://h/v1/x?start=0>; rel="first", <http://h/v1/x?start=0>; rel="prev"'}
    only_next = {"Link": '<http://h/v1/x?start=20>; rel="next"'}
    sim.drop_next({}, only_next)
    assert only_next == {}


def test_webex_gateway_timeout_still_works_next_to_list_faults():
    with WebexSimulator(numbers=75, seed=3) as sim, httpx.Client(
            base_url=sim.root_url, headers={"Authorization": "Bearer demo-webex-token"}, timeout=10) as api:
        sim.gateway_timeout(max_above=10, page=2)
        sim.faults.drop_next(page=2)
        assert api.get("/v1/telephony/config/numbers", params={"max": 20, "start": 20}).status_code == 504
        ok = api.get("/v1/telephony/config/numbers", params={"max": 20, "start": 20})
        assert ok.status_code == 200 and "next" not in ok.links and len(ok.json()["phoneNumbers"]) == 20

"""The adapter contract: record dataclasses and the ``ProviderClient`` protocol.

An adapter turns a provider's wire format into these records. The Django side never sees raw
provider JSON except as the opaque ``raw`` dict it stores for the "raw provider data" panel.
All ``*_id`` fields on records are the *provider's* ids (strings); the sync service resolves
them to database rows.
"""

from __future__ import annotations

import datetime as dt
import contextlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Protocol, Sequence

import phonenumbers

from .redaction import NOTHING, RawRedaction

# Canonical vocabularies (mirrored as Django TextChoices in numbersadmin/inventory/choices.py).
STATUS_ACTIVE = "active"
STATUS_PENDING = "pending"  # ordered / awaiting registration or verification
STATUS_SUSPENDED = "suspended"  # blocked by provider
STATUS_CANCELLING = "cancelling"  # terminated / pending removal / not renewing
STATUS_INACTIVE = "inactive"
STATUSES = (STATUS_ACTIVE, STATUS_PENDING, STATUS_SUSPENDED, STATUS_CANCELLING, STATUS_INACTIVE)

KIND_LOCAL = "local"
KIND_NATIONAL = "national"
KIND_MOBILE = "mobile"
KIND_TOLL_FREE = "toll_free"
KIND_SHARED_COST = "shared_cost"
KIND_SIP = "sip"
KIND_UNKNOWN = "unknown"
KINDS = (KIND_LOCAL, KIND_NATIONAL, KIND_MOBILE, KIND_TOLL_FREE, KIND_SHARED_COST, KIND_SIP, KIND_UNKNOWN)


def parse_decimal(value: Any) -> Decimal | None:
    """Provider money values arrive as str, int or float; None when absent or unusable."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def to_e164(raw: str | None, region: str | None = None) -> str:
    """Normalise a provider number to E.164, or return "" when phonenumbers cannot parse it.

    Providers send digits with or without "+"; most omit it, so digits are first read as an
    international number, then (if a region is known) as a national one.
    """
    if not raw:
        return ""
    text = str(raw).strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if not digits:
        return ""
    candidates = ["+" + digits]
    if region and not text.startswith("+"):
        candidates.append(text)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return ""


def country_of(e164: str) -> str:
    """ISO 3166 alpha-2 region of an E.164 number ("" if unknown)."""
    if not e164:
        return ""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return ""
    return "" if region in (None, "ZZ", "001") else region


@dataclass(frozen=True)
class LocationRecord:
    external_id: str
    name: str
    kind: str = "city"  # city / region / country / site
    country_code: str = ""  # ISO alpha-2
    country_name: str = ""
    region: str = ""
    city: str = ""
    main_number: str = ""  # E.164 of the site's main number (Webex calling line id), if any
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class OwnerRecord:
    """Who a number is assigned to (Webex person, workspace, virtual line, hunt group, ...).
    ``owner_type`` is the provider's raw type string: enums drift, so it is stored as text."""

    external_id: str
    name: str
    owner_type: str = ""
    first_name: str = ""
    last_name: str = ""
    location_id: str | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TrunkGroupRecord:
    external_id: str
    name: str
    capacity_limit: int | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TrunkRecord:
    external_id: str
    name: str
    kind: str = ""  # e.g. "sip" / "pstn"
    description: str = ""
    trunk_group_id: str | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class NumberGroupRecord:
    """A provider's grouping of numbers that is not a location: DIDWW DID group, Plivo pool..."""

    external_id: str
    name: str
    prefix: str = ""
    group_type: str = ""
    features: tuple[str, ...] = ()
    location_id: str | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class PoolMembershipRecord:
    """A number's entry in a pool (Plivo): when it joined, the pool's service for it ("sms" /
    "mms"; "" when the pool list does not say) and which pool list it is on (number / tollfree /
    shortcode)."""

    pool_id: str
    added_on: dt.datetime | None = None
    service: str = ""
    member_type: str = "number"


@dataclass(frozen=True)
class NumberRecord:
    external_id: str
    number: str  # exactly as the provider sent it
    e164: str = ""  # "" when the number cannot be parsed (kept and flagged, never dropped)
    country_code: str = ""
    kind: str = KIND_UNKNOWN
    status: str = STATUS_ACTIVE
    raw_status: str = ""
    description: str = ""
    voice: bool | None = None
    sms: bool | None = None
    mms: bool | None = None
    monthly_cost: Decimal | None = None
    currency: str = ""
    acquired_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    location_id: str | None = None
    trunk_id: str | None = None
    trunk_group_id: str | None = None
    group_id: str | None = None
    application: str = ""  # the provider-side app/routing the number is bound to (name)
    owner_id: str | None = None
    pool_ids: tuple[str, ...] = ()  # NumberGroupRecord ids of pools the number belongs to (Plivo)
    pool_memberships: tuple[PoolMembershipRecord, ...] = ()  # per pool: added_on, service (Plivo)
    extension: str = ""
    is_main_number: bool | None = None
    is_service_number: bool | None = None
    # False: the provider says it will not renew; True: it says it will; None: it does not say.
    will_renew: bool | None = None
    # DIDWW DID attributes (None elsewhere).
    billing_cycles_count: int | None = None
    emergency_enabled: bool | None = None
    capacity_limit: int | None = None
    channels_included_count: int | None = None
    dedicated_channels_count: int | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class CallerIdRecord:
    """A caller ID the provider lets the account present (Voximplant verified caller IDs, Webex
    external caller-ID candidates). Verification state is derived later from ``verified_until``."""

    external_id: str
    number: str  # as the provider sent it
    e164: str = ""
    active: bool | None = None
    verified_until: dt.date | None = None
    code_entering_attempts_left: int | None = None
    verification_call_attempts_left: int | None = None
    # "verified" (Voximplant caller IDs) or "location_candidate" (Webex numbers a location may
    # present as external caller ID; no verification state).
    kind: str = "verified"
    # Webex candidates: the candidate's own location (the location it was listed for is in
    # ``external_id``), its owner and flags.
    location_id: str | None = None
    listed_for_location_id: str | None = None  # Webex: the location whose candidate list holds it
    owner_id: str | None = None
    is_main_number: bool | None = None
    toll_free_number: bool | None = None
    is_service_number: bool | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass
class Inventory:
    """Everything one complete listing returned. ``complete`` is only True when every page
    arrived and the count matches what the provider said it holds."""

    numbers: list[NumberRecord] = field(default_factory=list)
    trunks: list[TrunkRecord] = field(default_factory=list)
    trunk_groups: list[TrunkGroupRecord] = field(default_factory=list)
    groups: list[NumberGroupRecord] = field(default_factory=list)
    locations: list[LocationRecord] = field(default_factory=list)
    caller_ids: list[CallerIdRecord] = field(default_factory=list)
    owners: list[OwnerRecord] = field(default_factory=list)
    total_reported: int | None = None
    pages_fetched: int = 0
    complete: bool = False


@dataclass(frozen=True)
class Progress:
    """Where a fetch is. Adapters report once before the first request of each listing (``begin``)
    and after every page, so a failure on the very first request of a listing is recorded at that
    listing's stage, not at the previous one."""

    pages_fetched: int
    items_fetched: int
    items_total: int | None
    stage: str = "numbers"


ProgressCallback = Callable[[Progress], None]


def begin(progress: ProgressCallback | None, stage: str, pages: int = 0, items: int = 0) -> None:
    """Announce the listing about to be fetched (no page of it yet). ``pages``/``items`` carry the
    adapter's running counters where its progress reports are cumulative (Webex)."""
    if progress is not None:
        progress(Progress(pages, items, None, stage=stage))


class Closeable:
    """Context-manager plumbing shared by HTTP clients and adapters: ``with X(...) as c:``."""

    def close(self) -> None:  # pragma: no cover - overridden
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProviderClient(Protocol):
    """What the sync service needs from an adapter."""

    def test_connection(self) -> str:
        """Make one cheap authenticated call; return a short human summary or raise ProviderError."""

    def fetch_inventory(self, progress: ProgressCallback | None = None) -> Inventory:
        """Fetch every page. Raise ProviderError on any failure; never return a partial listing
        with ``complete=True``."""

    def lookup_numbers(self, external_ids: Sequence[str]) -> dict[str, bool]:
        """Ask the provider about numbers a complete listing no longer shows, one by one:
        {external_id: True (it still exists) / False (definitively not found)}. Ids it could
        not answer for are left out (unknown): they become "missing", never removed."""

    def close(self) -> None: ...


def page_size(config: dict, maximum: int, default: int | None = None) -> int:
    """Items per page: the config's ``page_size`` (tests and slow accounts lower it) within
    1..``maximum`` (the API's cap); ``default`` (else ``maximum``) when unset or not a number."""
    default = maximum if default is None else default
    try:
        return max(1, min(maximum, int(config.get("page_size") or default)))
    except (TypeError, ValueError):
        return default


def lookup_each(external_ids: Sequence[str], probe: Callable[[str], bool]) -> dict[str, bool]:
    """Shared loop for ``lookup_numbers``: ``probe(id)`` returns whether the number exists;
    a 404 is a definitive "gone"; any other provider error stops the lookups (the rest stay
    unknown: a rate limit or outage is not evidence either way)."""
    from .errors import NotFound, ProviderError

    answers: dict[str, bool] = {}
    for ext in external_ids:
        try:
            answers[ext] = probe(ext)
        except NotFound:
            answers[ext] = False
        except ProviderError:
            break
    return answers


@dataclass(frozen=True)
class ProviderSpec:
    """How the rest of the app knows a provider: registry entries are instances of this."""

    slug: str
    name: str
    default_base_url: str
    secret_fields: tuple[str, ...]
    config_fields: tuple[str, ...] = ()
    tuning_fields: tuple[str, ...] = ("page_size",)  # config keys the adapter reads, not on the form
    client_factory: Callable[..., ProviderClient] | None = None  # (base_url, secrets, config, **http_opts)
    file_secrets: tuple[str, ...] = ()  # secrets an admin uploads as a file (e.g. credentials.json)
    # validate_secrets(secrets) raises ValueError with a message that never quotes secret material
    validate_secrets: Callable[[dict], None] | None = None
    # Applied to every raw payload before it is stored (account identifiers, per-number credentials).
    raw_redaction: RawRedaction = NOTHING
    docs: str = ""

    def client(self, *, base_url: str, secrets: dict, config: dict | None = None, **http_opts: Any):
        assert self.client_factory is not None
        return self.client_factory(base_url=base_url, secrets=secrets, config=config or {}, **http_opts)


class CountedListing:
    """Guards one listing whose provider states its size (DIDWW ``meta.total_records``,
    Voximplant ``total_count``, Plivo ``meta.total_count``): it is complete only if the unique
    records received equal that total and the total held still. Records shifting between
    pages would otherwise be silently lost or doubled, so shifts, repeats, empty pages before
    the end and surplus records raise ``BadResponse``."""

    def __init__(self, label: str, total_name: str = "total_count", redact: Callable[[str], str] = str):
        self.label, self.total_name, self.redact = label, total_name, redact
        self.seen: set = set()
        self.total: int | None = None

    @property
    def received(self) -> int:
        return len(self.seen)

    def add_page(self, keys: list, page_total: int, where: str, empty: str = "") -> None:
        """``where`` names the page in messages ("on page 3", "at offset 40"); ``empty`` words
        the empty-page failure (default "empty page <where>")."""
        from .errors import BadResponse

        if self.total is None:
            self.total = page_total
        elif page_total != self.total:
            raise BadResponse(f"{self.label}: {self.total_name} changed from {self.total} to {page_total} "
                              "during paging (listing changed mid-sync; retry)")
        if not keys and len(self.seen) < self.total:
            raise BadResponse(f"{self.label}: {empty or 'empty page ' + where} after {len(self.seen)} of "
                              f"{self.total} records")
        for key in keys:
            if key in self.seen:
                shown = key[0] if isinstance(key, tuple) else key
                raise BadResponse(self.redact(f"{self.label}: record {shown} repeated {where} (listing shifted)"))
            self.seen.add(key)
        if len(self.seen) > self.total:
            raise BadResponse(f"{self.label}: received {len(self.seen)} records but {self.total_name} is {self.total}")

    def walk_offsets(self, fetch: Callable[[int], tuple[list, int]], key: Callable[[Any], Any],
                     progress: "ProgressCallback | None", stage: str, concurrency: int = 1,
                     gate: "Any | None" = None) -> tuple[list, int, int]:
        """Offset paging (Voximplant ``offset``, Plivo ``offset``) until the stated total, then
        one page past it: ``fetch(offset)`` returns (page items, page total). Returns (items,
        total, pages); every page goes through ``add_page``, so a server that ignores ``offset``
        cannot loop us, and a total that is short (even by exactly one page) fails the listing
        instead of ending it early.

        With ``concurrency`` > 1 the first page (which states the total and the server's page
        size) is fetched alone, then the remaining offsets and the page past the end up to
        ``concurrency`` at once (providers/paging.py); pages are still checked, reported and kept
        in offset order, so results and failures are those of the sequential walk. Should a page
        hold more or fewer records than the first one, the planned offsets no longer line up and
        the walk carries on one page at a time from where the records really end."""
        from .paging import Gate, fetch_in_order

        items: list = []
        state = {"offset": 0, "pages": 0}
        begin(progress, stage)

        def take(page: list, page_total: int) -> bool:
            """One page in offset order; True once the listing is done."""
            offset = state["offset"]
            state["pages"] += 1
            keys = [key(item) for item in page]
            if self.total is not None and offset >= self.total:
                self.check_past_end(keys, page_total, f"at offset {offset}")
                return True
            self.add_page(keys, page_total, f"at offset {offset}")
            items.extend(page)
            if progress is not None:
                progress(Progress(state["pages"], self.received, self.total, stage=stage))
            if offset >= self.total:  # total 0: this empty first page was already past the end
                return True
            state["offset"] = offset + len(page)
            return False

        if concurrency <= 1:
            done = take(*fetch(0))
        else:
            gate = gate if gate is not None else Gate()
            gate.wait()  # pacing only: a 429 on the first page is raised as before
            first, first_total = fetch(0)
            done = take(first, first_total)
            if not done:
                step = len(first)  # add_page refused an empty first page before the end
                planned = list(range(step, self.total, step)) + [self.total]
                with contextlib.closing(fetch_in_order(fetch, planned, concurrency, gate)) as pages:
                    for offset, page in zip(planned, pages):
                        if offset != state["offset"]:
                            break  # page sizes varied: finish sequentially from the real offset
                        done = take(*page)
                        if done:
                            break
        while not done:
            done = take(*fetch(state["offset"]))
        return items, self.finish(), state["pages"]

    def check_past_end(self, keys: list, page_total: int, where: str) -> None:
        """The page after the stated total must be empty: silence at a page boundary is not
        evidence that the listing ended (a total short by one page would otherwise end it)."""
        from .errors import BadResponse

        if page_total != self.total:
            raise BadResponse(f"{self.label}: {self.total_name} changed from {self.total} to {page_total} "
                              "during paging (listing changed mid-sync; retry)")
        if keys:
            raise BadResponse(f"{self.label}: {len(keys)} more records {where}, past {self.total_name} "
                              f"{self.total} (the stated total is short; listing not trusted)")

    def finish(self) -> int:
        from .errors import BadResponse

        if len(self.seen) != self.total:
            raise BadResponse(f"{self.label}: received {len(self.seen)} unique records but "
                              f"{self.total_name} is {self.total}")
        return self.total


"""Reads. Views and exports both go through these, so an export is exactly what the list shows."""

from __future__ import annotations

import datetime as dt
import re as _re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import (Case, CharField, Count, DateField, F, Func, IntegerField, OuterRef, Q, QuerySet, StringAgg,
                              Subquery, Sum, Value, When)
from django.db.models.functions import Cast, Coalesce, Concat, NullIf
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from providers.plivo.mapping import POOL_GROUP_TYPE

from .choices import AccountHealth, NumberStatus, SyncState, VerificationState, stage_label, sync_error_text
from .filters import (SEARCH_MAX_CHARS, AuditLogFilterSet, CallerIdFilterSet, LocationFilterSet, NumberFilterSet,
                      NumberGroupFilterSet, OwnerFilterSet, TrunkFilterSet, TrunkGroupFilterSet, within_days)
from .models import (AuditLog, CallerId, ListPreference, Location, NumberChange, NumberCount, NumberGroup, Owner,
                     PhoneNumber, PoolMembership,
                     ProviderAccount,
                     SavedView, SiteSettings, SyncRun, Tag, Trunk, TrunkGroup)
from .pagination import SortKey, count_rows, order_by_sort
from . import sqlcache
from .planner import estimate_rows
from .scopes import scope_q, scoped, visible_account_ids

# Sort key (the column name in ``sort=``) -> a non-null db field (keyset's fast path; these have
# an index ending in id, models.PhoneNumber) or a SortKey (may be empty: NULLs, and '' for text,
# sort last in both directions; pagination.py).
NUMBER_SORTS = {
    "e164": "e164",
    "provider": "provider",
    "country": "country",
    "city": "city",
    "status": "status",
    "kind": "kind",
    "first_seen": "first_seen",
    "last_changed": "last_changed_at",
    "account": SortKey("account__name", text=True),
    "region": SortKey("region", text=True),
    "cost": SortKey("monthly_cost"),
    "renews": SortKey("expires_at"),
    "owner": SortKey("owner__name", text=True),
    "trunk": SortKey("trunk__name", text=True),
    "trunk_group": SortKey("trunk_group__name", text=True),
    "description": SortKey("description", text=True),
    "freshness": SortKey("account__last_success_at"),
    "location": SortKey("location__name", text=True),
    "did_group": SortKey("number_group__name", text=True),
    "application": SortKey("application", text=True),
    "extension": SortKey("extension", text=True),
    "acquired": SortKey("acquired_at"),
    "note": SortKey("note__text", text=True),
    "will_renew": SortKey("will_renew"),
    "billing_cycles": SortKey("billing_cycles_count"),
    "emergency": SortKey("emergency_enabled"),
    "capacity_limit": SortKey("capacity_limit"),
    "channels_included": SortKey("channels_included_count"),
    "dedicated_channels": SortKey("dedicated_channels_count"),
}
DEFAULT_NUMBER_SORT = "e164"
# Rows of archived accounts leave every list and total (the numbers list shows them on request).
ACTIVE_ACCOUNT = Q(account__archived_at__isnull=True)


@dataclass
class Sort:
    key: str
    field: str | SortKey
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.key}" if self.descending else self.key


def parse_sort(value: str | None, allowed: dict, default: str) -> tuple[Sort, str | None]:
    """Returns (sort, error message or None). Unknown keys fall back to the default."""
    raw = (value or "").strip()
    key = raw.lstrip("-")
    if raw and key in allowed:
        return Sort(key, allowed[key], raw.startswith("-")), None
    error = f"Unknown sort {raw!r}; sorted by {default}." if raw else None
    return Sort(default, allowed[default], False), error


def visible_views(user, list_name: str | None = None) -> QuerySet:
    """Saved views a user may open: their own and everyone's shared ones. A view is a query
    string: opening a shared view runs it under the viewer's own scope (scopes.py), so each viewer
    sees only their accounts' rows."""
    qs = SavedView.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")
    return qs.filter(list_name=list_name) if list_name else qs


def list_views(user, list_name: str) -> list[SavedView]:
    """``visible_views(user, list_name)`` as a list, each with its ``owner``: read on every list
    page, so its SQL is kept (sqlcache) and the owners of other users' shared views come in one
    more query, only when there are any."""
    views = sqlcache.rows(SavedView, ("list_views",), lambda: SavedView.objects.filter(
        # Value(True): a parameter on every backend (a bare True compiles to the bare column on
        # PostgreSQL, to "= %s" on SQLite), so the declared parameters match both.
        Q(owner=user.pk) | Q(shared=Value(True))).filter(list_name=list_name), (user.pk, True, list_name))
    others = {v.owner_id for v in views if v.owner_id != user.pk}
    owners = get_user_model()._default_manager.in_bulk(others) if others else {}
    for view in views:
        view.owner = user if view.owner_id == user.pk else owners[view.owner_id]
    return views


def list_preference(user, list_name: str) -> ListPreference | None:
    """The user's columns and default view for a list (``default_view`` loads on first use). Read
    on every list page: its SQL is kept (sqlcache)."""
    found = sqlcache.rows(ListPreference, ("list_preference",), lambda: ListPreference.objects.filter(
        user=user.pk).filter(list_name=list_name).order_by("pk")[:1], (user.pk, list_name))
    return found[0] if found else None


def default_view_ids(user) -> set[int]:
    return set(ListPreference.objects.filter(user=user).values_list("default_view_id", flat=True))


def tag_names(pks: list[int]) -> dict[int, str]:
    """Number pk -> its tags as "a, b" (one query for a chunk of numbers)."""
    names: dict[int, list[str]] = {}
    for pk, name in (Tag.numbers.through.objects.filter(phonenumber_id__in=pks)
                     .order_by("tag__name").values_list("phonenumber_id", "tag__name")):
        names.setdefault(pk, []).append(name)
    return {pk: ", ".join(v) for pk, v in names.items()}


def tag_names_sql() -> Subquery:
    """The same value as ``tag_names`` as a correlated subquery (PostgreSQL COPY exports)."""
    return Subquery(
        Tag.numbers.through.objects.filter(phonenumber_id=OuterRef("pk")).order_by().values("phonenumber_id")
        .annotate(names=StringAgg("tag__name", delimiter=Value(", "), order_by="tag__name")).values("names")[:1])


def _pool_entry(name: str, service: str, member_type: str, added_on) -> str:
    """One pool membership as exported: "Pack A (sms, added 2019-10-09)"; the list it is on
    when the pool states no service ("tollfree", "shortcode")."""
    day = added_on.astimezone(dt.UTC).date().isoformat() if added_on else "?"
    return f"{name} ({service or member_type}, added {day})"


def pool_summaries(pks: list[int]) -> dict[int, str]:
    """Number pk -> its pool memberships as "A (sms, added …); B (…)" (one query per chunk)."""
    found: dict[int, list[str]] = {}
    rows = (PoolMembership.objects.filter(phonenumber_id__in=pks).order_by("numbergroup__name", "pk")
            .values_list("phonenumber_id", "numbergroup__name", "service", "member_type", "added_on"))
    for pk, name, service, member_type, added_on in rows:
        found.setdefault(pk, []).append(_pool_entry(name, service, member_type, added_on))
    return {pk: "; ".join(v) for pk, v in found.items()}


def pool_entry_sql() -> Concat:
    """``_pool_entry`` in SQL, on a PoolMembership row."""
    return Concat(F("numbergroup__name"), Value(" ("), Coalesce(NullIf(F("service"), Value("")), F("member_type")),
                  Value(", added "), Coalesce(Cast(Cast("added_on", DateField()), CharField()), Value("?")),
                  Value(")"), output_field=CharField())


def pool_summaries_sql() -> Subquery:
    """The same value as ``pool_summaries`` as a correlated subquery (PostgreSQL COPY exports)."""
    entry = pool_entry_sql()
    return Subquery(
        PoolMembership.objects.filter(phonenumber_id=OuterRef("pk")).order_by().values("phonenumber_id")
        .annotate(names=StringAgg(entry, delimiter=Value("; "), order_by=("numbergroup__name", "pk")))
        .values("names")[:1])


def number_queryset() -> QuerySet:
    """Numbers of the accounts the viewer sees (scopes.py): every number read starts here."""
    return scoped(PhoneNumber.objects).select_related("account", "trunk", "trunk_group", "location", "number_group", "owner")


# Provider payloads can be large; list pages and exports never show them.
LIST_DEFERRED = ("raw", "content_hash", "account__config", "account__secrets_encrypted", "trunk__raw",
                 "trunk_group__raw", "location__raw", "number_group__raw", "owner__raw")


def number_list(params) -> NumberFilterSet:
    """Filtered numbers (``.qs``) plus the bound form (errors, chips)."""
    return NumberFilterSet(params, queryset=number_queryset().defer(*LIST_DEFERRED))


def number_get(pk: int) -> PhoneNumber:
    return number_queryset().get(pk=pk)


def numbers_of(obj) -> tuple[QuerySet, str, int]:
    """The numbers an owner, location, trunk, trunk group, DID group or pool holds (removed ones
    included), and the numbers-list filter that shows them: (queryset, filter name, value)."""
    qs = number_queryset()
    if isinstance(obj, NumberGroup):
        if obj.group_type == POOL_GROUP_TYPE:
            return qs.filter(pools=obj), "pool", obj.pk
        return qs.filter(number_group=obj), "number_group", obj.pk
    name = {Owner: "owner", Location: "location", Trunk: "trunk", TrunkGroup: "trunk_group"}[type(obj)]
    return qs.filter(**{name: obj}), name, obj.pk


def pool_memberships_of(number: PhoneNumber) -> list[PoolMembership]:
    """The number's pools with when it joined and the pool's service for it (Plivo)."""
    return list(scoped(PoolMembership.objects.filter(phonenumber=number), "numbergroup__account").select_related("numbergroup")
                .defer("numbergroup__raw").order_by("numbergroup__name", "pk"))


def pool_members(pool: NumberGroup, limit: int = 200) -> list[PoolMembership]:
    """A pool's live members with when each joined and the pool's service for it."""
    return list(scoped(PoolMembership.objects.filter(numbergroup=pool, phonenumber__removed_at__isnull=True),
                       "phonenumber__account")
                .select_related("phonenumber").only("added_on", "service", "member_type", "phonenumber__id",
                                                    "phonenumber__e164", "phonenumber__number_raw")
                .order_by("phonenumber__e164", "pk")[:limit])


def number_history(number: PhoneNumber, limit: int = 100):
    return NumberChange.objects.filter(number=number).select_related("run")[:limit]


def trunk_list(params) -> TrunkFilterSet:
    qs = scoped(Trunk.objects.filter(ACTIVE_ACCOUNT)).select_related("account", "trunk_group").annotate(
        number_count=Count("numbers", filter=Q(numbers__removed_at__isnull=True))
    )
    return TrunkFilterSet(params, queryset=qs)


def trunk_group_list(params) -> TrunkGroupFilterSet:
    qs = scoped(TrunkGroup.objects.filter(ACTIVE_ACCOUNT)).select_related("account").annotate(
        number_count=Count("numbers", filter=Q(numbers__removed_at__isnull=True), distinct=True),
        trunk_count=Count("trunks", distinct=True),
    )
    return TrunkGroupFilterSet(params, queryset=qs)


def group_features(pks: list[int]) -> dict[int, str]:
    """Group pk -> its features / pool services as "sms, mms" (exports)."""
    return {pk: ", ".join(map(str, features or ())) for pk, features in
            NumberGroup.objects.filter(pk__in=pks).values_list("pk", "features")}


def group_features_sql() -> Func:
    """The same value as ``group_features`` in SQL (PostgreSQL COPY exports; ``features`` is jsonb)."""
    return Func(F("features"), template="array_to_string(ARRAY(SELECT jsonb_array_elements_text(%(expressions)s)), ', ')",
                output_field=CharField())


def group_list(params) -> NumberGroupFilterSet:
    """DID groups and number pools with their live members (a DID's own group or a pool it sits in),
    counted in a subquery: joining both relations would multiply rows."""
    members = PhoneNumber.objects.filter(Q(number_group=OuterRef("pk")) | Q(pools=OuterRef("pk")),
                                         removed_at__isnull=True).order_by().values(
        n=Func(F("pk"), template="COUNT(DISTINCT %(expressions)s)", output_field=IntegerField()))
    qs = scoped(NumberGroup.objects.filter(ACTIVE_ACCOUNT)).select_related("account", "location").annotate(
        number_count=Subquery(members))
    return NumberGroupFilterSet(params, queryset=qs)


def account_list(*, archived: bool | None = False) -> QuerySet:
    """Accounts with their live number counts: the active ones, the archived ones (True) or all (None)."""
    qs = ProviderAccount.objects.all() if archived is None else ProviderAccount.objects.filter(archived_at__isnull=not archived)
    qs = scoped(qs, "pk")
    return qs.annotate(number_count=live_count_of_account()).order_by("name")


def live_count_of_account() -> Coalesce:
    """An account's live numbers from NumberCount (kept exact by triggers), not a join that
    counts the numbers table."""
    kept = (NumberCount.objects.filter(account=OuterRef("pk"), removed=False).order_by().values("account")
            .annotate(n=Sum("n")).values("n"))
    return Coalesce(Subquery(kept), 0)


def latest_runs(accounts) -> dict[int, SyncRun]:
    """Latest run per account in two queries (the accounts page polls this every 2 s)."""
    newest = SyncRun.objects.filter(account=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    ids = ProviderAccount.objects.filter(pk__in=[a.pk for a in accounts]).annotate(run_id=Subquery(newest))
    runs = SyncRun.objects.in_bulk([r for r in ids.values_list("run_id", flat=True) if r])
    return {run.account_id: run for run in runs.values()}


# --- Account health ------------------------------------------------------------------------------
# Health is the last *attempt*, not only the last success: an account whose syncs fail keeps an
# old (or even recent) last good sync, and must not look healthy. An attempt is a run that reached
# the provider and ended: succeeded, needs review (applied, removals held) or failed. Not attempts:
# queued and running runs (not over yet), "retry scheduled" (a rate limit: the same attempt goes on
# after the provider's wait) and "busy" failures (never started: another run of the account held it).
ATTEMPT_STATES = (SyncState.SUCCEEDED, SyncState.NEEDS_REVIEW, SyncState.FAILED)
NOT_ATTEMPTS = ("busy",)


@dataclass(frozen=True)
class Health:
    state: str  # AccountHealth
    last_success_at: dt.datetime | None
    last_attempt: SyncRun | None  # the latest attempt (see above), whatever its outcome


def classify_account(account: ProviderAccount, last_attempt: SyncRun | None, now=None) -> Health:
    """The health rule, first match wins:

    1. disabled: not synced automatically (never counted stale or failing);
    2. failing: the last attempt failed, and no good sync came after it;
    3. never synced: no good sync yet (and no failed attempt);
    4. stale: the last good sync is older than twice the account's interval (ProviderAccount.is_stale);
    5. ok.
    """
    now = now or timezone.now()
    success = account.last_success_at
    if not account.enabled:
        state = AccountHealth.DISABLED
    elif (last_attempt is not None and last_attempt.state == SyncState.FAILED
          and (success is None or (last_attempt.finished_at or now) >= success)):
        state = AccountHealth.FAILING
    elif success is None:
        state = AccountHealth.NEVER_SYNCED
    elif account.is_stale(now):
        state = AccountHealth.STALE
    else:
        state = AccountHealth.OK
    return Health(state, success, last_attempt)


def _newest_run_id(attempts_only: bool = False) -> Subquery:
    runs = SyncRun.objects.filter(account=OuterRef("pk"))
    if attempts_only:
        runs = runs.filter(state__in=ATTEMPT_STATES).exclude(error_class__in=NOT_ATTEMPTS)
    return Subquery(runs.order_by("-created_at", "-id").values("pk")[:1])


@dataclass
class SyncOverview:
    latest_runs: dict  # account id -> newest run (any state: the accounts page shows live progress)
    health: dict  # account id -> Health

    def failing(self, accounts) -> list:
        return [a for a in accounts if self.health[a.pk].state == AccountHealth.FAILING]


def _is_attempt(run: SyncRun) -> bool:
    return run.state in ATTEMPT_STATES and run.error_class not in NOT_ATTEMPTS


def sync_overview(accounts, now=None) -> SyncOverview:
    """Newest run and health of each account in one query, whatever the number of accounts (the
    accounts page polls this every 2 s). Also sets ``account.health`` on each: the health badge
    (templatetags.freshness) reads it."""
    now = now or timezone.now()
    accounts = list(accounts)
    owners = ProviderAccount.objects.filter(pk__in=[a.pk for a in accounts])
    # The newest run and the newest attempt of each account (often the same run).
    runs = SyncRun.objects.filter(Q(pk__in=owners.annotate(r=_newest_run_id()).values("r"))
                                  | Q(pk__in=owners.annotate(r=_newest_run_id(attempts_only=True)).values("r")))
    by_account: dict[int, list[SyncRun]] = {}
    for run in runs:
        by_account.setdefault(run.account_id, []).append(run)

    def newest(items):
        return max(items, key=lambda r: (r.created_at, r.pk), default=None)

    latest = {pk: newest(items) for pk, items in by_account.items()}
    health = {}
    for account in accounts:
        attempt = newest([r for r in by_account.get(account.pk, ()) if _is_attempt(r)])
        account.health = health[account.pk] = classify_account(account, attempt, now)
    return SyncOverview(latest, health)


# What the health rule and badge read; not the run's payload (held ids, error message).
HEALTH_RUN_FIELDS = ("account", "state", "created_at", "finished_at", "error_class")


def _newest_attempts(ids: list[int]) -> list[SyncRun]:
    """Each account's newest attempt (accounts without one have none), in one query. Its SQL is
    kept per number of accounts (sqlcache): building the nested subquery cost ~4x running it."""
    return sqlcache.rows(SyncRun, ("newest_attempts", len(ids)), lambda: SyncRun.objects.filter(
        pk__in=ProviderAccount.objects.filter(pk__in=ids).annotate(r=_newest_run_id(attempts_only=True)).values("r"),
    ).only(*HEALTH_RUN_FIELDS).order_by(), tuple(ids))


def attach_health(accounts, now=None) -> None:
    """``account.health`` on each account (e.g. the accounts of a page of numbers). Health needs
    only each account's newest attempt: one query, lighter than sync_overview's."""
    unique = {a.pk: a for a in accounts if a is not None}
    if not unique:
        return
    now = now or timezone.now()
    attempts = {run.account_id: run for run in _newest_attempts(list(unique))}
    health = {pk: classify_account(a, attempts.get(pk), now) for pk, a in unique.items()}
    for account in accounts:
        if account is not None:
            account.health = health[account.pk]


@dataclass(frozen=True)
class RunExplanation:
    """A sync run in plain words, for the run page: what happened, what it did to the inventory,
    what to do. ``tone``: ok / info / warn / bad (colour only)."""

    headline: str
    inventory: str
    action: str
    tone: str
    code: str  # the error class, shown as a code ("" without an error)


def explain_run(run: SyncRun) -> RunExplanation:
    """Words from the run's state, stage and error class only: the provider's own message (shown
    to admins separately) never goes into them.

    "Inventory unchanged" for failed and rescheduled runs is a guarantee of services/sync.py: the
    apply is one transaction that also finishes the run as succeeded / needs review, and a run is
    only ever marked failed (or retry scheduled) from queued or running, never after that commit.
    A run that dies mid-apply is rolled back. Needs review is the other case: applied, removals held."""
    code = run.error_class
    text = sync_error_text(code) if code else None
    where = stage_label(run.stage) if run.stage else ""
    if run.state == SyncState.QUEUED:
        return RunExplanation("Waiting for a worker to start this sync.", "Nothing has changed yet.", "", "info", code)
    if run.state == SyncState.RUNNING:
        return RunExplanation(f"Running: {where or 'starting'}.",
                              "The inventory changes only once every page has arrived, in one step at the end.",
                              "", "info", code)
    if run.state == SyncState.SUCCEEDED:
        return RunExplanation("Completed: every page arrived and the changes were applied.",
                              "Applied: the counts below are what changed.", "", "ok", code)
    unchanged = "Inventory unchanged: nothing from this run was applied, so every number still shows its last good sync."
    if run.state == SyncState.RETRY_SCHEDULED:
        when = run.retry_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if run.retry_at else "shortly"
        return RunExplanation(
            f"Rate limited by the provider{' while ' + where if where else ''}: a retry is scheduled for {when}.",
            unchanged, "Nothing to do: the retry runs by itself.", "warn", code)
    if run.state == SyncState.NEEDS_REVIEW:
        text = sync_error_text(code or "removal_guard")
        return RunExplanation(f"Completed, with removals held for review. {text.happened}",
                              "Additions and changes were applied; no number was removed.", text.action, "warn",
                              code)
    # failed
    text = text or sync_error_text("")
    headline = f"Failed while {where}." if where else "Failed before it started."
    return RunExplanation(f"{headline} {text.happened}", unchanged, text.action, "bad", code)


def sync_run_list(account_id: int | None = None) -> QuerySet:
    qs = scoped(SyncRun.objects).select_related("account", "requested_by")
    return qs.filter(account_id=account_id) if account_id else qs


def sort_order(qs: QuerySet, sort: Sort) -> QuerySet:
    """The list in the sort's display order (exports, numbered pages): empty values last."""
    return order_by_sort(qs, sort.field, sort.descending)


# The related-object lists: every column with one value. Counts are non-null annotations.
_ACCOUNT = SortKey("account__name", text=True)
_NUMBERS = {"numbers": "number_count"}
OWNER_SORTS = {"name": "name", "type": SortKey("owner_type", text=True), "account": _ACCOUNT,
               "location": SortKey("location__name", text=True), **_NUMBERS}
LOCATION_SORTS = {"name": "name", "kind": SortKey("kind", text=True), "account": _ACCOUNT,
                  "country": SortKey("country_code", text=True), "region": SortKey("region", text=True),
                  "city": SortKey("city", text=True), "main_number": SortKey("main_number", text=True), **_NUMBERS}
TRUNK_SORTS = {"name": "name", "account": _ACCOUNT, "kind": SortKey("kind", text=True),
               "trunk_group": SortKey("trunk_group__name", text=True), "removed": SortKey("removed_at"), **_NUMBERS}
TRUNK_GROUP_SORTS = {"name": "name", "account": _ACCOUNT, "capacity": SortKey("capacity_limit"),
                     "trunks": "trunk_count", **_NUMBERS}
GROUP_SORTS = {"name": "name", "account": _ACCOUNT, "type": SortKey("group_type", text=True),
               "prefix": SortKey("prefix", text=True), "location": SortKey("location__name", text=True), **_NUMBERS}


# --- list base querysets ----------------------------------------------------------------------
# A list's base queryset (annotations: correlated subqueries, CASE) is built once per list, inputs
# (today, the settings' window) and the viewer's accounts, and each caller gets a clone: building
# it cost more than running the page's SQL. It holds no rows: a template is never evaluated (its
# clones are), so it cannot serve stale data; a changed input or scope is another key.
_BASES: dict[tuple, QuerySet] = {}
_BASES_MAX = 256


def _base(key: tuple, build) -> QuerySet:
    key = (*key, visible_account_ids())
    base = _BASES.get(key)
    if base is None:
        if len(_BASES) >= _BASES_MAX:
            _BASES.clear()
        base = _BASES[key] = build()
    return base.all()


# --- caller IDs ------------------------------------------------------------------------------
CALLER_ID_SORTS = {"verified_until": SortKey("verified_until"), "e164": "e164", "account": _ACCOUNT,
                   "state": "state", "active": SortKey("active"),
                   "owner": SortKey("owned_number_e164", text=True, expression=lambda: owning_number_subquery("e164")),
                   "freshness": SortKey("account__last_success_at"),
                   "code_attempts": SortKey("code_entering_attempts_left"),
                   "call_attempts": SortKey("verification_call_attempts_left"),
                   "location": SortKey("location__name", text=True),
                   "candidate_owner": SortKey("owner__name", text=True)}


def verification_state_expr(today: dt.date, window_days: int):
    return Case(
        When(kind="location_candidate", then=Value(VerificationState.CANDIDATE)),
        When(verified_until__isnull=True, then=Value(VerificationState.UNVERIFIED)),
        When(verified_until__lt=today, then=Value(VerificationState.EXPIRED)),
        When(verified_until__lte=today + dt.timedelta(days=window_days), then=Value(VerificationState.EXPIRING)),
        default=Value(VerificationState.VERIFIED),
        output_field=CharField(),
    )


def owning_number_subquery(field: str = "pk"):
    """The live number with the same E.164 in any connected account (lowest id wins)."""
    return Subquery(
        PhoneNumber.objects.filter(scope_q(), e164=OuterRef("e164"), removed_at__isnull=True).exclude(e164="")
        .order_by("pk").values(field)[:1]
    )


def caller_id_queryset(*, window_days: int | None = None) -> QuerySet:
    window = SiteSettings.load().caller_id_expiry_window_days if window_days is None else window_days
    today = timezone.localdate()
    return _base(("caller_ids", today, window), lambda: scoped(CallerId.objects).select_related("account").annotate(
        state=verification_state_expr(today, window),
        owned_number_id=owning_number_subquery(),
        # The owning number's account as an id: its name and provider come from the page's
        # accounts (tables.owner_cell). Joined name/provider subqueries cost the page ~0.5 ms.
        owner_account_id=owning_number_subquery("account_id"),
    ))


def caller_id_get(pk: int) -> CallerId | None:
    return caller_id_queryset().select_related("location", "owner").filter(pk=pk).first()


def caller_id_list(params) -> CallerIdFilterSet:
    window = SiteSettings.load().caller_id_expiry_window_days
    lean = _base(("caller_id_list", timezone.localdate(), window), lambda: caller_id_queryset(window_days=window).defer(
        "raw", "account__config", "account__secrets_encrypted").filter(ACTIVE_ACCOUNT, removed_at__isnull=True))
    return CallerIdFilterSet(params, queryset=lean)


def caller_id_order(qs: QuerySet, sort) -> QuerySet:
    """Empty values last in both directions (SortKey), then id."""
    return sort_order(qs, sort)


def caller_ids_for_number(number: PhoneNumber) -> list[CallerId]:
    if not number.e164:
        return []
    return list(caller_id_queryset().filter(e164=number.e164, removed_at__isnull=True))


def attach_owners(caller_ids: list) -> None:
    """One query for the owning numbers of a page of caller IDs."""
    ids = {c.owned_number_id for c in caller_ids if c.owned_number_id}
    # What the caller-ID page shows: not the number's payload.
    owners = (scoped(PhoneNumber.objects).select_related("account")
              .only("e164", "number_raw", "account__name", "account__provider").in_bulk(ids)) if ids else {}
    for c in caller_ids:
        c.owned_number = owners.get(c.owned_number_id)


def accounts_with(known: dict, ids: set) -> dict:
    """``known`` (account id -> account, e.g. a page's own accounts) plus the accounts of ``ids``
    it lacks, in one query (name and provider only), only when there are any."""
    missing = {pk for pk in ids if pk is not None and pk not in known}
    if not missing:
        return known
    return {**known, **scoped(ProviderAccount.objects, "pk").only("name", "provider").in_bulk(missing)}


# --- owners and locations --------------------------------------------------------------------
LIVE_NUMBERS = Q(numbers__removed_at__isnull=True)


def live_number_count(fk: str) -> Subquery:
    """The row's live numbers as a correlated subquery (0 when none): PostgreSQL computes it for
    the rows of the page only, where a Count over the join grouped every number of the table
    for every page and again for the list's count (seconds at 1,000,000 numbers)."""
    # COUNT(*), not COUNT(id): an index-only scan of the partial index on live rows (migration 0014).
    return Subquery(PhoneNumber.objects.filter(**{fk: OuterRef("pk")}, removed_at__isnull=True).order_by().values(
        n=Func(F("pk"), template="COUNT(*)", output_field=IntegerField())))


def owner_list(params) -> OwnerFilterSet:
    qs = _base(("owners",), lambda: scoped(Owner.objects.filter(ACTIVE_ACCOUNT, removed_at__isnull=True)).select_related(
        "account", "location").annotate(number_count=live_number_count("owner")))
    return OwnerFilterSet(params, queryset=qs)


def location_list(params) -> LocationFilterSet:
    qs = _base(("locations",), lambda: scoped(Location.objects.filter(ACTIVE_ACCOUNT, removed_at__isnull=True)).select_related(
        "account").annotate(number_count=live_number_count("location")))
    return LocationFilterSet(params, queryset=qs)


def location_neighbours(location: Location) -> list[dict]:
    """Where the same city (or, without a city, country) holds numbers in other accounts: a hint
    for ops, never a merge (provider locations stay distinct records)."""
    if not location.country_code:
        return []
    qs = scoped(PhoneNumber.objects.filter(removed_at__isnull=True, country=location.country_code)).exclude(
        account=location.account)
    if location.city:
        qs = qs.filter(city__iexact=location.city)
    rows = qs.values("account_id", "account__name", "account__provider").annotate(n=Count("id")).order_by("-n")
    return [{"account_id": r["account_id"], "account": r["account__name"], "provider": r["account__provider"],
             "count": r["n"], "city": location.city} for r in rows[:20]]


# --- Global search ---------------------------------------------------------------------------
# Every group runs through the FilterSet of the list page it links to, and is counted the way that
# page counts, so "Owners 3" lands on exactly 3 rows at /owners/?q=...
_CONTROL_CHARS = _re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class SearchGroup:
    key: str
    label: str
    url: str  # the list page filtered by the same q
    count: int
    estimated: bool  # PostgreSQL planner estimate on very large results (as the list page shows "≈")
    items: list


def clean_search_text(text) -> str:
    """Control characters become spaces: a NUL would make the list's form invalid, and an ignored
    filter means an unfiltered list, so the count would no longer match the link."""
    text = _CONTROL_CHARS.sub(" ", str(text or "")).strip()
    return text[:SEARCH_MAX_CHARS].strip()


def global_search(text: str, *, limit: int = 5) -> list[SearchGroup]:
    """Grouped matches for the header search; [] for blank text (no queries at all).
    Constant query count: per group one count (plus EXPLAIN on PostgreSQL) and one top-N read."""
    text = clean_search_text(text)
    if not text:
        return []
    params = {"q": text}
    query = urlencode(params)

    def group(key, label, url_name, qs, order, exact=False):
        count, estimated = (qs.count(), False) if exact else count_rows(qs)
        # Provider payloads and account credentials are never needed for a result line.
        lean = qs.order_by(*order).defer("raw", "account__config", "account__secrets_encrypted")
        items = list(lean[:limit]) if count else []
        return SearchGroup(key, label, f"{reverse(url_name)}?{query}", count, estimated, items)

    return [
        group("numbers", "Numbers", "numbers", number_list(params).qs, ("e164", "pk")),
        group("owners", "Owners", "owners", owner_list(params).qs, ("name", "pk")),
        group("locations", "Locations", "locations", location_list(params).qs, ("name", "pk")),
        group("trunks", "Trunks", "trunks", trunk_list(params).qs, ("name", "pk")),
        # The caller-ID page pages with a plain Paginator: an exact count.
        group("caller_ids", "Caller IDs", "caller_ids", caller_id_list(params).qs, ("e164", "pk"), exact=True),
    ]


# --- Audit log -------------------------------------------------------------------------------
def audit_log_queryset() -> QuerySet:
    return AuditLog.objects.order_by("-at", "-id")


def audit_log_list(params) -> AuditLogFilterSet:
    return AuditLogFilterSet(params, queryset=audit_log_queryset())


# --- Dashboard ---
# Each figure is counted under the same conditions as the list it links to, so "DIDWW 600" lands
# on "of 600": numbers hide soft-removed rows unless status=removed (NumberFilterSet.qs), caller IDs
# hide removed ones (caller_id_list), and expires_within matches the FilterSets' date ranges.

DASHBOARD_EXPIRY_DAYS = 30


def stale_accounts(accounts=None, now=None) -> list[ProviderAccount]:
    """Enabled accounts without a good sync within twice their own interval (ProviderAccount.is_stale).
    The interval differs per row and accounts are few, so the rule runs in Python rather than as
    interval arithmetic that SQLite and PostgreSQL spell differently."""
    now = now or timezone.now()
    if accounts is None:
        accounts = account_list()
    return [a for a in accounts if a.enabled and a.is_stale(now)]


@dataclass
class NumberTotals:
    by_provider: dict[str, int]
    by_status: dict[str, int]  # as the list counts it: "removed" includes the soft-removed rows
    by_country: dict[str, int]  # "" = numbers without a country


def number_totals() -> NumberTotals:
    """Numbers of active accounts per provider, status and country, from NumberCount (a few
    hundred rows, kept exact by triggers on the numbers table) instead of scanning the numbers.
    Live rows only, except status "removed", which the list shows with soft-removed rows included."""
    by_provider: dict[str, int] = {}
    by_status: dict[str, int] = {}
    by_country: dict[str, int] = {}
    rows = (scoped(NumberCount.objects.filter(ACTIVE_ACCOUNT)).exclude(n=0).order_by()
            .values_list("provider", "country", "status", "removed").annotate(total=Sum("n")))
    for provider, country, status, removed, n in rows:
        if removed:
            if status == NumberStatus.REMOVED:
                by_status[status] = by_status.get(status, 0) + n
            continue
        by_provider[provider] = by_provider.get(provider, 0) + n
        by_country[country] = by_country.get(country, 0) + n
        by_status[status] = by_status.get(status, 0) + n
    return NumberTotals(by_provider, by_status, by_country)


def numbers_expiring_count(days: int, now=None, accounts=None) -> int:
    """Live numbers of active accounts expiring within ``days``. Counted per account on the
    partial index num_live_expires alone (index-only; archived accounts left out afterwards, as a
    join would look up every row). With ``accounts`` (account_list rows: live number_count from
    NumberCount) and a PostgreSQL estimate saying most rows fall in the window (monthly renewals:
    nearly all do), the rows outside it are counted instead and subtracted: still exact."""
    now = now or timezone.now()
    live = {a.pk: a.number_count for a in accounts} if accounts is not None else None
    active = set(live) if live is not None else set(
        scoped(ProviderAccount.objects.filter(archived_at__isnull=True), "pk").values_list("pk", flat=True))
    window = within_days("expires_at", now, days)
    inside = PhoneNumber.objects.filter(window, removed_at__isnull=True).order_by()
    estimate = estimate_rows(inside) if live else None
    if estimate is not None and estimate > sum(live.values()) / 2:
        end = now + dt.timedelta(days=days)
        missing: dict[int, int] = {}
        # One query per range: an OR of the three is a filter over the whole index, not three ranges.
        for outside in (Q(expires_at__isnull=True), Q(expires_at__lt=now), Q(expires_at__gt=end)):
            for account_id, n in (PhoneNumber.objects.filter(outside, removed_at__isnull=True).order_by()
                                  .values_list("account_id").annotate(n=Count("*"))):
                missing[account_id] = missing.get(account_id, 0) + n
        return sum(n - missing.get(pk, 0) for pk, n in live.items())
    rows = inside.values_list("account_id").annotate(n=Count("*"))
    return sum(n for account_id, n in rows if account_id in active)


def caller_ids_expiring_count(days: int, today=None) -> int:
    today = today or timezone.localdate()
    return scoped(CallerId.objects.filter(ACTIVE_ACCOUNT, within_days("verified_until", today, days),
                                          removed_at__isnull=True)).count()


@dataclass
class DashboardFigures:
    accounts: list  # ProviderAccount with number_count (live numbers) and health, by name
    latest_runs: dict  # account id -> latest SyncRun
    stale: list
    failing: list  # enabled accounts whose last sync attempt failed (failing_accounts)
    by_provider: dict
    by_status: dict
    by_country: dict  # "" = numbers without a country
    numbers_expiring: int
    caller_ids_expiring: int
    expiry_days: int

    @property
    def live_numbers(self) -> int:
        return sum(self.by_provider.values())


def dashboard_figures(expiry_days: int = DASHBOARD_EXPIRY_DAYS) -> DashboardFigures:
    """Everything the home page shows in a fixed number of queries, none of them a scan of the
    numbers table (NumberCount; the expiry figure is an index range count)."""
    now = timezone.now()
    accounts = list(account_list())
    overview = sync_overview(accounts, now)
    totals = number_totals()
    return DashboardFigures(
        accounts=accounts,
        latest_runs=overview.latest_runs,
        stale=stale_accounts(accounts, now),
        failing=overview.failing(accounts),
        by_provider=totals.by_provider,
        by_status=totals.by_status,
        by_country=totals.by_country,
        numbers_expiring=numbers_expiring_count(expiry_days, now, accounts),
        caller_ids_expiring=caller_ids_expiring_count(expiry_days, timezone.localdate(now)),
        expiry_days=expiry_days,
    )


# -- metrics (read at scrape time, so every web and worker process reports the same numbers) ------
def metrics_snapshot() -> dict:
    """Per account: the latest finished run, live numbers by status, missing numbers, run totals by
    state and error class; exports by format (from the audit log). Scoped (scopes.py) when a
    token's user scrapes it: their accounts only, and no export totals (those span every account)."""
    restricted = visible_account_ids() is not None
    accounts = list(scoped(ProviderAccount.objects, "pk").order_by("pk").values("pk", "name", "provider", "enabled", "last_success_at"))
    latest = {}
    for run in (scoped(SyncRun.objects).filter(finished_at__isnull=False).order_by("account_id", "-finished_at", "-pk")
                .values("account_id", "state", "error_class", "started_at", "finished_at")):
        latest.setdefault(run["account_id"], run)
    return {
        "accounts": accounts,
        "latest": latest,
        "numbers": list(scoped(NumberCount.objects).filter(removed=False).exclude(n=0).values("account_id", "status")
                        .annotate(n=Sum("n")).order_by()),
        "missing": dict(scoped(PhoneNumber.objects).filter(removed_at__isnull=True, missing_since__isnull=False)
                        .values("account_id").annotate(n=Count("pk")).order_by().values_list("account_id", "n")),
        "runs": list(scoped(SyncRun.objects).values("account_id", "state", "error_class").annotate(n=Count("pk")).order_by()),
        "exports": [] if restricted else list(AuditLog.objects.filter(action="export").values("detail__format").annotate(n=Count("pk"))
                        .order_by()),
    }

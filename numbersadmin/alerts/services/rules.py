"""Evaluate alert rules: each rule kind finds the things it watches (``Finding``), and
``evaluate_rule`` turns them into items: new ones open, changed ones get a new generation (announced
again), ended snoozes reopen, and items whose cause disappeared close by themselves.

Reads go through the inventory's own selectors and list specs, so an item and the table it links
to always agree (the "table behind it")."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Min, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from numbersadmin.inventory import lists, scopes, selectors
from numbersadmin.inventory.choices import SyncState
from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount, SyncRun

from ..models import DEFAULT_DAYS, DEFAULT_THRESHOLD, AlertItem, AlertRule, ItemState, RuleKind

# view_changes remembers the view's row ids; above this many it compares counts only.
VIEW_IDS_MAX = 50_000
DIFF_SAMPLE = 20  # rows named in a "gains or loses rows" message


@dataclass
class Finding:
    key: str
    label: str
    text: str  # one line a person reads: "verification ends 9 Dec 2026 (in 5 days)"
    url: str = ""
    values: dict = field(default_factory=dict)  # what makes it "changed" (fingerprinted) and shown
    event: bool = False  # a one-off (a view gained rows): announced once, never "resolved"
    account_id: int | None = None  # the account it is about (scopes); None: a saved view's rows

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.values, sort_keys=True, default=str).encode()).hexdigest()


def _url(name: str, **params) -> str:
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def days_of(rule: AlertRule) -> int:
    return rule.days or DEFAULT_DAYS


def threshold_of(rule: AlertRule) -> int:
    return rule.threshold if rule.threshold is not None else DEFAULT_THRESHOLD.get(rule.kind, 0)


def describe(rule: AlertRule) -> str:
    k = rule.kind
    if k == RuleKind.CALLER_ID_EXPIRING:
        return f"Caller ID verification ends within {days_of(rule)} days (or ended)"
    if k == RuleKind.NUMBER_RENEWING:
        return f"Numbers renewing within {days_of(rule)} days"
    if k == RuleKind.SYNC_FAILING:
        return f"Account sync failed {threshold_of(rule)} times in a row"
    view = rule.view.name if rule.view_id else "(deleted view)"
    if k == RuleKind.VIEW_ROWS:
        return f"“{view}” has more than {threshold_of(rule)} rows"
    if k == RuleKind.VIEW_CHANGES:
        return f"“{view}” gains or loses rows"
    if k == RuleKind.VIEW_REPORT:
        return f"“{view}” sent {rule.get_cadence_display().lower() or 'every day'} as {(rule.report_format or 'csv').upper()}"
    return RuleKind(k).label if k in RuleKind.values else k


def table_url(rule: AlertRule) -> str:
    """The list that shows what the rule watches (the dashboard panel's "see all")."""
    k = rule.kind
    if k == RuleKind.CALLER_ID_EXPIRING:
        return _url("caller_ids", expires_within=days_of(rule))
    if k == RuleKind.CALLER_ID_NO_ATTEMPTS:
        return _url("caller_ids", view="none")
    if k == RuleKind.NUMBER_RENEWING:
        return _url("numbers", expires_within=days_of(rule))
    if k == RuleKind.NUMBER_NOT_RENEWING:
        return _url("numbers", renews="no")
    if k in (RuleKind.SYNC_FAILING,):
        return _url("accounts", failing="yes")
    if k == RuleKind.SYNC_STALE:
        return _url("accounts", stale="yes")
    if k == RuleKind.REMOVALS_HELD:
        return _url("sync_runs", state=SyncState.NEEDS_REVIEW)
    if k == RuleKind.NUMBERS_MISSING:
        return _url("numbers", missing="yes")
    if rule.view_id:
        return rule.view.get_absolute_url()
    return ""


# --- what each kind finds -------------------------------------------------------------------------


def _caller_id_url(c: CallerId) -> str:
    return _url("caller_ids", q=c.e164 or c.number_raw, view="none")


def _number_url(n_id: int) -> str:
    return reverse("number_detail", args=[n_id])


def _cost(n) -> str:
    return f"{n.monthly_cost.normalize():f} {n.currency}".strip() if n.monthly_cost is not None else ""


def find_caller_ids_expiring(rule: AlertRule, now: dt.datetime) -> list[Finding]:
    today = timezone.localdate(now)
    limit = today + dt.timedelta(days=days_of(rule))
    out = []
    for c in (scopes.scoped(CallerId.objects).filter(selectors.ACTIVE_ACCOUNT, removed_at__isnull=True, verified_until__isnull=False,
                                      verified_until__lte=limit)
              .exclude(kind="location_candidate").select_related("account").order_by("verified_until", "id")):
        left = (c.verified_until - today).days
        when = f"ended {-left} day{'s' if left != -1 else ''} ago" if left < 0 else \
            "ends today" if left == 0 else f"ends in {left} day{'s' if left != 1 else ''}"
        out.append(Finding(f"caller_id:{c.pk}", str(c), f"verification {when} ({c.verified_until.isoformat()}), {c.account.name}",
                           _caller_id_url(c), {"verified_until": c.verified_until.isoformat(), "expired": left < 0},
                           account_id=c.account_id))
    return out


def find_caller_ids_without_attempts(rule: AlertRule, now) -> list[Finding]:
    qs = (scopes.scoped(CallerId.objects).filter(selectors.ACTIVE_ACCOUNT, removed_at__isnull=True)
          .filter(Q(code_entering_attempts_left=0) | Q(verification_call_attempts_left=0))
          .select_related("account").order_by("e164", "id"))
    return [Finding(f"caller_id:{c.pk}", str(c),
                    f"no verification attempts left (code entries {c.code_entering_attempts_left}, "
                    f"calls {c.verification_call_attempts_left}), {c.account.name}", _caller_id_url(c),
                    {"code": c.code_entering_attempts_left, "calls": c.verification_call_attempts_left},
                    account_id=c.account_id) for c in qs]


def _live_numbers():
    return scopes.scoped(PhoneNumber.objects).filter(selectors.ACTIVE_ACCOUNT, removed_at__isnull=True).select_related(
        "account").only("id", "account_id", "e164", "number_raw", "expires_at", "monthly_cost", "currency", "status", "account__name")


def find_numbers_renewing(rule: AlertRule, now) -> list[Finding]:
    limit = now + dt.timedelta(days=days_of(rule))
    out = []
    for n in _live_numbers().filter(expires_at__gte=now, expires_at__lte=limit).order_by("expires_at", "id"):
        cost = _cost(n)
        out.append(Finding(f"number:{n.pk}", str(n), f"renews {timezone.localtime(n.expires_at):%d %b %Y}"
                           + (f" ({cost} a month)" if cost else "") + f", {n.account.name}", _number_url(n.pk),
                           {"expires_at": n.expires_at.isoformat(), "cost": cost}, account_id=n.account_id))
    return out


def find_numbers_not_renewing(rule: AlertRule, now) -> list[Finding]:
    out = []
    for n in _live_numbers().filter(will_renew=False).order_by("expires_at", "id"):
        cost = _cost(n)
        ends = f" on {timezone.localtime(n.expires_at):%d %b %Y}" if n.expires_at else ""
        out.append(Finding(f"number:{n.pk}", str(n), f"will not renew{ends}" + (f" ({cost} a month)" if cost else "")
                           + f", {n.account.name}", _number_url(n.pk),
                           {"expires_at": n.expires_at.isoformat() if n.expires_at else None, "cost": cost},
                           account_id=n.account_id))
    return out


def _attempts(account_id: int, limit: int) -> list[SyncRun]:
    return list(SyncRun.objects.filter(account_id=account_id, state__in=selectors.ATTEMPT_STATES)
                .exclude(error_class__in=selectors.NOT_ATTEMPTS).order_by("-created_at", "-id")[:limit])


def find_sync_failing(rule: AlertRule, now) -> list[Finding]:
    n = max(1, threshold_of(rule))
    out = []
    for account in scopes.scoped(ProviderAccount.objects.filter(enabled=True), "pk"):
        runs = _attempts(account.pk, n)
        if len(runs) == n and all(r.state == SyncState.FAILED for r in runs):
            streak_start = runs[-1]
            error = runs[0].error_text.summary if runs[0].error_text else runs[0].error_class
            out.append(Finding(f"account:{account.pk}", account.name,
                               f"the last {n} sync attempt{'s' if n != 1 else ''} failed ({error})",
                               account.get_absolute_url(), {"since_run": streak_start.pk}, account_id=account.pk))
    return out


def find_sync_stale(rule: AlertRule, now) -> list[Finding]:
    """The dashboard's own "stale accounts" (selectors.stale_accounts): enabled, no good sync in
    twice the interval."""
    out = []
    for a in selectors.stale_accounts(scopes.scoped(ProviderAccount.objects.filter(enabled=True), "pk"), now):
        last = f"last good sync {timezone.localtime(a.last_success_at):%d %b %Y %H:%M}" if a.last_success_at else "never synced"
        out.append(Finding(f"account:{a.pk}", a.name, f"no good sync in twice its interval ({last})",
                           a.get_absolute_url(), {"last_success_at": a.last_success_at}, account_id=a.pk))
    return out


def find_removals_held(rule: AlertRule, now) -> list[Finding]:
    return [Finding(f"run:{r.pk}", f"{r.account.name}: sync #{r.pk}",
                    f"{r.held_removals} removal{'s' if r.held_removals != 1 else ''} held for review", r.get_absolute_url(),
                    {"held": r.held_removals}, account_id=r.account_id)
            for r in scopes.scoped(SyncRun.objects).filter(selectors.ACTIVE_ACCOUNT, state=SyncState.NEEDS_REVIEW).select_related("account")]


def find_numbers_missing(rule: AlertRule, now) -> list[Finding]:
    out = []
    rows = (scopes.scoped(PhoneNumber.objects).filter(selectors.ACTIVE_ACCOUNT, removed_at__isnull=True,
                                                      missing_since__isnull=False).order_by()
            .values("account_id", "account__name").annotate(n=Count("pk"), since=Min("missing_since")))
    for row in rows:
        out.append(Finding(f"account:{row['account_id']}", row["account__name"],
                           f"{row['n']} number{'s' if row['n'] != 1 else ''} missing from the provider's listing "
                           f"since {timezone.localtime(row['since']):%d %b %Y %H:%M}",
                           _url("numbers", missing="yes", account=row["account_id"]), {"count": row["n"]},
                           account_id=row["account_id"]))
    return out


def view_rows(rule: AlertRule):
    """The saved view's rows, exactly as its list shows them (or None when it cannot be read)."""
    view = rule.view
    spec = lists.get_spec(view.list_name) if view else None
    if spec is None:
        return None, None
    filterset = spec.filterset(QueryDict(view.params))
    if not filterset.is_valid():
        return spec, None
    return spec, filterset.qs


def find_view_rows(rule: AlertRule, now) -> list[Finding]:
    spec, qs = view_rows(rule)
    if qs is None:
        return []
    count = qs.count()
    k = threshold_of(rule)
    if count <= k:
        return []
    # The fingerprint is "above the threshold", not the count: a view that keeps growing is one
    # alert, not one per row (the message shows the count at the time it is sent).
    return [Finding(f"view:{rule.view_id}", rule.view.name, f"{count} row{'s' if count != 1 else ''} (more than {k})",
                    rule.view.get_absolute_url(), {"above": k})]


def _row_labels(model, ids) -> list[str]:
    """How the first DIFF_SAMPLE of these rows read (by id)."""
    return [str(o) for o in scopes.scoped(model.objects).filter(pk__in=sorted(ids)[:DIFF_SAMPLE]).order_by("pk")]


def find_view_changes(rule: AlertRule, now) -> list[Finding]:
    spec, qs = view_rows(rule)
    if qs is None:
        return []
    ids = list(qs.order_by().values_list("pk", flat=True)[:VIEW_IDS_MAX + 1])
    before = rule.state.get("ids")
    rule.state = {"ids": ids if len(ids) <= VIEW_IDS_MAX else None, "count": len(ids)}
    if before is None:  # first look (or too big to diff): nothing to compare with yet
        return []
    added, removed = set(ids) - set(before), set(before) - set(ids)
    if not added and not removed:
        return []
    text = ", ".join(p for p in (f"+{len(added)} row{'s' if len(added) != 1 else ''}" if added else "",
                                 f"−{len(removed)} row{'s' if len(removed) != 1 else ''}" if removed else "") if p)
    values = {"added": _row_labels(qs.model, added), "removed": _row_labels(qs.model, removed),
              "added_count": len(added), "removed_count": len(removed)}
    return [Finding(f"view:{rule.view_id}:{now:%Y%m%dT%H%M%S.%f}", rule.view.name, text, rule.view.get_absolute_url(),
                    values, event=True)]


FINDERS = {
    RuleKind.CALLER_ID_EXPIRING: find_caller_ids_expiring,
    RuleKind.CALLER_ID_NO_ATTEMPTS: find_caller_ids_without_attempts,
    RuleKind.NUMBER_RENEWING: find_numbers_renewing,
    RuleKind.NUMBER_NOT_RENEWING: find_numbers_not_renewing,
    RuleKind.SYNC_FAILING: find_sync_failing,
    RuleKind.SYNC_STALE: find_sync_stale,
    RuleKind.REMOVALS_HELD: find_removals_held,
    RuleKind.NUMBERS_MISSING: find_numbers_missing,
    RuleKind.VIEW_ROWS: find_view_rows,
    RuleKind.VIEW_CHANGES: find_view_changes,
}


@dataclass
class Outcome:
    opened: int = 0
    changed: int = 0
    reopened: int = 0
    closed: int = 0


def evaluate_rule(rule: AlertRule, now=None) -> Outcome:
    """Bring the rule's items in line with what it finds now, in one transaction."""
    now = now or timezone.now()
    finder = FINDERS.get(rule.kind)
    outcome = Outcome()
    if finder is None:  # reports have no items (services.digest sends them on their cadence)
        return outcome
    # The rule finds what its creator sees (inventory.scopes); a rule without a creator (the CLI,
    # a deleted user) is a system rule. Digests then filter items by each recipient's scope.
    with transaction.atomic(), (scopes.acting_for(rule.created_by) if rule.created_by_id else scopes.unscoped()):
        findings = {f.key: f for f in finder(rule, now)}
        items = {i.key: i for i in AlertItem.objects.select_for_update().filter(rule=rule)}
        for key, f in findings.items():
            item = items.get(key)
            detail = {"text": f.text, **({"values": f.values} if f.event else {})}
            if item is None:
                AlertItem.objects.create(rule=rule, key=key, label=f.label[:300], detail=detail, url=f.url[:500],
                                         account_id=f.account_id,
                                         fingerprint=f.fingerprint, first_seen=now, last_seen=now, is_event=f.event)
                outcome.opened += 1
                continue
            item.last_seen, item.label, item.url, item.detail = now, f.label[:300], f.url[:500], detail
            item.account_id = f.account_id
            if item.state == ItemState.CLOSED:
                item.state, item.closed_at, item.reason = ItemState.OPEN, None, ""
                item.generation += 1
                outcome.reopened += 1
            elif item.fingerprint != f.fingerprint:
                # Changed: announced again, and an acknowledgement or snooze of the old state ends.
                item.generation += 1
                item.state, item.snoozed_until = ItemState.OPEN, None
                outcome.changed += 1
            elif item.state == ItemState.SNOOZED and item.snoozed_until and item.snoozed_until <= now:
                item.generation += 1
                item.state, item.snoozed_until = ItemState.OPEN, None
                outcome.reopened += 1
            item.fingerprint = f.fingerprint
            item.save()
        # Gone: the cause disappeared (re-verified, renewed, synced again). Events stay until acknowledged.
        for key, item in items.items():
            if key not in findings and item.state != ItemState.CLOSED and not item.is_event:
                item.state, item.closed_at, item.snoozed_until = ItemState.CLOSED, now, None
                item.save(update_fields=["state", "closed_at", "snoozed_until"])
                outcome.closed += 1
        rule.last_evaluated_at = now
        rule.save(update_fields=["last_evaluated_at", "state"])
    return outcome

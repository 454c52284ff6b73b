"""Writes: recompute the findings (after every sync, and ``manage.py reconcile``), and the people's
actions on one finding (acknowledge, ignore with a reason, reopen), each audited.

Lifecycle: a finding detected for the first time is open. While it is still detected it keeps
its state (open, acknowledged or ignored) and ``last_seen`` moves on. When its cause disappears it
becomes resolved (whatever its state was, so an ignore belongs to one occurrence); when the cause
comes back it opens again with a fresh state (the reason of an old ignore is dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from numbersadmin.inventory.services.audit import audit

from . import rules
from .models import Finding, FindingState

logger = logging.getLogger(__name__)
SYSTEM = "reconcile"


@dataclass
class Outcome:
    opened: int = 0
    reopened: int = 0
    resolved: int = 0
    still: int = 0
    by_kind: dict = field(default_factory=dict)  # kind -> live (unresolved) findings after this run


def _content(d: rules.Detected) -> dict:
    return {"summary": d.summary[:500], "rows": d.rows, "involved": "; ".join(r["label"] for r in d.rows),
            "account_names": ", ".join(d.account_names)[:500], "account_id": d.account_ids[0] if d.account_ids else None}


@transaction.atomic
def reconcile(now=None) -> Outcome:
    """Compare what the rules detect now with the stored findings, in one transaction."""
    now = now or timezone.now()
    detected = {(d.kind, d.key): d for d in rules.detect_all()}
    outcome = Outcome()
    # Row locks (PostgreSQL): a concurrent reconcile (two syncs finishing together) or a person's
    # action waits for this one rather than being overwritten by it.
    existing = {(f.kind, f.key): f for f in Finding.objects.select_for_update()}
    new: list[Finding] = []
    touched: list[Finding] = []
    accounts_changed: list[tuple[Finding, list[int]]] = []
    fields = set()
    for ident, d in detected.items():
        content = _content(d)
        finding = existing.get(ident)
        if finding is None:
            new.append(Finding(kind=d.kind, key=d.key[:200], first_seen=now, last_seen=now, **content))
            continue
        changed = {k: v for k, v in content.items() if getattr(finding, k) != v}
        if finding.state == FindingState.RESOLVED:
            changed.update(state=FindingState.OPEN, resolved_at=None, reason="", state_changed_at=now,
                           state_changed_by=SYSTEM)
            outcome.reopened += 1
        else:
            outcome.still += 1
        for k, v in changed.items():
            setattr(finding, k, v)
        fields.update(changed)
        if "account_names" in changed or "account_id" in changed or "state" in changed:
            accounts_changed.append((finding, d.account_ids))
        if changed:
            touched.append(finding)
    if touched:
        Finding.objects.bulk_update(touched, sorted(fields), batch_size=500)
    seen_pks = [f.pk for ident, f in existing.items() if ident in detected]
    for start in range(0, len(seen_pks), 500):
        Finding.objects.filter(pk__in=seen_pks[start:start + 500]).update(last_seen=now)
    gone = [f.pk for ident, f in existing.items() if ident not in detected and f.state != FindingState.RESOLVED]
    for start in range(0, len(gone), 500):
        outcome.resolved += Finding.objects.filter(pk__in=gone[start:start + 500]).update(
            state=FindingState.RESOLVED, resolved_at=now, state_changed_at=now, state_changed_by=SYSTEM)
    if new:
        # Another process reconciling at the same moment may have created some: skip those.
        Finding.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
        created = {(f.kind, f.key): f for f in Finding.objects.filter(first_seen=now, last_seen=now)}
        outcome.opened = len(created)
        accounts_changed += [(f, detected[ident].account_ids) for ident, f in created.items() if ident in detected]
    _set_accounts(accounts_changed)
    for (kind, _), d in detected.items():
        outcome.by_kind[kind] = outcome.by_kind.get(kind, 0) + 1
    return outcome


def _set_accounts(pairs: list[tuple[Finding, list[int]]]) -> None:
    if not pairs:
        return
    through = Finding.accounts.through
    pks = [f.pk for f, _ in pairs]
    for start in range(0, len(pks), 500):
        through.objects.filter(finding_id__in=pks[start:start + 500]).delete()
    through.objects.bulk_create([through(finding_id=f.pk, provideraccount_id=a) for f, ids in pairs
                                 for a in dict.fromkeys(ids)], batch_size=1000, ignore_conflicts=True)


def after_sync(run) -> None:
    """The inventory app's post-sync hook (registered in apps.py)."""
    outcome = reconcile()
    logger.info("reconcile after sync run %s: %d opened, %d reopened, %d resolved", run.pk, outcome.opened,
                outcome.reopened, outcome.resolved)


# -- people's actions -------------------------------------------------------------------------------
class ActionRefused(ValueError):
    pass


ALLOWED_FROM = {
    "acknowledge": (FindingState.OPEN,),
    "ignore": (FindingState.OPEN, FindingState.ACKNOWLEDGED),
    "reopen": (FindingState.ACKNOWLEDGED, FindingState.IGNORED),
}
TARGET = {"acknowledge": FindingState.ACKNOWLEDGED, "ignore": FindingState.IGNORED, "reopen": FindingState.OPEN}


@transaction.atomic
def change_state(finding: Finding, action: str, user, reason: str = "") -> Finding:
    """acknowledge / ignore (``reason`` required) / reopen, audited as ``finding.<action>``."""
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    if action not in TARGET:
        raise ActionRefused(f"Unknown action {action[:20]!r}.")
    if finding.state not in ALLOWED_FROM[action]:
        raise ActionRefused(f"A {finding.get_state_display().lower()} finding cannot be {TARGET[action].label.lower()}.")
    reason = (reason or "").strip()
    if action == "ignore" and not reason:
        raise ActionRefused("Say why this finding is ignored.")
    before = finding.state
    finding.state = TARGET[action]
    finding.reason = reason if action == "ignore" else ""
    finding.state_changed_at = timezone.now()
    finding.state_changed_by = getattr(user, "get_username", lambda: str(user))() if user else ""
    finding.save(update_fields=["state", "reason", "state_changed_at", "state_changed_by"])
    detail = {"kind": finding.kind, "key": finding.key, "from": before, "to": finding.state}
    if reason and action == "ignore":
        detail["reason"] = reason
    audit(user, f"finding.{action}", finding, detail, rows=1)
    return finding

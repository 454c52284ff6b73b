"""The finding rules: each reads the inventory as it is now and returns what it detects. Pure reads
(a handful of queries per rule, never one per row); services.reconcile turns them into findings.

Rules and their exact conditions (README "Reconciliation"):

* duplicate_number: one E.164 live (not removed) in two or more accounts, same or other provider.
* caller_id_unowned: a live verified caller ID (``CallerId.kind == "verified"``: Voximplant-style)
  whose E.164 no number in any connected account has, live or removed.
* caller_id_owner_inactive: a live verified caller ID whose E.164 only inactive live numbers have,
  or only removed ones (no live number with another status holds it).
* webex_inactive_unassigned: a live Webex number with status inactive and no owner.
* didww_unrouted: a live DIDWW DID with neither trunk nor trunk group.
* plivo_pool_not_rented: a live Plivo number that a number pool lists but the account's number list
  (``GET /Account/{id}/Number/``) does not. The Plivo adapter keeps such a number as a record
  built from the pool alone; its stored payload is ``{"pool_numbers": [...]}`` without the account
  list's own fields (providers/plivo/mapping.map_number), which is how it is told apart here.
* duplicate_account: two accounts of one provider with the same credentials, or the same base URL
  and the same account identity (Webex org id, Plivo auth id, Apifonica account SID, Voximplant
  account id). Secrets are decrypted in memory for the comparison only; findings name the accounts
  and which of the two matched, never a value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from django.db.models import Count

from numbersadmin.inventory.choices import NumberStatus
from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount
from numbersadmin.inventory.services.accounts import same_provider_account, stored_secrets

from .models import FindingKind


@dataclass
class Detected:
    kind: str
    key: str
    summary: str
    rows: list[dict] = field(default_factory=list)
    account_ids: list[int] = field(default_factory=list)
    account_names: list[str] = field(default_factory=list)


def _account_label(account: ProviderAccount) -> str:
    return f"{account.name} ({account.provider_name})"


def number_row(number: PhoneNumber) -> dict:
    state = " (removed)" if number.removed_at else "" if number.status == NumberStatus.ACTIVE else f" ({number.status})"
    return {"type": "number", "id": number.pk, "label": f"{number.e164 or number.number_raw}{state} · "
            f"{_account_label(number.account)}"}


def caller_id_row(caller_id: CallerId) -> dict:
    return {"type": "caller_id", "id": caller_id.pk, "e164": caller_id.e164,
            "label": f"caller ID {caller_id.e164 or caller_id.number_raw} · {_account_label(caller_id.account)}"}


def account_row(account: ProviderAccount) -> dict:
    return {"type": "account", "id": account.pk, "label": _account_label(account)}


def _accounts_of(objects) -> tuple[list[int], list[str]]:
    seen: dict[int, str] = {}
    for obj in objects:
        seen.setdefault(obj.account_id, obj.account.name)
    return list(seen), list(seen.values())


_NUMBER_ONLY = ("pk", "e164", "number_raw", "status", "removed_at", "account_id", "account__name", "account__provider")


def _numbers():
    return PhoneNumber.objects.select_related("account").only(*_NUMBER_ONLY)


# -- 1. the same E.164 live in two accounts --------------------------------------------------------
def duplicate_numbers() -> list[Detected]:
    live = PhoneNumber.objects.filter(removed_at__isnull=True).exclude(e164="")
    doubled = (live.order_by().values("e164").annotate(accounts=Count("account", distinct=True))
               .filter(accounts__gt=1).values("e164"))
    by_e164: dict[str, list[PhoneNumber]] = {}
    for number in _numbers().filter(removed_at__isnull=True, e164__in=doubled).order_by("e164", "account__name", "pk"):
        by_e164.setdefault(number.e164, []).append(number)
    out = []
    for e164, numbers in by_e164.items():
        ids, names = _accounts_of(numbers)
        out.append(Detected(FindingKind.DUPLICATE_NUMBER, e164,
                            f"Number {e164} is live in {len(ids)} accounts: {', '.join(names)}",
                            [number_row(n) for n in numbers], ids, names))
    return out


# -- 2. caller IDs without a live owner -------------------------------------------------------------
def caller_id_owners() -> list[Detected]:
    caller_ids = list(CallerId.objects.filter(kind="verified", removed_at__isnull=True).exclude(e164="")
                      .select_related("account").order_by("e164", "pk"))
    if not caller_ids:
        return []
    by_e164: dict[str, list[PhoneNumber]] = {}
    for number in _numbers().filter(e164__in={c.e164 for c in caller_ids}).order_by("account__name", "pk"):
        by_e164.setdefault(number.e164, []).append(number)
    out = []
    for cid in caller_ids:
        numbers = by_e164.get(cid.e164, [])
        live = [n for n in numbers if n.removed_at is None]
        ids, names = [cid.account_id], [cid.account.name]
        if not numbers:
            out.append(Detected(FindingKind.CALLER_ID_UNOWNED, f"caller_id:{cid.pk}",
                                f"Caller ID {cid.e164} of {cid.account.name} is not a number of any connected account",
                                [caller_id_row(cid)], ids, names))
            continue
        if any(n.status != NumberStatus.INACTIVE for n in live):
            continue  # owned by a live number that is not inactive
        holders = live or numbers
        why = "inactive" if live else "removed"
        more_ids, more_names = _accounts_of(holders)
        for pk, name in zip(more_ids, more_names):
            if pk not in ids:
                ids.append(pk)
                names.append(name)
        out.append(Detected(FindingKind.CALLER_ID_OWNER_INACTIVE, f"caller_id:{cid.pk}",
                            f"Caller ID {cid.e164} of {cid.account.name} belongs only to {why} numbers "
                            f"({', '.join(more_names)})",
                            [caller_id_row(cid)] + [number_row(n) for n in holders], ids, names))
    return out


# -- 3. provider-specific loose ends --------------------------------------------------------------
def _per_number(kind: str, qs, summary) -> list[Detected]:
    return [Detected(kind, f"number:{n.pk}", summary(n), [number_row(n)], [n.account_id], [n.account.name])
            for n in qs.order_by("account__name", "e164", "pk")]


def webex_inactive_unassigned() -> list[Detected]:
    qs = _numbers().filter(provider="webex", removed_at__isnull=True, status=NumberStatus.INACTIVE,
                           owner__isnull=True)
    return _per_number(FindingKind.WEBEX_INACTIVE_UNASSIGNED, qs,
                       lambda n: f"Number {n.e164 or n.number_raw} in {n.account.name} is inactive and assigned to nobody")


def didww_unrouted() -> list[Detected]:
    qs = _numbers().filter(provider="didww", removed_at__isnull=True, trunk__isnull=True, trunk_group__isnull=True)
    return _per_number(FindingKind.DIDWW_UNROUTED, qs,
                       lambda n: f"DID {n.e164 or n.number_raw} in {n.account.name} rings no trunk or trunk group")


# -- 4. Plivo pools against the rented numbers ----------------------------------------------------
def plivo_pool_not_rented() -> list[Detected]:
    qs = _numbers().filter(provider="plivo", removed_at__isnull=True, raw__has_key="pool_numbers").exclude(
        raw__has_key="number")
    return _per_number(FindingKind.PLIVO_POOL_NOT_RENTED, qs,
                       lambda n: f"Number {n.e164 or n.number_raw} is in a number pool of {n.account.name} "
                                 f"but not among its rented numbers")


# -- 5. one account configured twice -----------------------------------------------------------------
def duplicate_accounts() -> list[Detected]:
    """The add-account form's duplicate rule (services.accounts.same_provider_account), on every pair."""
    by_provider: dict[str, list[tuple[ProviderAccount, dict]]] = {}
    for account in ProviderAccount.objects.order_by("provider", "pk"):
        by_provider.setdefault(account.provider, []).append((account, stored_secrets(account)))
    out = []
    for provider, accounts in by_provider.items():
        for (a, sa), (b, sb) in combinations(accounts, 2):
            why = same_provider_account(provider, (a.base_url, sa, a.config or {}), (b.base_url, sb, b.config or {}))
            if why:
                out.append(Detected(FindingKind.DUPLICATE_ACCOUNT, f"accounts:{a.pk},{b.pk}",
                                    f"{a.name} and {b.name} ({a.provider_name}) are one provider account: {why}",
                                    [account_row(a), account_row(b)], [a.pk, b.pk], [a.name, b.name]))
    return out


RULES = (duplicate_numbers, caller_id_owners, webex_inactive_unassigned, didww_unrouted, plivo_pool_not_rented,
         duplicate_accounts)


def detect_all() -> list[Detected]:
    return [d for rule in RULES for d in rule()]

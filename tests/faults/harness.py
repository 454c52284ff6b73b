"""Fault harness: one adapter per provider simulator (what it lists, how to change it, where its
numbers listing lives) and the invariants every step of the fault matrix checks.

Invariants (the issue's "after every step"):
- no number the provider lists is removed from the inventory (spurious removal = lost number);
- a number the provider lists is never *added twice* (no duplicate rows per account/E.164);
- no run is left ``running`` (in-process runs finish before ``run_sync`` returns);
- history rows equal the changes: per run, ADDED/REMOVED/MISSING events = the run's counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from django.db.models import Count

from numbersadmin.inventory.choices import ChangeKind, SyncState
from numbersadmin.inventory.models import NumberChange, PhoneNumber, SyncRun

PAGE_SIZE = 20  # small pages: a 100-number account is five pages, so faults can hit the middle


@dataclass
class Case:
    """One provider's simulator seen through what the fault matrix needs."""

    slug: str
    sim: Any
    secrets: dict
    numbers_path: str  # substring of the numbers listing path (faults target it)
    listed: Callable[[Any], set[str]]  # external ids the provider lists now
    remove: Callable[[Any, random.Random], str]  # removes one number, returns its external id
    add: Callable[[Any], None]
    change: Callable[[Any, random.Random], None]
    counted: bool = False  # states a total (DIDWW, Voximplant, Plivo)
    has_lookup: bool = True
    config: dict = field(default_factory=lambda: {"page_size": PAGE_SIZE})


def _didww(numbers: int, seed: int) -> Case:
    from providers.simulators.didww import DidwwSimulator

    key = "fault-didww-key-0001"
    sim = DidwwSimulator(api_key=key, dids=numbers, trunks=4, trunk_groups=2, seed=seed)
    return Case(
        "didww", sim, {"api_key": key}, "/dids", lambda s: {d["id"] for d in s.dids},
        lambda s, rng: s.remove_did(rng.choice(s.dids)["id"])["id"], lambda s: s.add_dids(1),
        lambda s, rng: s.update_did(rng.choice(s.dids)["id"], description=f"changed {rng.random():.6f}"),
        counted=True)


def _voximplant(numbers: int, seed: int) -> Case:
    from providers.simulators.voximplant_demo_key import DEMO_CREDENTIALS_JSON
    from providers.simulators.voximplant import VoximplantSimulator

    sim = VoximplantSimulator(numbers=numbers, caller_ids=10, seed=seed)
    return Case(
        "voximplant", sim, {"credentials_json": DEMO_CREDENTIALS_JSON}, "GetPhoneNumbers",
        lambda s: {str(p["phone_id"]) for p in s.phone_numbers},
        lambda s, rng: str(s.remove_phone_number(rng.choice(s.phone_numbers)["phone_id"])["phone_id"]),
        lambda s: s.add_phone_numbers(1),
        lambda s, rng: s.update_phone_number(rng.choice(s.phone_numbers)["phone_id"], phone_price=round(rng.random() * 9, 2)),
        counted=True)


def _webex(numbers: int, seed: int) -> Case:
    from providers.simulators.webex import WebexSimulator

    token = "fault-webex-token-0001"
    sim = WebexSimulator(access_token=token, numbers=numbers, locations=3, seed=seed)

    def numbered(s):
        return [r for r in s.numbers if r.get("phoneNumber")]

    return Case(
        "webex", sim, {"access_token": token}, "/telephony/config/numbers",
        lambda s: {r["phoneNumber"] for r in numbered(s)},
        lambda s, rng: s.remove_number(rng.choice(numbered(s))["phoneNumber"])["phoneNumber"],
        lambda s: s.add_number(s.numbers[0]["location"]["id"]),
        lambda s, rng: s.update_number(rng.choice(numbered(s))["phoneNumber"], extension=str(rng.randint(1000, 9999))))


def _apifonica(numbers: int, seed: int) -> Case:
    from providers.simulators.apifonica import ApifonicaSimulator

    sid, token = "ACfault0000apifonica01", "fault-apifonica-token"
    sim = ApifonicaSimulator(account_sid=sid, auth_token=token, numbers=numbers, seed=seed)
    return Case(
        "apifonica", sim, {"account_sid": sid, "auth_token": token}, "/numbers",
        lambda s: {n["number_sid"] for n in s.numbers},
        lambda s, rng: s.remove_number(rng.choice(s.numbers)["number_sid"])["number_sid"],
        lambda s: s.add_number(),
        lambda s, rng: s.update_number(rng.choice(s.numbers)["number_sid"], name=f"n{rng.randint(1, 10**6)}"),
        has_lookup=False)


def _plivo(numbers: int, seed: int) -> Case:
    from providers.simulators.plivo import PlivoSimulator

    auth_id, token = "MAFAULTPLIVOAUTHID01", "fault-plivo-token"
    sim = PlivoSimulator(auth_id=auth_id, auth_token=token, numbers=numbers, powerpacks=2, seed=seed)
    return Case(
        "plivo", sim, {"auth_id": auth_id, "auth_token": token}, f"/Account/{auth_id}/Number/",
        lambda s: ({n["number"] for n in s.numbers} | {p["number"] for p in s.pool_numbers}
                   | {p["tollfree"] for p in s.pool_tollfree} | {p["shortcode"] for p in s.pool_shortcodes}),
        lambda s, rng: s.remove_number(rng.choice(s.numbers)["number"])["number"],
        lambda s: s.add_number(),
        lambda s, rng: s.update_number(rng.choice(s.numbers)["number"], alias=f"a{rng.randint(1, 10**6)}"),
        counted=True)


CASES: dict[str, Callable[[int, int], Case]] = {
    "didww": _didww, "voximplant": _voximplant, "webex": _webex, "apifonica": _apifonica, "plivo": _plivo,
}


def make_account(case: Case, name: str | None = None):
    from numbersadmin.inventory.services.accounts import account_create

    return account_create(provider=case.slug, name=name or f"fault-{case.slug}", base_url=case.sim.base_url,
                          config=case.config, secrets=case.secrets)


@dataclass
class Verdict:
    lost: int  # listed by the provider, yet removed in the inventory (spurious removals)
    duplicates: int
    stuck: int
    history_mismatches: int
    missing_flagged: int  # listed by the provider, flagged "missing" (kept live; not a loss)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicates or self.stuck or self.history_mismatches)


def check(account, case: Case) -> Verdict:
    listed = case.listed(case.sim)
    rows = PhoneNumber.objects.filter(account=account)
    lost = rows.filter(external_id__in=listed, removed_at__isnull=False).count()
    missing_flagged = rows.filter(external_id__in=listed, missing_since__isnull=False).count()
    duplicates = (rows.filter(removed_at__isnull=True).exclude(e164="").values("e164")
                  .annotate(n=Count("pk")).filter(n__gt=1).count())
    stuck = SyncRun.objects.filter(account=account, state=SyncState.RUNNING).count()
    return Verdict(lost, duplicates, stuck, history_mismatches(account), missing_flagged)


def history_mismatches(account) -> int:
    """Runs whose ADDED / REMOVED / MISSING history rows differ from the run's counts (the
    account's first successful run records no ADDED events by design)."""
    bad = 0
    first = SyncRun.objects.filter(account=account, state=SyncState.SUCCEEDED).order_by("finished_at", "pk").first()
    for run in SyncRun.objects.filter(account=account, finished_at__isnull=False):
        events = dict(NumberChange.objects.filter(run=run).values_list("kind").annotate(n=Count("pk")))
        added = 0 if first is not None and run.pk == first.pk else run.added
        if (events.get(ChangeKind.ADDED, 0), events.get(ChangeKind.REMOVED, 0), events.get(ChangeKind.MISSING, 0)) \
                != (added, run.removed, run.missing):
            bad += 1
    return bad


def live_ids(account) -> set[str]:
    return set(PhoneNumber.objects.filter(account=account, removed_at__isnull=True).values_list("external_id", flat=True))

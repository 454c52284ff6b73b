"""The fault matrix: every provider simulator through every HTTP-level fault kind, with churn at
the provider between steps, checking the harness invariants after every step.

Default run (CI): one round of every kind per provider + mass removal + 3 churn rounds
(~90 injected faults). Full run (>= 500 injected faults): ``FAULTS_FULL=1 pytest tests/faults``.
Process-level faults (worker SIGKILL, PostgreSQL and Redis restarts, 50 "Sync now") are in
``test_process_faults.py`` (real worker, PostgreSQL, Redis). Each run writes its table to
``test-artifacts/fault_matrix.md``.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from pathlib import Path

import pytest

from numbersadmin.inventory.choices import SyncState
from numbersadmin.inventory.models import SyncRun

from ..support.helpers import sync
from .harness import CASES, PAGE_SIZE, Case, check, live_ids, make_account

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

FULL = os.environ.get("FAULTS_FULL") == "1"
ROUNDS = 6 if FULL else 1
CHURN_ROUNDS = 20 if FULL else 3
NUMBERS = 100  # five pages of PAGE_SIZE


def _refused(case: Case, page: int):
    case.sim.stop()  # connection refused for the whole run


def _die(case: Case, page: int):
    case.sim.faults.die_after_page(page, path=case.numbers_path)


# kind -> (injector(case, page), providers it applies to or None for all)
KINDS = {
    "5xx on page N": (lambda c, p: c.sim.faults.fail(500, page=p, path=c.numbers_path), None),
    "503 on page N": (lambda c, p: c.sim.faults.fail(503, page=p, path=c.numbers_path), None),
    "429 with Retry-After (Voximplant: 340)": (lambda c, p: c.sim.faults.rate_limit(0, page=p, path=c.numbers_path), None),
    "429 without Retry-After": (lambda c, p: c.sim.faults.rate_limit(None, page=p, path=c.numbers_path), None),
    "stall past the timeout": (lambda c, p: c.sim.faults.stall(1.5, page=p, path=c.numbers_path), None),
    "truncated JSON": (lambda c, p: c.sim.faults.truncate(page=p, path=c.numbers_path), None),
    "total +1 item": (lambda c, p: c.sim.faults.total_offset(1, path=c.numbers_path, times=None), "counted"),
    "total -1 item": (lambda c, p: c.sim.faults.total_offset(-1, path=c.numbers_path, times=None), "counted"),
    "total +1 page": (lambda c, p: c.sim.faults.total_offset(PAGE_SIZE, path=c.numbers_path, times=None), "counted"),
    "total -1 page": (lambda c, p: c.sim.faults.total_offset(-PAGE_SIZE, path=c.numbers_path, times=None), "counted"),
    "empty page with continuation": (lambda c, p: c.sim.faults.empty_page(True, page=p, path=c.numbers_path), None),
    "empty page without continuation": (lambda c, p: c.sim.faults.empty_page(False, page=p, path=c.numbers_path), None),
    "continuation dropped early": (lambda c, p: c.sim.faults.drop_next(page=p, path=c.numbers_path), None),
    "simulator killed mid-listing": (_die, None),
    "connection refused": (_refused, None),
}

RESULTS: dict[tuple[str, str], dict] = defaultdict(lambda: {"injected": 0, "outcomes": set(), "lost": 0,
                                                             "spurious": 0, "stuck": 0, "history": 0})


@pytest.fixture(autouse=True)
def _fast_timeouts(settings):
    settings.PROVIDER_HTTP_TIMEOUT = 0.5  # the stall fault waits 1.5 s
    settings.SYNC_DEFAULT_RETRY_AFTER = 0


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if not RESULTS:
        return
    lines = ["| fault | provider | injected | outcome | numbers lost | spurious removals | stuck runs | history mismatches |",
             "|---|---|---|---|---|---|---|---|"]
    totals = defaultdict(int)
    for (kind, slug), row in sorted(RESULTS.items()):
        lines.append(f"| {kind} | {slug} | {row['injected']} | {', '.join(sorted(row['outcomes']))} | {row['lost']} | "
                     f"{row['spurious']} | {row['stuck']} | {row['history']} |")
        for key in ("injected", "lost", "spurious", "stuck", "history"):
            totals[key] += row[key]
    lines.append(f"| **total** | | **{totals['injected']}** | | **{totals['lost']}** | **{totals['spurious']}** | "
                 f"**{totals['stuck']}** | **{totals['history']}** |")
    out = Path(__file__).resolve().parents[2] / "test-artifacts" / "fault_matrix.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n" + "\n".join(lines))


def record(kind: str, case: Case, account, runs: list[SyncRun], injected: int = 1) -> None:
    verdict = check(account, case)
    row = RESULTS[(kind, case.slug)]
    row["injected"] += injected
    row["outcomes"].update(_outcome(r) for r in runs)
    row["lost"] += verdict.lost
    row["spurious"] += verdict.lost
    row["stuck"] += verdict.stuck
    row["history"] += verdict.history_mismatches
    assert verdict.ok, (kind, case.slug, verdict, [(_outcome(r), r.error_message) for r in runs])


def _outcome(run: SyncRun) -> str:
    if run.state == SyncState.FAILED:
        return f"failed: {run.error_class}"
    if run.state == SyncState.SUCCEEDED and run.missing:
        return "succeeded, some missing"
    return run.state


def _runs_since(account, last_pk: int) -> list[SyncRun]:
    return list(SyncRun.objects.filter(account=account, pk__gt=last_pk).order_by("pk"))


def _last_pk() -> int:
    return SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.fixture
def provider(request):
    case = CASES[request.param](NUMBERS, 7)
    case.sim.start()
    yield case
    case.sim.stop()


def _ensure_up(case: Case) -> None:
    if case.sim._server is None:
        case.sim.restart()
    case.sim.faults.clear()


def _clean_sync(case: Case, account) -> None:
    """After a fault: a fault-free sync must bring the inventory to exactly what is listed."""
    _ensure_up(case)
    run = sync(account)
    assert run.state in (SyncState.SUCCEEDED, SyncState.NEEDS_REVIEW), run.error_message
    assert case.listed(case.sim) <= live_ids(account)
    assert check(account, case).missing_flagged == 0


@pytest.mark.parametrize("provider", list(CASES), indirect=True)
def test_every_fault_kind(provider):
    case, rng = provider, random.Random(11)
    account = make_account(case)
    assert sync(account).state == SyncState.SUCCEEDED
    for round_ in range(ROUNDS):
        for kind, (inject, only) in KINDS.items():
            if only == "counted" and not case.counted:
                continue
            # Real change at the provider too, so removals in the same step are genuine.
            case.change(case.sim, rng)
            if rng.random() < 0.5:
                case.remove(case.sim, rng)
                case.add(case.sim)
            page = 2 + (round_ % 3)  # pages 2..4 of 5
            since = _last_pk()
            inject(case, page)
            sync(account)
            record(kind, case, account, _runs_since(account, since))
            _clean_sync(case, account)


@pytest.mark.parametrize("provider", list(CASES), indirect=True)
def test_mass_removal_is_held_or_kept_missing(provider):
    case, rng = provider, random.Random(12)
    account = make_account(case)
    assert sync(account).state == SyncState.SUCCEEDED
    before = live_ids(account)
    for _ in range(int(NUMBERS * 0.9)):
        case.remove(case.sim, rng)
    since = _last_pk()
    run = sync(account)
    record("90 % mass removal", case, account, _runs_since(account, since))
    assert live_ids(account) == before  # nothing removed: held for review, or only "missing"
    assert run.state == (SyncState.NEEDS_REVIEW if case.has_lookup else SyncState.SUCCEEDED)


@pytest.mark.parametrize("provider", list(CASES), indirect=True)
def test_churn_rounds_with_random_faults(provider):
    case, rng = provider, random.Random(13)
    account = make_account(case)
    assert sync(account).state == SyncState.SUCCEEDED
    kinds = [k for k, (_, only) in KINDS.items() if not (only == "counted" and not case.counted)]
    for _ in range(CHURN_ROUNDS):
        _ensure_up(case)
        case.remove(case.sim, rng)  # 1 % churn: one gone, one new, one changed
        case.add(case.sim)
        case.change(case.sim, rng)
        kind = rng.choice(kinds)
        since = _last_pk()
        KINDS[kind][0](case, rng.randint(2, 4))
        sync(account)
        record("1 % churn + random fault", case, account, _runs_since(account, since))
    _clean_sync(case, account)
    assert case.listed(case.sim) <= live_ids(account)

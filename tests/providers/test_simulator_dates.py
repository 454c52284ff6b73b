"""Simulator dates for the demo: with ``today`` given, renewals are relative to it (DIDWW: monthly
on the creation day, a few overdue; Plivo: ahead), and the same seed still draws the same numbers;
without it, the fixed dates tests rely on are unchanged."""

from __future__ import annotations

import datetime as dt

import pytest

from providers.simulators.didww import NOW, DidwwSimulator, _monthly_renewal
from providers.simulators.plivo import PlivoSimulator

UTC = dt.timezone.utc


def _day(stamp: str) -> dt.date:
    return dt.date.fromisoformat(stamp[:10])


@pytest.mark.parametrize("today", [dt.date(2026, 12, 4), dt.date(2027, 1, 31), dt.date(2030, 2, 28)])
def test_didww_renewals_follow_today_and_a_few_are_overdue(today):
    fixed, dated = DidwwSimulator(dids=400, seed=7), DidwwSimulator(dids=400, seed=7, today=today)
    assert [d["id"] for d in fixed.dids] == [d["id"] for d in dated.dids]
    assert [d["number"] for d in fixed.dids] == [d["number"] for d in dated.dids]
    days = [(_day(d["expires_at"]) - today).days for d in dated.dids]
    overdue = [n for n in days if n <= 0]
    assert 1 <= len(overdue) <= len(days) // 10
    assert all(-31 < n <= 0 for n in overdue) and all(0 < n <= 31 for n in days if n > 0)
    # Renewal day = the creation day (capped at the 28th).
    for did in dated.dids:
        assert _day(did["expires_at"]).day == min(_day(did["created_at"]).day, 28)


def test_didww_default_dates_are_the_fixed_ones():
    sim = DidwwSimulator(dids=200, seed=3)
    assert all(0 < (_day(d["expires_at"]) - NOW.date()).days <= 32 for d in sim.dids)


@pytest.mark.parametrize("created_day,today,overdue,expected", [
    (3, dt.date(2026, 12, 15), False, dt.date(2027, 1, 3)),
    (15, dt.date(2026, 12, 15), False, dt.date(2027, 1, 15)),   # today's renewal counts as passed
    (20, dt.date(2026, 12, 15), False, dt.date(2026, 12, 20)),
    (31, dt.date(2026, 2, 10), False, dt.date(2026, 2, 28)),   # capped at the 28th
    (15, dt.date(2026, 12, 15), True, dt.date(2026, 12, 15)),
    (20, dt.date(2026, 1, 15), True, dt.date(2025, 12, 20)),
])
def test_monthly_renewal(created_day, today, overdue, expected):
    created = dt.datetime(2024, 5, created_day, 7, 30, tzinfo=UTC)
    assert _monthly_renewal(created, today, overdue=overdue).date() == expected


def test_plivo_renewals_lie_ahead_of_today():
    today = dt.date(2026, 12, 4)
    fixed, dated = PlivoSimulator(numbers=60, seed=7), PlivoSimulator(numbers=60, seed=7, today=today)
    assert [n["number"] for n in fixed.numbers] == [n["number"] for n in dated.numbers]
    renewals = [dt.date.fromisoformat(n["renewal_date"][:10]) for n in dated.numbers]
    assert all(today < r <= today + dt.timedelta(days=31) for r in renewals)

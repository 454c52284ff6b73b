"""Opt-in smoke test of the benchmark (``pytest -m perf``): runs tests/perf/bench.py at small
sizes and checks that it produced a complete report. No timing assertions, by design: the
numbers are for people comparing ratios (see tests/perf/bench.py), not a pass/fail budget."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench.py")
sys.path.insert(0, str(BENCH.parent))
import bench  # noqa: E402  (the views it times: FILTER_SORT_PAIRS)
ROOT = BENCH.parents[2]

pytestmark = pytest.mark.perf


def test_bench_produces_report(tmp_path):
    if not os.environ.get("INTEGRATION_DATABASE_URL"):
        message = "INTEGRATION_DATABASE_URL not set (the benchmark creates a throwaway PostgreSQL database)"
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--numbers", "1500", "--sync-dids", "200", "--runs", "2", "--sync-runs", "1",
         "--sqlite-numbers", "1500", "--sync-memory", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"bench failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
    assert "## Sync" in result.stdout and "## List page" in result.stdout and "## Embedded SQLite" in result.stdout
    assert "Dashboard: " in result.stdout

    report = json.loads(out.read_text())
    assert set(report) == {"meta", "sync", "list", "sqlite"}
    sync = report["sync"]
    for side in ("ours", "peer"):
        for phase in ("initial", "resync"):
            assert {"total_s", "fetch_s", "apply_s", "rows"} <= set(sync[side][phase])
            assert {"ins", "upd"} <= set(sync[side][phase]["rows"])
    assert set(sync["ratios_peer_over_ours"]) == {"initial_total", "initial_apply", "resync_total", "resync_apply"}
    # Counts, not times: our unchanged re-sync writes no row version; the initial one inserts them all.
    assert sync["ours"]["resync"]["rows"]["upd"] == sync["ours"]["resync"]["rows"]["ins"] == 0
    assert sync["ours"]["initial"]["rows"]["ins"] == 200
    assert sync["memory"]["numbers"] == 200 and sync["memory"]["traced_peak_mib"] > 0

    listing = report["list"]
    assert listing["numbers"] == 1500
    views = {v["view"]: v for v in listing["views"]}
    # page 1, deep, US+active (each also as a partial), the filter + sort pairs, the search (and
    # its partial), two two-word searches, caller IDs, owners, locations, the dashboard; and their
    # admin peers
    assert len(views) == 9 + 2 * len(bench.FILTER_SORT_PAIRS) + 2 + 1 + 2 * 2 + 3 * 2 + 2
    assert {"ours: q=support+line", "admin: q=sales+reception (same fields)"} <= set(views)
    assert views["ours: dashboard"]["peer"] == "admin: page 1 with facets"
    assert {v["side"] for v in views.values()} == {"ours", "admin"}
    assert sum(v["htmx"] for v in views.values()) == 4
    assert {"admin: caller IDs", "admin: owners", "admin: locations", "admin: q=hotline (same fields)"} <= set(views)
    for view in views.values():
        assert {"median_ms", "queries", "sql_ms", "bytes", "ratio_admin_over_ours"} <= set(view)
        assert (view["ratio_admin_over_ours"] is None) == (view["side"] == "admin")

    sqlite = report["sqlite"]
    assert sqlite["numbers"] == 1500
    assert {v["view"] for v in sqlite["views"] if v["side"] == "ours"} == {
        "ours: page 1", "ours: country=US&status=active", "ours: dashboard"}
    assert all(v["ratio_admin_over_ours"] for v in sqlite["views"] if v["side"] == "ours")

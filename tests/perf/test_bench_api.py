"""Opt-in smoke test of the API benchmark (``pytest -m perf``): runs tests/perf/bench_api.py at a
tiny size and checks that it produced a complete report. No timing assertions, by design (see
tests/perf/bench_api.py). django-ninja is optional: without it that path is reported as skipped."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench_api.py")
ROOT = BENCH.parents[2]

pytestmark = pytest.mark.perf


def test_bench_api_produces_report(tmp_path):
    if not os.environ.get("INTEGRATION_DATABASE_URL"):
        message = "INTEGRATION_DATABASE_URL not set (the benchmark creates a throwaway PostgreSQL database)"
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "bench_api.json"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--numbers", "2500", "--runs", "2", "--ser-runs", "2", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"bench failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
    assert "## API page" in result.stdout and "## Serializing" in result.stdout

    report = json.loads(out.read_text())
    assert set(report) == {"meta", "seed", "page", "serialize"}
    page = report["page"]
    assert page["numbers"] == 2500 and page["page_size"] == 1000
    views = page["views"]
    assert len(views) == 4
    assert [v["side"] for v in views].count("ours") == 2 and [v["side"] for v in views].count("peer") == 2
    for view in views:
        assert {"median_ms", "queries", "sql_ms", "bytes", "ratio_peer_over_ours"} <= set(view)
        assert (view["ratio_peer_over_ours"] is None) == (view["side"] == "peer")

    serialize = report["serialize"]
    assert serialize["rows"] == 1000
    has_ninja = importlib.util.find_spec("ninja") is not None
    assert set(serialize["sides"]) == ({"drf", "ours", "ninja"} if has_ninja else {"drf", "ours"})
    assert (serialize["ninja_skipped"] is None) == has_ninja
    for side in serialize["sides"].values():
        assert {"fetch_and_serialize_ms", "serialize_only_ms", "ratio_over_ours_fetch_and_serialize",
                "ratio_over_ours_serialize_only"} <= set(side)

"""Opt-in smoke test of tests/perf/bench_fleet.py (``pytest -m perf``): a small run through a real
worker, checking only the report's shape and counts, never times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench_fleet.py")
ROOT = BENCH.parents[2]

pytestmark = pytest.mark.perf


def test_bench_fleet_produces_report(tmp_path):
    redis_url = os.environ.get("INTEGRATION_REDIS_URL", "")
    if not (os.environ.get("INTEGRATION_DATABASE_URL") and redis_url):
        message = "INTEGRATION_DATABASE_URL / INTEGRATION_REDIS_URL not set (the benchmark needs PostgreSQL and Redis)"
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "fleet.json"
    result = subprocess.run(
        [sys.executable, str(BENCH), "--numbers", "150", "--concurrency", "1,3", "--latency", "0",
         "--redis-url", redis_url, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"bench failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
    assert "| fetch_concurrency |" in result.stdout
    report = json.loads(out.read_text())
    assert [r["concurrency"] for r in report["runs"]] == [1, 3]
    for run in report["runs"]:
        assert set(run["fetch"]["providers"]) == set(run["sync"]["providers"]) == {
            "voximplant", "didww", "webex", "apifonica", "plivo"}
        assert all(p["numbers"] == 150 for p in run["fetch"]["providers"].values())
        assert all(p["added"] == p["numbers"] == 150 for p in run["sync"]["providers"].values())
        assert run["ratio"] > 0

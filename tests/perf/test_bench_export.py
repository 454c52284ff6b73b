"""Opt-in smoke test of the export benchmark (``pytest -m perf``): runs tests/perf/bench_export.py
on 5,000 numbers and checks the report's shape and that every mode exported the same rows. No
timing or memory assertions, by design: the numbers are ratios for people (see bench_export.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench_export.py")
ROOT = BENCH.parents[2]
ROWS = 5000

pytestmark = pytest.mark.perf


def test_bench_export_produces_report(tmp_path):
    if not os.environ.get("INTEGRATION_DATABASE_URL"):
        message = "INTEGRATION_DATABASE_URL not set (the benchmark creates a throwaway PostgreSQL database)"
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path / "bench_export.json"
    result = subprocess.run([sys.executable, str(BENCH), "--rows", str(ROWS), "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"bench failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
    assert "| Mode |" in result.stdout and "peer/ours" in result.stdout

    report = json.loads(out.read_text())
    assert set(report) == {"meta", "seed", "runs", "ratios", "checks"}
    assert report["seed"]["rows"] == ROWS
    runs = dict(report["runs"])
    floor = runs.pop("copy", None)  # the bare COPY of the same SELECT (when ours has a COPY path)
    if floor is not None:
        assert floor["data_lines"] == ROWS and floor["bytes"] > 0
        assert report["ratios"]["ours_vs_copy"] > 0
    assert {"ours", "peer", "ours_subset", "naive_subset"} <= set(runs) <= {"ours", "ours_python", "peer",
                                                                             "ours_subset", "naive_subset"}
    for run in runs.values():
        assert {"total_s", "ttfb_s", "first_row_s", "bytes", "lines", "data_lines", "header", "peak_rss_mb",
                "rss_before_mb", "rss_growth_mb", "sampled_peak_growth_mb", "queries"} <= set(run)
        assert run["header"] and run["bytes"] > 0
    # Both full exports hold every live number (the removed ones excluded), one data line each.
    assert runs["ours"]["data_lines"] == runs["peer"]["data_lines"] == ROWS
    if "ours_python" in runs:
        assert runs["ours_python"]["data_lines"] == ROWS
    assert runs["naive_subset"]["data_lines"] == runs["ours_subset"]["data_lines"] > 0
    assert report["checks"]["same_data_lines"] is True
    # The peer writes the same cells (its columns are ours: every export path has a model-way twin).
    assert report["checks"]["identical_data_ignoring_quotes_and_cr"] is True
    for pair in ("peer_vs_ours", "naive_vs_ours_subset"):
        assert {"time", "ttfb", "peak_rss", "rss_growth", "rss_growth_delta_mb"} <= set(report["ratios"][pair])

"""Fuzz + secrets canary on PostgreSQL and Redis (tests/security/probe.py in a subprocess with a
fresh database): 0 responses >= 500 and 0 canary hits. Default: 2,000 fuzzed requests;
``FUZZ_FULL=1``: 20,000."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import app_env, services  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
REQUESTS = 20_000 if os.environ.get("FUZZ_FULL") == "1" else 2_000


def test_fuzz_and_canary(app_env):  # noqa: F811
    env = {**app_env, "REDIS_URL": app_env["REDIS_URL"]}
    result = subprocess.run([sys.executable, "tests/security/probe.py", "--requests", str(REQUESTS)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=1800)
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout[result.stdout.index("{"):])
    out = ROOT / "test-artifacts" / "security_probe.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    fuzz = report["fuzz"]
    assert fuzz["requests"] >= REQUESTS, fuzz
    assert fuzz["errors_5xx"] == 0, fuzz["failures"]
    canary = report["canary"]
    assert canary["canaries_planted"] >= 10 and canary["tables"] >= 20 and canary["places_checked"] > 300, canary
    assert canary["self_check_hits"] >= 5, "the scanner must find the canaries where they really are"
    assert canary["redis_keys"] > 0, "the scan must see the broker messages and cache keys"
    assert canary["hits"] == 0, canary["where"]
    assert result.returncode == 0

"""The "as of" and diff replay tests (tests/test_asof.py) on PostgreSQL: there the rebuilt table is
a LATERAL join with jsonb (SQLite: a correlated subquery with json_group_object), so both SQL
dialects are checked against the recorded syncs."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_as_of_and_diff_replay_on_postgresql(app_env):
    env = {**app_env, "PYTEST_ADDOPTS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "tests/test_asof.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    # It ran on PostgreSQL, not on the SQLite default.
    assert "postgresql" in subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.db import connection; print(connection.vendor)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout

"""The sync's PostgreSQL write path (new rows COPYed into the table, changed numbers through a
staging table and one UPDATE ... FROM ... WHERE <row differs>; reference rows and pool
memberships COPYed too; issue 18) against real syncs: the row-version checks (xmin, ctid) and the
sync, history, pool and lifecycle tests, run in a subprocess on the integration database."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT

FILES = ["tests/test_sync_row_versions.py", "tests/test_sync.py", "tests/test_history.py",
         "tests/test_lifecycle_history.py", "tests/test_pools.py", "tests/test_sync_reference_apply.py",
         "tests/test_seed_fields.py"]


def test_sync_writes_on_postgresql(app_env):
    env = {**app_env, "PYTEST_ADDOPTS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", *FILES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    # It ran on PostgreSQL, not on the SQLite default.
    assert "postgresql" in subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", "from django.db import connection; print(connection.vendor)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60).stdout

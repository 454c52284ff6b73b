"""The sort tests (tests/test_sorting.py) on PostgreSQL: there a sort through a relation reads its
key groups with one UNION ALL of bounded reads per batch (pagination._relation_rows; SQLite
reads each group on its own), and text sorts follow the database's collation."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def test_sorts_on_postgresql(app_env):
    env = {**app_env, "PYTEST_ADDOPTS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-k", "relation or keyset",
         "tests/test_sorting.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]

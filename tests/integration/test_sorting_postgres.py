"""The sort tests (tests/test_sorting.py) on PostgreSQL: there a sort through a relation reads its
key groups with one UNION ALL of bounded reads per batch (pagination._relation_rows; SQLite
reads each group on its own), and text sorts follow the database's collation. The search plan
tests (tests/test_search_plan.py) too: the form a search takes follows the planner's estimates."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def _pytest_on_postgresql(app_env, *args) -> str:
    env = {**app_env, "PYTEST_ADDOPTS": ""}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "-n", "0", *args],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout, result.stdout[-2000:]
    return result.stdout


def test_sorts_on_postgresql(app_env):
    out = _pytest_on_postgresql(app_env, "-k", "relation or keyset", "tests/test_sorting.py")
    assert "skipped" not in out, out[-2000:]


def test_search_plans_on_postgresql(app_env):
    out = _pytest_on_postgresql(app_env, "tests/test_search_plan.py")
    # Only the SQLite-only test may skip: every planner test ran.
    assert "1 skipped" in out and "SQLite only" in out, out[-2000:]

"""Exports on the production shape: PostgreSQL (server-side cursors, planner paths) and a real
Celery worker building a large XLSX in the background."""

from __future__ import annotations

import pytest

from providers.didww.simulator import DidwwSimulator

from .conftest import manage

KEY = "it-export-key-42"

# Runs inside `manage.py shell` against the module's PostgreSQL database, as a web request would.
EXPORT_JOB = r"""
import io, time
from django.contrib.auth import get_user_model
from django.test import Client
from openpyxl import load_workbook
from numbersadmin.inventory.models import ExportJob, PhoneNumber, Tag
user = get_user_model().objects.create_user("pg-exporter")
c = Client(SERVER_NAME="localhost"); c.force_login(user)
us = PhoneNumber.objects.filter(removed_at=None, country="US").order_by("e164")
Tag.objects.create(name="audit").numbers.add(*us[:5])
expected = list(us.values_list("e164", flat=True))

# CSV streams through a server-side cursor with the per-chunk tag loader.
r = c.get("/numbers/?country=US&export=csv&cols=e164,tags")
text = b"".join(r.streaming_content).decode()
rows = [l for l in text.splitlines() if not l.startswith("#")]
assert rows[0] == "e164,tags" and [l.split(",")[0] for l in rows[1:]] == expected, (rows[:3], len(rows))
assert rows[1:6] == [f"{n},audit" for n in expected[:5]]
assert f"# rows: {len(expected)}" in text and "# account it-export (didww): last successful sync 20" in text

# XLSX above EXPORT_XLSX_SYNC_ROWS goes to the worker; the page polls the job.
r = c.get("/numbers/?country=US&export=xlsx&columns=all")
assert r.status_code == 302, r.status_code
job = ExportJob.objects.get()
for _ in range(120):
    job.refresh_from_db()
    if job.state in ("succeeded", "failed"):
        break
    time.sleep(0.5)
assert job.state == "succeeded", (job.state, job.error_message)
assert job.rows_written == len(expected) == job.rows_total
d = c.get(f"/exports/{job.pk}/download/")
wb = load_workbook(io.BytesIO(b"".join(d.streaming_content)))
got = [row[0] for row in wb["export"].iter_rows(min_row=2, values_only=True)]
assert got == expected
print("exported", len(expected))
"""


@pytest.fixture
def sim():
    s = DidwwSimulator(api_key=KEY, dids=1500, trunks=4, trunk_groups=2, seed=5)
    s.start()
    yield s
    s.stop()


def test_csv_streams_and_worker_builds_large_xlsx_on_postgresql(app_env, worker, sim):
    manage(app_env, "add_account", "didww", "it-export", "--base-url", sim.base_url, "--secret", f"api_key={KEY}")
    assert "succeeded" in manage(app_env, "sync", "it-export", "--queue", "--wait", "120").stdout
    env = {**app_env, "EXPORT_XLSX_SYNC_ROWS": "50"}
    out = manage(env, "shell", "--no-imports", "-c", EXPORT_JOB).stdout
    assert "exported" in out

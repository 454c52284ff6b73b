"""Exports on the production shape: PostgreSQL (server-side cursors, planner paths) and a real
Celery worker building a large XLSX in the background."""

from __future__ import annotations

import pytest

from providers.simulators.didww import DidwwSimulator

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
from tests.support.helpers import export_rows
rows = export_rows(text)
assert [r["e164"] for r in rows] == expected, (rows[:3], len(rows))
assert [r["tags"] for r in rows[:6]] == ["audit"] * 5 + [""]
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


# The COPY path must produce the same cells as the Python path: every type, the injection rule,
# E.164 kept (also in a text column), tags ordered, notes, negative amounts, a first cell starting with "#".
COPY_EQUALS_PYTHON = r"""
import datetime as dt
from decimal import Decimal
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import timezone
from numbersadmin.inventory.models import NumberNote, PhoneNumber, Tag
from tests.support.helpers import export_rows
user = get_user_model().objects.create_user("pg-copy")
c = Client(SERVER_NAME="localhost"); c.force_login(user)
nums = list(PhoneNumber.objects.filter(removed_at=None).order_by("e164")[:6])
PhoneNumber.objects.filter(pk=nums[0].pk).update(description="=SUM(A1)", monthly_cost=Decimal("-1.5000"), voice=None,
    acquired_at=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
PhoneNumber.objects.filter(pk=nums[1].pk).update(description="\tTAB", application="@app", acquired_at=dt.datetime(2024, 1, 2, 3, 4, 5, 120, tzinfo=dt.timezone.utc))
PhoneNumber.objects.filter(pk=nums[2].pk).update(description="+44 20 not e164", extension="-12", sms=False, mms=True)
PhoneNumber.objects.filter(pk=nums[3].pk).update(e164="#42", description='quote " and, comma\nnewline')
PhoneNumber.objects.filter(pk=nums[4].pk).update(description="+442032402344", application="=1+1", city="+4420 x")
Tag.objects.create(name="zeta").numbers.add(nums[0], nums[1])
Tag.objects.create(name="alpha").numbers.add(nums[0])
NumberNote.objects.create(number=nums[0], text="-note")
for url in ("/numbers/?export=csv&columns=all&removed=all", "/numbers/?export=csv&cols=tags,note,e164&sort=-e164",
            "/caller-ids/?export=csv&columns=all", "/owners/?export=csv&columns=all", "/trunks/?export=csv&columns=all",
            "/locations/?export=csv&columns=all", "/trunk-groups/?export=csv&columns=all"):
    with override_settings(EXPORT_CSV_COPY=True):
        fast = b"".join(c.get(url).streaming_content).decode()
    with override_settings(EXPORT_CSV_COPY=False):
        slow = b"".join(c.get(url).streaming_content).decode()
    a, b = export_rows(fast), export_rows(slow)
    assert a == b, (url, [(x, y) for x, y in zip(a, b) if x != y][:2])
    assert fast.splitlines()[0] == slow.splitlines()[0]  # same manifest start
    assert "\r" not in fast and "\r\n" in slow  # one line ending per file: LF with COPY, CRLF in Python
    data = [l for l in fast.splitlines() if not l.startswith("#")][1:]
    if url.startswith(("/trunks/", "/owners/")) and data:  # plain names first: COPY really ran (it forces quotes)
        assert data[0].startswith('"') and not [l for l in slow.splitlines() if not l.startswith("#")][1].startswith('"'), url
print("copy == python", len(a))
"""


def test_copy_export_equals_python_export(app_env, worker, sim):
    manage(app_env, "add_account", "didww", "it-copy", "--base-url", sim.base_url, "--secret", f"api_key={KEY}")
    assert "succeeded" in manage(app_env, "sync", "it-copy", "--queue", "--wait", "120").stdout
    assert "copy == python" in manage(app_env, "shell", "--no-imports", "-c", COPY_EQUALS_PYTHON).stdout

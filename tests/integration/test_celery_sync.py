"""A real ``celery worker`` (and ``celery beat``) with real Redis and PostgreSQL sync a DIDWW
simulator account of 2,000 DIDs over sockets; everything is driven through ``manage.py``."""

from __future__ import annotations

import io
import os
import time

import pytest

from providers.simulators.didww import DidwwSimulator

from ..support.helpers import export_rows
from .conftest import Proc, manage

KEY = "it-didww-key-42"


@pytest.fixture
def sim():
    s = DidwwSimulator(api_key=KEY, dids=2000, trunks=8, trunk_groups=3, seed=11)
    s.start()
    yield s
    s.stop()


def export_numbers(env, *filters) -> list[dict]:
    out = manage(env, "export", "numbers", *[f"--filter={f}" for f in filters], "-o", "-").stdout
    return list(export_rows(out))


def test_worker_syncs_2000_dids_then_a_resync_changes_nothing(app_env, worker, sim, tmp_path):
    manage(app_env, "add_account", "didww", "it-didww", "--base-url", sim.base_url, "--secret", f"api_key={KEY}")
    result = manage(app_env, "sync", "it-didww", "--queue", "--wait", "120")
    assert "succeeded 2000 fetched" in result.stdout, result.stdout + worker.log.read_text()[-2000:]
    mine = f"account={_account_id(app_env, 'it-didww')}"  # the module's database holds other tests' accounts too
    rows = export_numbers(app_env, mine)
    assert len(rows) == 2000
    assert {r["e164"] for r in rows} == {"+" + d["number"] for d in sim.dids}
    assert all(r["e164"].startswith("+") and r["country"] for r in rows)
    assert sum(1 for r in rows if r["trunk"] or r["trunk_group"]) > 1500
    # The worker, not this process, did the fetching: its log shows the task.
    assert "inventory.sync_account" in worker.log.read_text()

    # Second run: one DID changed, one gone -> exactly that is written.
    sim.update_did(sim.dids[0]["id"], description="changed in portal")
    gone = sim.dids[1]["number"]
    sim.remove_did(sim.dids[1]["id"])
    result = manage(app_env, "sync", "it-didww", "--queue", "--wait", "120")
    assert "succeeded" in result.stdout
    removed = export_numbers(app_env, mine, "removed=only")
    assert [r["e164"] for r in removed] == ["+" + gone]
    assert len(export_numbers(app_env, mine)) == 1999


def test_provider_failure_in_worker_keeps_inventory(app_env, worker, sim):
    manage(app_env, "add_account", "didww", "it-fail", "--base-url", sim.base_url, "--secret", f"api_key={KEY}")
    assert "succeeded" in manage(app_env, "sync", "it-fail", "--queue", "--wait", "120").stdout
    before = export_numbers(app_env, "account=%s" % _account_id(app_env, "it-fail"))
    sim.remove_did(sim.dids[0]["id"])
    sim.faults.fail(503, page=3, path="/dids")
    result = manage(app_env, "sync", "it-fail", "--queue", "--wait", "120", check=False)
    assert result.returncode == 1 and "[unavailable]" in result.stdout
    after = export_numbers(app_env, "account=%s" % _account_id(app_env, "it-fail"))
    assert [r["e164"] for r in after] == [r["e164"] for r in before]


def test_beat_schedules_due_accounts_for_the_worker(app_env, worker, sim, tmp_path):
    env = {**app_env, "SYNC_DISPATCH_EVERY": "2"}
    manage(env, "add_account", "didww", "it-beat", "--base-url", sim.base_url, "--secret", f"api_key={KEY}",
           "--interval", "5")
    beat = Proc(env, "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"), log=tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            out = manage(env, "shell", "--no-imports", "-c",
                         "from numbersadmin.inventory.models import SyncRun;"
                         "print(SyncRun.objects.filter(account__name='it-beat', trigger='schedule', state='succeeded').count())").stdout
            if out.strip() not in ("", "0"):
                break
            time.sleep(1)
        else:
            raise AssertionError("beat never got a scheduled run done:\n" + beat.log.read_text()[-2000:])
    finally:
        beat.stop()


def _account_id(env, name: str) -> str:
    return manage(env, "shell", "--no-imports", "-c",
                  f"from numbersadmin.inventory.models import ProviderAccount as A; print(A.objects.get(name='{name}').pk)").stdout.strip()


PAGES_ON_POSTGRES = r"""
import re
from django.contrib.auth import get_user_model
from django.test import Client
from numbersadmin.inventory.models import PhoneNumber
user = get_user_model().objects.create_user("pg-viewer")
c = Client(SERVER_NAME="localhost"); c.force_login(user)
def e164s(r): return re.findall(r'class="num">([^<]+)</a>', r.content.decode())
seen, url = [], "/numbers/?sort=-country&per_page=100"
while url:
    r = c.get(url); assert r.status_code == 200, r.status_code
    seen += e164s(r)
    m = re.search(r'href="(\?[^"]*)"[^>]*rel="next"', r.content.decode())
    url = "/numbers/" + m.group(1).replace("&amp;", "&") if m else None
expected = list(PhoneNumber.objects.filter(removed_at=None).order_by("-country", "-pk").values_list("e164", flat=True))
assert seen == expected, (len(seen), len(expected))
r = c.get("/numbers/", {"q": expected[0][2:7]}); assert expected[0] in e164s(r)
r = c.get("/numbers/?page=last&per_page=25"); assert r.status_code == 200 and len(e164s(r)) == 25
print("walked", len(seen))
"""


def test_list_pages_walk_the_table_on_postgresql(app_env, worker, sim):
    """The keyset pager, planner-estimate count and search run their PostgreSQL SQL paths."""
    manage(app_env, "add_account", "didww", "it-pages", "--base-url", sim.base_url, "--secret", f"api_key={KEY}")
    assert "succeeded" in manage(app_env, "sync", "it-pages", "--queue", "--wait", "120").stdout
    out = manage(app_env, "shell", "--no-imports", "-c", PAGES_ON_POSTGRES).stdout
    assert "walked" in out


@pytest.mark.parametrize("slug", ["voximplant", "webex", "plivo", "apifonica"])
def test_worker_reschedules_after_rate_limit(app_env, worker, tmp_path, slug):
    """A rate limit (Voximplant in-body 340, Webex HTTP 429) makes the worker schedule a retry
    after Retry-After instead of sleeping; the retry, run later by the worker, completes the sync."""
    import json

    from providers.simulators.registry import demo_secrets, simulator

    sim = simulator(slug, numbers=150, seed=9)
    sim.start()
    name = f"it-{slug}"
    try:
        args = []
        for key, value in demo_secrets(slug).items():
            path = tmp_path / f"{key}.secret"
            path.write_text(value)
            args += ["--secret", f"{key}=@{path}"]
        manage(app_env, "add_account", slug, name, "--base-url", sim.base_url, *args)
        sim.faults.rate_limit(retry_after=2, page=1)
        first = manage(app_env, "sync", name, "--queue", "--wait", "60", check=False)
        assert "retry_scheduled" in first.stdout and "[rate_limited]" in first.stdout, first.stdout
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = manage(app_env, "shell", "--no-imports", "-c",
                         "from numbersadmin.inventory.models import SyncRun as R;"
                         f"print(R.objects.filter(account__name='{name}', trigger='retry', state='succeeded').count())").stdout
            if out.strip() == "1":
                break
            time.sleep(1)
        else:
            raise AssertionError("retry never succeeded:\n" + worker.log.read_text()[-3000:])
        numbers = export_numbers(app_env, f"account={_account_id(app_env, name)}")
        assert len(numbers) > 0
        if slug == "voximplant":
            assert len(numbers) == len(sim.phone_numbers)
            rows = list(export_rows(manage(app_env, "export", "caller_ids", "-o", "-").stdout))
            assert {r["verification_state"] for r in rows} >= {"verified", "expired", "unverified"}
            key_line = json.loads(demo_secrets(slug)["credentials_json"])["private_key"].splitlines()[1]
            assert key_line not in worker.log.read_text()  # the private key never reaches worker logs
        elif slug == "webex":
            assert len(numbers) == sum(1 for n in sim.numbers if n.get("phoneNumber"))
            owners = list(export_rows(manage(app_env, "export", "owners", "-o", "-").stdout))
            assert owners and all(o["type"] for o in owners)
        else:
            assert all(r["provider"] == slug for r in numbers)
    finally:
        sim.stop()

"""Alerts in the production shape: ``celery beat`` schedules ``alerts.run``, a real worker
evaluates the rules against PostgreSQL and posts the signed digest to a real receiver; a receiver
answering 500 gets its retry from the worker (a Celery countdown), not from the next beat tick."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from providers.simulators.didww import DidwwSimulator

from ..support.receivers import running_receiver
from .conftest import Proc, manage

KEY = "it-alerts-key-42"


@pytest.fixture
def receiver():
    with running_receiver() as r:
        yield r


def test_beat_and_worker_deliver_a_signed_digest_and_retry_a_500(app_env, tmp_path, receiver):
    sim = DidwwSimulator(api_key=KEY, dids=20, trunks=2, trunk_groups=1, seed=4)
    sim.start()
    env = {**app_env, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "ALERTS_RUN_EVERY": "2", "ALERT_RETRY_BASE_SECONDS": "1",
           "SYNC_DISPATCH_EVERY": "3600"}
    try:
        manage(env, "add_account", "didww", "it-alerts", "--base-url", sim.base_url, "--secret", "api_key=wrong-key-000")
        assert manage(env, "sync", "it-alerts", check=False).returncode != 0  # a failing account
    finally:
        sim.stop()
    out = manage(env, "alerts", "rule", "add", "--kind", "sync_failing", "--threshold", "1", "--webhook", receiver.url).stdout
    secret = out.split(f"Signing secret for {receiver.url}: ")[1].split()[0]
    receiver.status = 500
    worker = Proc(env, "worker", "--loglevel=INFO", "--concurrency=2", "-n", "alerts@%h", log=tmp_path / "worker.log")
    beat = Proc(env, "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"), log=tmp_path / "beat.log")
    try:
        worker.wait_for("ready", timeout=90)
        deadline = time.monotonic() + 90
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.3)
        assert receiver.requests, "no delivery:\n" + worker.log.read_text()[-3000:]
        receiver.status = 200
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(receiver.requests) == 2, "no retry:\n" + worker.log.read_text()[-3000:]
        time.sleep(5)  # more beat ticks: nothing new to announce
    finally:
        beat.stop()
        log = worker.stop()
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    # The retry sends the same digest; only its signed sending time differs.
    assert {**first.json(), "sent_at": None} == {**second.json(), "sent_at": None}
    for got in receiver.requests:
        assert got.headers["X-Numbersadmin-Signature"] == "sha256=" + hmac.new(
            secret.encode(), got.body, hashlib.sha256).hexdigest()
    payload = second.json()
    assert [i["label"] for g in payload["rules"] for i in g["items"]] == ["it-alerts"]
    assert "wrong-key" not in second.body.decode() and secret not in log
    state = manage(env, "shell", "--no-imports", "-c", "from numbersadmin.alerts.models import Notification as N; "
                   "print(*N.objects.values_list('state', 'attempts').get())").stdout.strip().splitlines()[-1].split()
    assert state == ["sent", "2"]

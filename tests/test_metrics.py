"""Prometheus /metrics: protected, computed from the database (so every process agrees)."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from numbersadmin.inventory.models import PhoneNumber
from numbersadmin.inventory.services import tokens

from .support.helpers import sync

pytestmark = pytest.mark.django_db


def _samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_need_an_allowed_address_or_a_token(settings, ops_user):
    settings.METRICS_ALLOWED_IPS = ["10.1.2.3"]
    assert Client(REMOTE_ADDR="10.9.9.9").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="10.9.9.9", HTTP_AUTHORIZATION="Bearer na_wrong").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    secret = tokens.create_token(ops_user, "prometheus")[1]
    ok = Client(REMOTE_ADDR="10.9.9.9", HTTP_AUTHORIZATION=f"Bearer {secret}").get("/metrics")
    assert ok.status_code == 200 and ok["Content-Type"].startswith("text/plain")
    settings.BEHIND_PROXY, settings.PROXY_COUNT = True, 1  # a client-written X-Forwarded-For is not trusted
    spoofed = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.1.2.3, 10.9.9.9").get("/metrics")
    assert spoofed.status_code == 401


def test_metrics_report_health_numbers_runs_and_exports(settings, didww_account, didww_sim, ops_client):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert sync(didww_account).state == "succeeded"
    didww_sim.faults.fail(500, page=1, path="/dids")
    assert sync(didww_account).state == "failed"
    ops_client.get("/numbers/?export=csv")
    samples = _samples(Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode())
    account = (("account", didww_account.name), ("provider", "didww"))
    live = PhoneNumber.objects.filter(removed_at=None)
    for status in set(live.values_list("status", flat=True)):
        assert samples[("numbersadmin_numbers", tuple(sorted((*account, ("status", status)))))] == \
            live.filter(status=status).count()
    last = tuple(sorted((*account, ("state", "failed"), ("error_class", "unavailable"))))
    assert samples[("numbersadmin_account_last_run_state", last)] == 1
    assert samples[("numbersadmin_sync_runs_total", last)] == 1
    ok = tuple(sorted((*account, ("state", "succeeded"), ("error_class", ""))))
    assert samples[("numbersadmin_sync_runs_total", ok)] == 1
    assert 0 <= samples[("numbersadmin_account_last_success_age_seconds", account)] < 60
    assert samples[("numbersadmin_account_last_run_duration_seconds", account)] >= 0
    assert samples[("numbersadmin_exports_total", (("format", "csv"),))] == 1
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert "sim-key-0123456789" not in body  # no secrets, no provider account identifiers

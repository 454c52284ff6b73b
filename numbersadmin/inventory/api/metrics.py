"""Prometheus ``/metrics``: computed from the database at scrape time, so any number of gunicorn
workers and the Celery worker need no shared multiprocess directory and always agree. Open to
METRICS_ALLOWED_IPS, or to a request with a valid API token."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .. import scopes, selectors
from ..choices import SyncState
from ..clients import client_address
from .auth import TokenAuthentication


class InventoryCollector:
    def collect(self):
        snap = selectors.metrics_snapshot()
        now = timezone.now()
        names = {a["pk"]: (a["name"], a["provider"]) for a in snap["accounts"]}
        labels = ["account", "provider"]
        age = GaugeMetricFamily("numbersadmin_account_last_success_age_seconds",
                                "Seconds since the account's last successful sync (absent: never)", labels=labels)
        enabled = GaugeMetricFamily("numbersadmin_account_enabled", "1 if the account syncs on schedule", labels=labels)
        for a in snap["accounts"]:
            enabled.add_metric([a["name"], a["provider"]], 1 if a["enabled"] else 0)
            if a["last_success_at"]:
                age.add_metric([a["name"], a["provider"]], (now - a["last_success_at"]).total_seconds())
        state = GaugeMetricFamily("numbersadmin_account_last_run_state",
                                  "1 for the state (and error class) of the account's latest finished run",
                                  labels=[*labels, "state", "error_class"])
        duration = GaugeMetricFamily("numbersadmin_account_last_run_duration_seconds",
                                     "Duration of the account's latest finished run", labels=labels)
        for account_id, run in snap["latest"].items():
            if account_id not in names:
                continue
            state.add_metric([*names[account_id], run["state"], run["error_class"]], 1)
            if run["started_at"]:
                duration.add_metric(list(names[account_id]), (run["finished_at"] - run["started_at"]).total_seconds())
        numbers = GaugeMetricFamily("numbersadmin_numbers", "Live numbers by status", labels=[*labels, "status"])
        for row in snap["numbers"]:
            numbers.add_metric([*names[row["account_id"]], row["status"]], row["n"])
        missing = GaugeMetricFamily("numbersadmin_numbers_missing",
                                    "Live numbers absent from the last listing (not removed)", labels=labels)
        for account_id, n in snap["missing"].items():
            missing.add_metric(list(names[account_id]), n)
        runs = CounterMetricFamily("numbersadmin_sync_runs", "Sync runs recorded, by state and error class",
                                   labels=[*labels, "state", "error_class"])
        for row in snap["runs"]:
            if row["state"] not in (SyncState.QUEUED, SyncState.RUNNING):
                runs.add_metric([*names[row["account_id"]], row["state"], row["error_class"]], row["n"])
        exports = CounterMetricFamily("numbersadmin_exports", "Exports by format (web, CLI and API)",
                                      labels=["format"])
        for row in snap["exports"]:
            exports.add_metric([str(row["detail__format"] or "unknown")], row["n"])
        yield from (age, enabled, state, duration, numbers, missing, runs, exports)


_registry = CollectorRegistry(auto_describe=False)
_registry.register(InventoryCollector())


def _scraper(request):
    """(allowed, token user or None). A scrape with a token sees what the token's user sees
    (scopes.py), wherever it comes from; one from METRICS_ALLOWED_IPS without a token sees every account."""
    try:
        found = TokenAuthentication().authenticate(Request(request))
    except AuthenticationFailed:
        found = None
    if found is not None:
        return True, found[0]
    return client_address(request) in settings.METRICS_ALLOWED_IPS, None


@login_not_required
def metrics(request):
    allowed, user = _scraper(request)
    if not allowed:
        response = JsonResponse({"detail": "Send an API token, or scrape from METRICS_ALLOWED_IPS."}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    with scopes.acting_for(user) if user is not None else scopes.unscoped():
        body = generate_latest(_registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)

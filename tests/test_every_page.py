"""Every routed page renders for an admin after a sync (catches a missing template or a view
that only breaks when nobody opens it)."""

from __future__ import annotations

import pytest
from numbersadmin.inventory.urls import urlpatterns as inventory_urls
from numbersadmin.reconcile.urls import urlpatterns as reconcile_urls

from numbersadmin.inventory.models import (ExportJob, Location, NumberGroup, Owner, PhoneNumber, SavedView, SyncRun,
                                           Trunk, TrunkGroup)

from numbersadmin.inventory.services import tokens

from .support.helpers import sync

pytestmark = pytest.mark.django_db

# Pages that do not answer a plain GET with 200, and what they answer instead (every other routed
# page must render): (status, start of the redirect target).
EXPECTED = {
    "login": (302, "/"),  # already logged in
    "number_bulk_edit": (400, None),  # nothing ticked: a message, not an edit
    "choose_columns": (405, None),  # POST only
    "save_view": (405, None),  # POST only
    "saved_view": (302, "/numbers/?"),  # opens the list with the view's query
    "export_download": (302, "/exports/{export_job}/"),  # not built yet: back to the job page
    "api_token_revoke": (405, None),  # POST only
    "finding_acknowledge": (405, None),  # POST only
    "finding_ignore": (405, None),  # POST only
    "finding_reopen": (405, None),  # POST only
}
# Apps mounted under their own prefix: (prefix, their urlpatterns).
URLCONFS = (("", inventory_urls), ("reconcile/", reconcile_urls))


def test_every_page_renders(admin_client, admin_user, didww_account):
    assert sync(didww_account).state == "succeeded"
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="v", params="country=US")
    job = ExportJob.objects.create(requested_by=admin_user, list_name="numbers", params="country=US")
    pks = {
        "number_detail": PhoneNumber.objects.first().pk, "trunk_detail": Trunk.objects.first().pk,
        "trunk_group_detail": TrunkGroup.objects.first().pk, "group_detail": NumberGroup.objects.first().pk,
        "account_detail": didww_account.pk, "account_edit": didww_account.pk, "sync_run_detail": SyncRun.objects.first().pk,
        "saved_view": view.pk, "export_job": job.pk, "export_download": job.pk,
        "location_detail": Location.objects.first().pk,
    }
    pks["api_token_revoke"] = tokens.create_token(admin_user, "page check")[0].pk
    owner = Owner.objects.first()
    if owner:
        pks["owner_detail"] = owner.pk
    from numbersadmin.reconcile.models import Finding

    finding = Finding.objects.first()  # the sync's hook found DIDWW DIDs without a trunk
    for name in ("finding_detail", "finding_acknowledge", "finding_ignore", "finding_reopen"):
        pks[name] = finding.pk
    checked = 0
    for prefix, sub in ((prefix, sub) for prefix, patterns in URLCONFS for sub in patterns):
        name, route = sub.name, str(sub.pattern)
        if name in ("logout",) or ("<int:pk>" in route and name not in pks):
            continue
        url = "/" + prefix + (route.replace("<int:pk>", str(pks.get(name, 0))).replace("<slug:provider>", "didww")
                     .replace("<slug:list_name>", "numbers"))
        response = admin_client.get(url)
        expected, location = EXPECTED.get(name, (200, None))
        assert response.status_code == expected, (name, url, response.status_code)
        if location is not None:
            assert response["Location"].startswith(location.format(**pks)), (name, response["Location"])
        checked += 1
    assert checked >= 30


# The alerts app's pages (issue 15): POST-only actions answer 405 to a GET.
ALERTS_EXPECTED = {
    "alert_item_acknowledge": 405, "alert_item_snooze": 405, "alert_item_reopen": 405, "alert_notification_retry": 405,
}


def test_every_alerts_page_renders(admin_client):
    from numbersadmin.alerts.models import AlertItem, AlertRule, Channel, Notification
    from numbersadmin.alerts.urls import urlpatterns as alert_urls

    channel = Channel.objects.create(kind="email", address="ops@example.com")
    rule = AlertRule.objects.create(kind="removals_held")
    rule.channels.set([channel])
    item = AlertItem.objects.create(rule=rule, key="run:1", label="DIDWW main: sync #1", fingerprint="x",
                                    detail={"text": "3 removals held for review"})
    notification = Notification.objects.create(channel=channel, subject="numbersadmin: 1 alert", body={})
    pks = {"rule": rule.pk, "item": item.pk, "notification": notification.pk}
    checked = 0
    for sub in alert_urls:
        name, route = sub.name, str(sub.pattern)
        kind = next((k for k in pks if name.startswith(f"alert_{k}")), None)
        url = "/alerts/" + route.replace("<int:pk>", str(pks.get(kind, 0)))
        response = admin_client.get(url)
        assert response.status_code == ALERTS_EXPECTED.get(name, 200), (name, url, response.status_code)
        checked += 1
    assert checked >= 10

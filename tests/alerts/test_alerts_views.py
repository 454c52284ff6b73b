"""Alert pages (issue 15): rules, items, notifications, personal settings and the dashboard's
"Needs attention" panel, for admins and ops."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from numbersadmin.alerts.models import (AlertItem, AlertRule, Channel, ChannelKind, DeliveryState, ItemState,
                                        Notification, NotificationItem, RuleKind)
from numbersadmin.alerts.services import manage
from numbersadmin.alerts.services.rules import evaluate_rule
from numbersadmin.inventory.models import AuditLog, CallerId, ProviderAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return ProviderAccount.objects.create(provider="voximplant", name="Vox main", base_url="https://example.invalid")


def caller_id(account, n: int, days: int) -> CallerId:
    return CallerId.objects.create(account=account, external_id=f"c{n}", number_raw=f"44201234{n:04d}",
                                   e164=f"+44201234{n:04d}", verified_until=timezone.localdate() + dt.timedelta(days=days))


@pytest.fixture
def rule(account):
    """caller_id_expiring within 14 days, evaluated: two open items (5 and 9 days), one not due (40)."""
    caller_id(account, 1, 5)
    caller_id(account, 2, 9)
    caller_id(account, 3, 40)
    channel, _ = manage.get_or_create_channel(ChannelKind.EMAIL, "ops@example.com")
    r = AlertRule.objects.create(kind=RuleKind.CALLER_ID_EXPIRING, days=14)
    r.channels.set([channel])
    evaluate_rule(r)
    assert r.items.filter(state=ItemState.OPEN).count() == 2
    return r


def items(rule):
    return list(rule.items.order_by("first_seen", "label", "id"))


def tomorrow_plus(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


# --- every page renders for both roles ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_client", "ops_client"])
def test_every_alert_page_renders_for_admin_and_ops(request, who, rule):
    client = request.getfixturevalue(who)
    item = items(rule)[0]
    n = Notification.objects.create(channel=rule.channels.first(), subject="numbersadmin: 2 alerts", body={})
    NotificationItem.objects.create(notification=n, item=item, channel=n.channel, generation=item.generation)
    for url in ("/alerts/", f"/alerts/rules/{rule.pk}/", f"/alerts/rules/{rule.pk}/?state=open",
                f"/alerts/items/{item.pk}/", "/alerts/notifications/", "/alerts/notifications/?state=failed",
                f"/alerts/notifications/{n.pk}/", "/alerts/settings/", "/"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.content.decode()
        assert "style=" not in body and "<script>" not in body, url  # CSP
    assert 'href="/alerts/"' in client.get("/").content.decode()  # the nav entry


def test_rules_page_shows_summary_recipients_and_open_count(admin_client, rule):
    body = admin_client.get("/alerts/").content.decode()
    assert "Caller ID verification ends within 14 days" in body
    assert "Email ops@example.com" in body  # str(channel)
    assert re.search(r'badge-attention">2<', body)
    assert 'id="add-rule"' in body


def test_rule_page_filters_items_by_state_and_links_its_table(admin_client, rule, admin_user):
    first, second = items(rule)
    manage.acknowledge(first, admin_user, "known")
    body = admin_client.get(f"/alerts/rules/{rule.pk}/?state=open").content.decode()
    assert second.label in body and f'data-item="{first.pk}"' not in body
    body = admin_client.get(f"/alerts/rules/{rule.pk}/?state=acknowledged").content.decode()
    assert f'data-item="{first.pk}"' in body and f'data-item="{second.pk}"' not in body
    assert "/caller-ids/?expires_within=14" in body
    assert "Email ops@example.com" in body


# --- rules: admins only add and remove ---------------------------------------------------------------


def test_ops_sees_rules_but_cannot_add_or_remove(ops_client, rule):
    body = ops_client.get("/alerts/").content.decode()
    assert 'id="add-rule"' not in body and "Remove…" not in body
    response = ops_client.post("/alerts/", {"kind": "caller_id_expiring", "days": 7, "emails": "x@example.com"})
    assert response.status_code == 403
    assert ops_client.get(f"/alerts/rules/{rule.pk}/remove/").status_code == 403
    assert ops_client.post(f"/alerts/rules/{rule.pk}/remove/").status_code == 403
    assert AlertRule.objects.count() == 1


def test_admin_adds_a_rule_with_email(admin_client):
    response = admin_client.post("/alerts/", {"kind": "number_renewing", "days": 30, "emails": "Billing@Example.com"})
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert rule.days == 30 and [str(c) for c in rule.channels.all()] == ["Email billing@example.com"]
    assert AuditLog.objects.filter(action="alert_rule_add").count() == 1


@pytest.mark.parametrize("data, field, message", [
    ({"kind": "caller_id_expiring", "days": 14, "emails": "not-an-email"}, "emails", "is not a valid email address"),
    ({"kind": "caller_id_expiring", "days": 14, "webhooks": "https://evil.example.net/hook"}, "webhooks",
     "is not in WEBHOOK_ALLOWED_HOSTS"),
    ({"kind": "caller_id_expiring", "days": 999, "emails": "a@example.com"}, "days", "less than or equal to 365"),
    ({"kind": "caller_id_expiring", "days": 0, "emails": "a@example.com"}, "days", "greater than or equal to 1"),
    ({"kind": "caller_id_expiring", "emails": "a@example.com"}, "days", "Give the number of days"),
    ({"kind": "caller_id_expiring", "days": 14}, None, "Give at least one recipient"),
])
def test_bad_rule_input_shows_form_errors_and_creates_nothing(admin_client, data, field, message):
    response = admin_client.post("/alerts/", data)
    assert response.status_code == 200
    body = response.content.decode().replace("&#x27;", "'")
    assert message in body
    if field:
        assert re.search(rf'id="id_{field}".*?field-error[^>]*>[^<]*{re.escape(message)}', body, re.S)
    assert AlertRule.objects.count() == 0 and Channel.objects.count() == 0


def test_new_webhook_secret_is_shown_once(admin_client, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    response = admin_client.post("/alerts/", {"kind": "sync_failing", "threshold": 2,
                                              "webhooks": "https://hooks.example.com/numbers"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(r'class="secret webhook-secret">(whsec_[^<]+)<', response.content.decode()).group(1)
    channel = Channel.objects.get(kind=ChannelKind.WEBHOOK)
    assert channel.get_secrets() == {"secret": secret}
    for url in ("/alerts/", f"/alerts/rules/{AlertRule.objects.get().pk}/", "/alerts/notifications/"):
        assert secret not in admin_client.get(url).content.decode()
    assert secret not in str(list(AuditLog.objects.values_list("detail", flat=True)))


def test_slack_url_is_never_shown(admin_client, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.slack.example"]
    url = "https://hooks.slack.example/services/T000/B000/sekrit-path"
    assert admin_client.post("/alerts/", {"kind": "removals_held", "slack": url}).status_code == 302
    for page in ("/alerts/", f"/alerts/rules/{AlertRule.objects.get().pk}/"):
        body = admin_client.get(page).content.decode()
        assert "sekrit-path" not in body and "hooks.slack.example" in body


def test_admin_removes_a_rule_after_confirming(admin_client, rule):
    page = admin_client.get(f"/alerts/rules/{rule.pk}/remove/")
    assert page.status_code == 200 and "Remove the rule" in page.content.decode()
    assert AlertRule.objects.filter(pk=rule.pk).exists()  # a GET removes nothing
    response = admin_client.post(f"/alerts/rules/{rule.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/alerts/"
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
    assert AuditLog.objects.filter(action="alert_rule_remove").count() == 1


# --- items: anyone signed in acknowledges, snoozes, reopens ------------------------------------------


def test_ops_acknowledges_an_item_with_a_reason(ops_client, ops_user, rule):
    item = items(rule)[0]
    response = ops_client.post(f"/alerts/items/{item.pk}/acknowledge/", {"reason": "renewal booked"})
    assert response.status_code == 302 and response["Location"] == f"/alerts/items/{item.pk}/"
    item.refresh_from_db()
    assert (item.state, item.reason, item.acted_by) == (ItemState.ACKNOWLEDGED, "renewal booked", ops_user)
    log = AuditLog.objects.get(action="alert_acknowledge")
    assert log.user == ops_user and log.detail["reason"] == "renewal booked"
    body = ops_client.get(f"/alerts/items/{item.pk}/").content.decode()
    assert "renewal booked" in body and "bob" in body and "Reopen" in body


def test_snooze_then_reopen(ops_client, ops_user, rule):
    item = items(rule)[0]
    until = tomorrow_plus(7)
    response = ops_client.post(f"/alerts/items/{item.pk}/snooze/", {"until": until, "reason": "carrier ticket"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == ItemState.SNOOZED and item.reason == "carrier ticket"
    assert timezone.localtime(item.snoozed_until).date().isoformat() == until
    assert AuditLog.objects.get(action="alert_snooze").detail["reason"] == "carrier ticket"
    response = ops_client.post(f"/alerts/items/{item.pk}/reopen/")
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == ItemState.OPEN and item.snoozed_until is None
    assert AuditLog.objects.filter(action="alert_reopen", user=ops_user).count() == 1


@pytest.mark.parametrize("data, message", [
    ({"until": "", "reason": "x"}, "This field is required."),
    ({"until": timezone.now().date().isoformat(), "reason": "x"}, "Choose a day after today."),
    ({"until": "2999-01-01", "reason": "x"}, "at most a year"),
    ({"until": "nonsense", "reason": "x"}, "Enter a valid date."),
])
def test_bad_snooze_shows_errors_on_the_item_page(ops_client, rule, data, message):
    item = items(rule)[0]
    if data["until"] == timezone.now().date().isoformat():
        data = {**data, "until": timezone.localdate().isoformat()}
    response = ops_client.post(f"/alerts/items/{item.pk}/snooze/", data)
    assert response.status_code == 200 and message in response.content.decode()
    item.refresh_from_db()
    assert item.state == ItemState.OPEN and not AuditLog.objects.filter(action="alert_snooze").exists()


def test_item_actions_need_post_and_an_existing_item(ops_client, rule):
    item = items(rule)[0]
    assert ops_client.get(f"/alerts/items/{item.pk}/acknowledge/").status_code == 405
    assert ops_client.post("/alerts/items/999999/acknowledge/").status_code == 404


def test_next_only_returns_to_our_own_pages(ops_client, rule):
    first, second = items(rule)
    response = ops_client.post(f"/alerts/items/{first.pk}/acknowledge/", {"next": "/"})
    assert response["Location"] == "/"
    response = ops_client.post(f"/alerts/items/{second.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/alerts/items/{second.pk}/"


# --- the dashboard panel -----------------------------------------------------------------------------


def panel(body: str) -> str:
    match = re.search(r'<section class="card attention.*?</section>', body, re.S)
    assert match, "no Needs attention panel"
    return match.group(0)


def test_panel_empty_state(ops_client):
    assert "Nothing needs attention." in panel(ops_client.get("/").content.decode())


def test_panel_lists_open_items_grouped_by_rule_and_hides_acknowledged_and_snoozed(ops_client, ops_user, rule):
    first, second = items(rule)
    html = panel(ops_client.get("/").content.decode())
    assert first.label in html and second.label in html
    assert 'data-count="2"' in html and "/caller-ids/?expires_within=14" in html  # count + the table behind it
    assert f'href="{first.url}"' in html.replace("&amp;", "&")  # each item links to its object
    manage.acknowledge(first, ops_user)
    manage.snooze(second, ops_user, timezone.localdate() + dt.timedelta(days=3), "later")
    html = panel(ops_client.get("/").content.decode())
    assert first.label not in html and second.label not in html
    assert "Nothing needs attention." in html


def test_panel_acknowledge_with_htmx_returns_the_panel(ops_client, rule):
    first, second = items(rule)
    response = ops_client.post(f"/alerts/items/{first.pk}/acknowledge/", {"panel": "1", "next": "/"},
                               headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section class="card attention') and "<html" not in body
    assert f'data-item="{first.pk}"' not in body and f'data-item="{second.pk}"' in body
    assert "Acknowledged" in body
    first.refresh_from_db()
    assert first.state == ItemState.ACKNOWLEDGED


def test_panel_snooze_with_htmx_and_a_bad_date_shows_the_error_in_the_panel(ops_client, rule):
    first, _ = items(rule)
    response = ops_client.post(f"/alerts/items/{first.pk}/snooze/",
                               {"panel": "1", "next": "/", "until": timezone.localdate().isoformat(), "reason": "x"},
                               headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Choose a day after today." in response.content.decode()
    first.refresh_from_db()
    assert first.state == ItemState.OPEN
    response = ops_client.post(f"/alerts/items/{first.pk}/snooze/",
                               {"panel": "1", "next": "/", "until": tomorrow_plus(2), "reason": "waiting"},
                               headers={"HX-Request": "true"})
    assert f'data-item="{first.pk}"' not in response.content.decode()
    first.refresh_from_db()
    assert first.state == ItemState.SNOOZED


def test_panel_without_js_redirects_back_to_the_dashboard(ops_client, rule):
    first, _ = items(rule)
    response = ops_client.post(f"/alerts/items/{first.pk}/snooze/",
                               {"panel": "1", "next": "/", "until": tomorrow_plus(2), "reason": "waiting"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_panel_ignores_disabled_rules(ops_client, rule):
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert "Nothing needs attention." in panel(ops_client.get("/").content.decode())


# --- notifications -----------------------------------------------------------------------------------


def failed_notification(rule) -> Notification:
    item = items(rule)[0]
    n = Notification.objects.create(channel=rule.channels.first(), subject="numbersadmin: 1 alert",
                                    body={"type": "digest", "total": 1, "rules": []}, state=DeliveryState.FAILED,
                                    attempts=5, last_error="email not accepted: SMTPServerDisconnected")
    NotificationItem.objects.create(notification=n, item=item, channel=n.channel, generation=item.generation)
    return n


def test_notifications_list_filters_by_state(ops_client, rule):
    n = failed_notification(rule)
    Notification.objects.create(channel=n.channel, subject="an old one", body={}, state=DeliveryState.SENT)
    body = ops_client.get("/alerts/notifications/?state=failed").content.decode()
    assert "numbersadmin: 1 alert" in body and "an old one" not in body
    assert "SMTPServerDisconnected" in body and "Email ops@example.com" in body
    body = ops_client.get("/alerts/notifications/").content.decode()
    assert "an old one" in body


def test_notification_detail_lists_its_items_and_only_admins_retry(ops_client, rule):
    n = failed_notification(rule)
    body = ops_client.get(f"/alerts/notifications/{n.pk}/").content.decode()
    assert items(rule)[0].label in body and "Retry now" not in body
    assert ops_client.post(f"/alerts/notifications/{n.pk}/retry/").status_code == 403


def test_admin_retries_a_failed_notification(admin_client, rule, mailoutbox):
    n = failed_notification(rule)
    assert "Retry now" in admin_client.get(f"/alerts/notifications/{n.pk}/").content.decode()
    response = admin_client.post(f"/alerts/notifications/{n.pk}/retry/")
    assert response.status_code == 302
    n.refresh_from_db()
    assert n.state == DeliveryState.SENT and n.attempts == 1
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ops@example.com"]
    assert AuditLog.objects.filter(action="alert_notification_retry").count() == 1


# --- personal settings -------------------------------------------------------------------------------


def test_settings_add_my_email_subscribe_to_rules_and_change_digest(ops_client, ops_user, rule):
    ops_user.email = "bob@example.com"
    ops_user.save()
    page = ops_client.get("/alerts/settings/").content.decode()
    assert 'value="bob@example.com"' in page  # the default address
    response = ops_client.post("/alerts/settings/", {"action": "add", "kind": "email", "address": "bob@example.com",
                                                      "digest_hour": "8", "time_zone": "Europe/Berlin", "enabled": "on"})
    assert response.status_code == 302
    channel = Channel.objects.get(owner=ops_user)
    assert (channel.address, channel.digest_hour, channel.time_zone, channel.enabled) == (
        "bob@example.com", 8, "Europe/Berlin", True)
    prefix = f"ch{channel.pk}"
    response = ops_client.post("/alerts/settings/", {"action": "update", "channel": channel.pk,
                                                      f"{prefix}-digest_hour": "", f"{prefix}-time_zone": "UTC",
                                                      f"{prefix}-rules": [rule.pk]})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.digest_hour is None and channel.enabled is False and list(channel.rules.all()) == [rule]
    log = AuditLog.objects.get(action="alert_channel_update")
    assert log.user == ops_user and log.detail["rules_added"] == [rule.pk]
    ops_client.post("/alerts/settings/", {"action": "update", "channel": channel.pk, f"{prefix}-digest_hour": "",
                                          f"{prefix}-time_zone": "UTC", f"{prefix}-enabled": "on"})
    channel.refresh_from_db()
    assert channel.enabled and not channel.rules.exists()
    assert AuditLog.objects.filter(action="alert_channel_add").count() == 1


@pytest.mark.parametrize("data, message", [
    ({"kind": "email", "address": "nope", "time_zone": "UTC"}, "is not a valid email address"),
    ({"kind": "webhook", "address": "https://evil.example.net/x", "time_zone": "UTC"}, "is not in WEBHOOK_ALLOWED_HOSTS"),
    ({"kind": "email", "address": "a@example.com", "time_zone": "Mars/Olympus"}, "Select a valid choice"),
    ({"kind": "email", "address": "a@example.com", "time_zone": "UTC", "digest_hour": "24"}, "Select a valid choice"),
])
def test_settings_bad_input_shows_errors(ops_client, data, message):
    response = ops_client.post("/alerts/settings/", {"action": "add", **data})
    assert response.status_code == 200 and message in response.content.decode().replace("&#x27;", "'")
    assert not Channel.objects.exists()


def test_settings_webhook_secret_shown_once_and_channels_are_private(ops_client, ops_user, admin_user, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    response = ops_client.post("/alerts/settings/", {"action": "add", "kind": "webhook", "time_zone": "UTC",
                                                      "address": "https://hooks.example.com/bob", "enabled": "on"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = re.search(r'class="secret webhook-secret">(whsec_[^<]+)<', response.content.decode()).group(1)
    channel = Channel.objects.get(owner=ops_user)
    assert channel.get_secrets()["secret"] == secret
    assert secret not in ops_client.get("/alerts/settings/").content.decode()
    # Someone else's channel cannot be changed through this page.
    other = Channel.objects.create(kind="email", address="alice@example.com", owner=admin_user)
    response = ops_client.post("/alerts/settings/", {"action": "update", "channel": other.pk,
                                                      f"ch{other.pk}-time_zone": "UTC"})
    assert response.status_code == 404


def test_settings_refuse_an_address_that_is_already_someone_elses_channel(ops_client, rule):
    response = ops_client.post("/alerts/settings/", {"action": "add", "kind": "email", "address": "ops@example.com",
                                                      "time_zone": "UTC", "enabled": "on"})
    assert response.status_code == 200 and "already an alert channel" in response.content.decode()
    assert Channel.objects.get(address="ops@example.com").owner is None


def test_settings_adopt_my_own_address_used_by_a_rule(ops_client, ops_user, rule):
    ops_user.email = "ops@example.com"
    ops_user.save()
    response = ops_client.post("/alerts/settings/", {"action": "add", "kind": "email", "address": "ops@example.com",
                                                      "time_zone": "UTC", "enabled": "on"})
    assert response.status_code == 302
    channel = Channel.objects.get(address="ops@example.com")
    assert channel.owner == ops_user and list(channel.rules.all()) == [rule]


def test_a_closed_item_cannot_be_acknowledged_or_snoozed(ops_client, rule):
    item = items(rule)[0]
    AlertItem.objects.filter(pk=item.pk).update(state=ItemState.CLOSED, closed_at=timezone.now())
    for action, data in (("acknowledge", {}), ("snooze", {"until": tomorrow_plus(3), "reason": "x"}), ("reopen", {})):
        response = ops_client.post(f"/alerts/items/{item.pk}/{action}/", data)
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.state == ItemState.CLOSED
    assert not AuditLog.objects.filter(action__startswith="alert_").exists()


def test_settings_update_with_a_bad_channel_id_is_a_404(ops_client):
    assert ops_client.post("/alerts/settings/", {"action": "update", "channel": "abc"}).status_code == 404
    assert ops_client.post("/alerts/settings/", {"action": "nonsense"}).status_code == 302

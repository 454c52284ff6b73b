"""Alert rules against real data: simulators over HTTP, syncs, a real SMTP server and a real
webhook receiver on loopback. Each rule kind opens an item from data that should trigger it and
closes it when the cause goes away."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from numbersadmin.alerts.models import AlertItem, ItemState, Notification, NotificationItem, RuleKind
from numbersadmin.alerts.services import manage
from numbersadmin.inventory.models import PhoneNumber, SavedView, SyncRun, Tag
from numbersadmin.inventory.services.accounts import account_create
from providers.simulators.didww import NOW as DIDWW_NOW
from providers.simulators.registry import demo_secrets, simulator

from ..support.helpers import sync
from .helpers import add_rule, digest_lines, later, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def vox():
    sim = simulator("voximplant", numbers=4, seed=5)
    sim.caller_ids.clear()
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def vox_account(vox):
    return account_create(provider="voximplant", name="Vox alerts", base_url=vox.base_url,
                          secrets=demo_secrets("voximplant"))


def test_caller_id_expiring_is_one_entry_then_snoozed_then_closed_by_a_sync(vox, vox_account, smtp_server):
    today = timezone.localdate()
    expiring = vox.add_caller_id("+442071838750", verified_until=today + dt.timedelta(days=5))
    vox.add_caller_id("+4930901820", verified_until=today + dt.timedelta(days=200))  # far: no alert
    assert sync(vox_account).state == "succeeded"
    rule, _ = add_rule(kind="caller_id_expiring", days=14, emails=["ops@example.com"])

    run()
    run()  # nothing new: nothing sent again
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["To"] == "ops@example.com"
    lines = digest_lines(message)
    assert lines == [f"- +442071838750: verification ends in 5 days ({(today + dt.timedelta(days=5)).isoformat()}), Vox alerts"]
    assert "http://numbers.test/alerts/items/" in message.get_body(preferencelist=("plain",)).get_content()

    item = AlertItem.objects.get(rule=rule)
    manage.snooze(item, "test", today + dt.timedelta(days=2), "renewal ordered")
    run()
    run(later(days=1))
    assert len(smtp_server.messages) == 1  # snoozed: nothing
    run(later(days=2, hours=1))  # the snooze ended: announced again, once
    run(later(days=2, hours=2))
    assert len(smtp_server.messages) == 2
    assert len(digest_lines(smtp_server.messages[1])) == 1

    # Re-verified at the provider: the next sync brings the new date, and the item closes.
    expiring["verified_until"] = (today + dt.timedelta(days=300)).isoformat()
    assert sync(vox_account).state == "succeeded"
    run(later(days=2, hours=3))
    item.refresh_from_db()
    assert item.state == ItemState.CLOSED and item.closed_at is not None
    assert len(smtp_server.messages) == 2


def test_snooze_ends_early_when_the_item_changes(vox, vox_account, receiver):
    today = timezone.localdate()
    cid = vox.add_caller_id("+442071838750", verified_until=today + dt.timedelta(days=5))
    sync(vox_account)
    rule, _ = add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    run()
    item = AlertItem.objects.get(rule=rule)
    manage.snooze(item, "test", today + dt.timedelta(days=30), "later")
    cid["verified_until"] = (today + dt.timedelta(days=3)).isoformat()  # different: worth telling
    sync(vox_account)
    run()
    assert len(receiver.requests) == 2
    item.refresh_from_db()
    assert item.state == ItemState.OPEN and item.generation == 2


def test_acknowledged_items_leave_digests_until_they_change(vox, vox_account, receiver):
    today = timezone.localdate()
    vox.add_caller_id("+442071838750", verified_until=today + dt.timedelta(days=5))
    sync(vox_account)
    rule, _ = add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    item_ids = list(AlertItem.objects.values_list("pk", flat=True))
    assert item_ids == []
    run()
    manage.acknowledge(AlertItem.objects.get(rule=rule), "test", "known")
    run(later(days=1))
    assert len(receiver.requests) == 1
    assert AlertItem.objects.get(rule=rule).state == ItemState.ACKNOWLEDGED


def test_one_digest_per_recipient_grouped_by_rule(vox, vox_account, smtp_server):
    today = timezone.localdate()
    vox.add_caller_id("+442071838750", verified_until=today + dt.timedelta(days=5))
    vox.add_caller_id("+4930901820", verified_until=today - dt.timedelta(days=2))
    sync(vox_account)
    add_rule(kind="caller_id_expiring", days=14, emails=["ops@example.com", "lead@example.com"])
    add_rule(kind="number_renewing", days=365, emails=["ops@example.com"])
    run()
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert sorted(by_recipient) == ["lead@example.com", "ops@example.com"]
    ops_body = by_recipient["ops@example.com"].get_body(preferencelist=("plain",)).get_content()
    assert ops_body.count("== ") == 2  # two rules, one message
    live = PhoneNumber.objects.filter(removed_at__isnull=True, expires_at__isnull=False).count()
    assert live > 0
    assert len(digest_lines(by_recipient["ops@example.com"])) == 2 + live
    lead_lines = digest_lines(by_recipient["lead@example.com"])
    assert sorted(lead_lines)[0].startswith("- +442071838750") and "ended 2 days ago" in sorted(lead_lines)[1]


def test_digest_hour_in_the_channels_time_zone(vox, vox_account, receiver):
    vox.add_caller_id("+442071838750", verified_until=timezone.localdate() + dt.timedelta(days=5))
    sync(vox_account)
    rule, _ = add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    channel = rule.channels.get()
    channel.digest_hour, channel.time_zone = 9, "Asia/Tokyo"
    channel.save()
    base = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=9))).replace(hour=7, minute=0) + dt.timedelta(days=1)
    run(base)  # 07:00 in Tokyo: not yet
    assert receiver.requests == []
    run(base + dt.timedelta(hours=2, minutes=5))  # 09:05 Tokyo
    assert len(receiver.requests) == 1


def test_view_with_more_than_zero_rows_fires_once_when_the_first_row_appears(didww_account, admin_user, receiver):
    assert sync(didww_account).state == "succeeded"
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="Porting out", params="tag=porting")
    add_rule(kind="view_rows", view=view.pk, threshold=0, webhooks=[receiver.url])
    run()
    assert receiver.requests == []
    tag = Tag.objects.create(name="porting")
    numbers = list(PhoneNumber.objects.order_by("pk")[:2])
    tag.numbers.add(numbers[0])
    run()
    assert len(receiver.requests) == 1
    payload = receiver.requests[0].json()
    assert [i["label"] for g in payload["rules"] for i in g["items"]] == ["Porting out"]
    assert payload["rules"][0]["items"][0]["text"] == "1 row (more than 0)"
    tag.numbers.add(numbers[1])  # still above: the same alert, not a new one
    run()
    assert len(receiver.requests) == 1
    tag.numbers.clear()
    run()
    assert AlertItem.objects.get().state == ItemState.CLOSED
    tag.numbers.add(numbers[1])
    run()
    assert len(receiver.requests) == 2  # above again: a new announcement


def test_view_changes_sends_the_diff(didww_account, admin_user, receiver):
    sync(didww_account)
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="VIP", params="tag=vip")
    add_rule(kind="view_changes", view=view.pk, webhooks=[receiver.url])
    tag = Tag.objects.create(name="vip")
    a, b, c = PhoneNumber.objects.order_by("pk")[:3]
    tag.numbers.add(a, b)
    run()  # first look: remembered, nothing to compare with
    assert receiver.requests == []
    tag.numbers.remove(a)
    tag.numbers.add(c)
    run()
    assert len(receiver.requests) == 1
    item = receiver.requests[0].json()["rules"][0]["items"][0]
    assert item["text"] == "+1 row, −1 row"
    assert item["changes"]["added"] == [str(c)] and item["changes"]["removed"] == [str(a)]
    run()
    assert len(receiver.requests) == 1  # no change, no message


def test_sync_failing_n_times_in_a_row_opens_and_a_good_sync_closes(didww_sim, didww_account, receiver):
    rule, _ = add_rule(kind="sync_failing", threshold=2, webhooks=[receiver.url])
    didww_account.set_secrets({"api_key": "wrong-key-0000000000"})
    didww_account.save()
    assert sync(didww_account).state == "failed"
    run()
    assert not AlertItem.objects.filter(rule=rule).exists()  # once is not "2 in a row"
    assert sync(didww_account).state == "failed"
    run()
    item = AlertItem.objects.get(rule=rule)
    assert item.state == ItemState.OPEN and item.label == "DIDWW main"
    assert "failed" in item.detail["text"]
    assert len(receiver.requests) == 1
    body = receiver.requests[0].body.decode()
    assert "wrong-key" not in body and "sim-key" not in body
    didww_account.set_secrets({"api_key": "sim-key-0123456789"})
    didww_account.save()
    assert sync(didww_account).state == "succeeded"
    run()
    item.refresh_from_db()
    assert item.state == ItemState.CLOSED


def test_number_renewing_within_days_links_to_the_number(didww_account, receiver):
    sync(didww_account)
    rule, _ = add_rule(kind="number_renewing", days=3, webhooks=[receiver.url])
    now = DIDWW_NOW  # the simulator's renewals are 1-31 days after its fixed "today"
    run(now)
    expected = set(PhoneNumber.objects.filter(removed_at__isnull=True, expires_at__gte=now,
                                              expires_at__lte=now + dt.timedelta(days=3)).values_list("pk", flat=True))
    assert expected
    items = AlertItem.objects.filter(rule=rule)
    assert {int(i.key.split(":")[1]) for i in items} == expected
    assert all(i.url == f"/numbers/{i.key.split(':')[1]}/" for i in items)
    payload = receiver.requests[0].json()
    assert payload["rules"][0]["table_url"] == "http://numbers.test/numbers/?expires_within=3"


def test_removals_held_and_numbers_missing(didww_account, receiver):
    sync(didww_account)
    add_rule(kind="removals_held", webhooks=[receiver.url])
    missing_rule, _ = add_rule(kind="numbers_missing", webhooks=[receiver.url])
    run()
    assert receiver.requests == []
    run_ = SyncRun.objects.create(account=didww_account, state="needs_review", held_removals=7)
    PhoneNumber.objects.filter(pk__in=PhoneNumber.objects.order_by("pk").values("pk")[:3]).update(
        missing_since=timezone.now())
    run()
    texts = sorted(i["text"] for g in receiver.requests[0].json()["rules"] for i in g["items"])
    assert texts[0] == "3 numbers missing from the provider's listing since " + texts[0].split("since ")[1]
    assert texts[1] == "7 removals held for review"
    run_.state = "succeeded"
    run_.save()
    PhoneNumber.objects.update(missing_since=None)
    run()
    assert AlertItem.objects.filter(state=ItemState.OPEN).count() == 0


def test_a_broken_rule_does_not_stop_the_others(vox, vox_account, receiver, monkeypatch):
    from numbersadmin.alerts.services import rules

    vox.add_caller_id("+442071838750", verified_until=timezone.localdate() + dt.timedelta(days=5))
    sync(vox_account)
    add_rule(kind="caller_id_no_attempts", webhooks=[receiver.url])
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])

    def boom(rule, now):
        raise RuntimeError("bug")

    monkeypatch.setitem(rules.FINDERS, RuleKind.CALLER_ID_NO_ATTEMPTS, boom)
    summary = run()
    assert summary.errors == [f"rule {summary.errors[0].split()[1].rstrip(':')}: RuntimeError"]
    assert len(receiver.requests) == 1
    assert NotificationItem.objects.count() == 1 and Notification.objects.get().state == "sent"


def test_the_embedded_scheduler_runs_alerts_on_their_interval(vox, vox_account, receiver, settings):
    """No Celery: the demo's in-process scheduler runs the same alert run beat would."""
    from numbersadmin.alerts import runner as alerts_runner
    from numbersadmin.inventory.runner import PERIODIC_JOBS, Scheduler

    assert (settings.ALERTS_RUN_EVERY, alerts_runner.run) in PERIODIC_JOBS
    vox.add_caller_id("+442071838750", verified_until=timezone.localdate() + dt.timedelta(days=5))
    sync(vox_account)
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    scheduler = Scheduler(every=60)
    scheduler.run_periodic(now=1000.0)
    assert len(receiver.requests) == 1
    AlertItem.objects.update(generation=2)  # something new to say...
    scheduler.run_periodic(now=1000.0 + 60)  # ...but the alert interval (300 s) has not passed
    assert len(receiver.requests) == 1
    scheduler.run_periodic(now=1000.0 + settings.ALERTS_RUN_EVERY)
    assert len(receiver.requests) == 2


def test_numbers_that_will_not_renew_with_their_cost(didww_sim, didww_account, receiver, client, admin_user):
    """DIDWW's own "expiring": billing_cycles_count = 0. The item closes when the DID is set to renew."""
    did = next(d for d in didww_sim.dids if d["billing_cycles_count"] is None and not d["terminated"])
    didww_sim.update_did(did["id"], billing_cycles_count=0)
    sync(didww_account)
    rule, _ = add_rule(kind="number_not_renewing", webhooks=[receiver.url])
    run(DIDWW_NOW)
    expected = set(PhoneNumber.objects.filter(will_renew=False, removed_at__isnull=True).values_list("pk", flat=True))
    items = AlertItem.objects.filter(rule=rule, state=ItemState.OPEN)
    assert {int(i.key.split(":")[1]) for i in items} == expected
    target = PhoneNumber.objects.get(external_id=did["id"])
    assert target.pk in expected
    # The rule's table is the numbers list filtered the same way, and it shows exactly these rows.
    client.force_login(admin_user)
    group = receiver.requests[0].json()["rules"][0]
    assert group["table_url"] == "http://numbers.test/numbers/?renews=no"
    from django.http import QueryDict

    from numbersadmin.inventory.selectors import number_list

    assert set(number_list(QueryDict("renews=no")).qs.values_list("pk", flat=True)) == expected
    didww_sim.update_did(did["id"], billing_cycles_count=None)
    sync(didww_account)
    run(DIDWW_NOW)
    assert AlertItem.objects.get(rule=rule, key=f"number:{target.pk}").state == ItemState.CLOSED

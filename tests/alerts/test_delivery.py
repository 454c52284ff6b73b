"""Channels and delivery: signed webhooks checked by a real receiver, retries with back-off, a
receiver that is down or slow, Slack-compatible bodies, view reports by email with the file."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.utils import timezone

from numbersadmin.alerts import runner
from numbersadmin.alerts.models import AlertItem, Channel, DeliveryState, Notification
from numbersadmin.alerts.services import channels
from numbersadmin.inventory.models import AuditLog, CallerId, SavedView

from ..support.receivers import free_port
from .helpers import add_rule, later, run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def expiring(didww_account):
    """One caller ID whose verification ends in 5 days (the simplest thing to alert on)."""
    return CallerId.objects.create(account=didww_account, external_id="c1", number_raw="442071838750",
                                   e164="+442071838750", active=True,
                                   verified_until=timezone.localdate() + dt.timedelta(days=5))


def test_webhook_is_signed_with_the_endpoint_secret(expiring, receiver):
    rule, secrets = add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    secret = secrets[receiver.url]
    run()
    (got,) = receiver.requests
    expected = "sha256=" + hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Numbersadmin-Signature"] == expected
    assert abs(int(got.headers["X-Numbersadmin-Timestamp"]) - timezone.now().timestamp()) < 300
    payload = got.json()
    assert payload["type"] == "digest" and payload["total"] == 1
    assert payload["rules"][0]["items"][0]["label"] == "+442071838750"
    assert secret not in got.body.decode()
    # The secret is stored encrypted, not as text anywhere in the row.
    channel = Channel.objects.get(kind="webhook")
    assert secret not in channel.secret_encrypted and channel.get_secrets() == {"secret": secret}
    assert secret not in json.dumps(list(AuditLog.objects.values("detail")))


def test_a_wrong_secret_does_not_verify(expiring, receiver):
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    run()
    (got,) = receiver.requests
    forged = "sha256=" + hmac.new(b"someone-else", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Numbersadmin-Signature"] != forged


def test_a_receiver_answering_500_gets_retries_then_failed(expiring, receiver):
    receiver.status = 500
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    run()
    n = Notification.objects.get()
    assert (n.state, n.attempts, n.last_error) == (DeliveryState.RETRYING, 1, "the receiver answered HTTP 500")
    first_wait = n.next_attempt_at - n.last_attempt_at
    run()  # back-off not over: nothing sent
    assert len(receiver.requests) == 1
    run(n.next_attempt_at + dt.timedelta(seconds=1))
    n.refresh_from_db()
    assert (n.state, n.attempts) == (DeliveryState.RETRYING, 2)
    assert n.next_attempt_at - n.last_attempt_at == 2 * first_wait  # doubling back-off
    run(n.next_attempt_at + dt.timedelta(seconds=1))
    n.refresh_from_db()
    assert (n.state, n.attempts) == (DeliveryState.FAILED, 3) and len(receiver.requests) == 3
    run(later(days=1))
    assert len(receiver.requests) == 3  # failed is final (until someone retries it)
    assert Notification.objects.count() == 1  # and the item is not announced twice
    channels.retry_now(n)
    receiver.status = 200
    run(later(days=1))
    n.refresh_from_db()
    assert n.state == DeliveryState.SENT and len(receiver.requests) == 4


def test_a_receiver_that_is_down_is_retried_never_a_crash(expiring, settings):
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    add_rule(kind="caller_id_expiring", days=14, webhooks=[url])
    summary = run()
    assert summary.errors == []
    n = Notification.objects.get()
    assert n.state == DeliveryState.RETRYING and n.last_error.startswith("could not connect")
    assert url not in n.last_error


def test_a_slow_receiver_does_not_hold_up_the_others(expiring, receiver, second_receiver, settings):
    settings.ALERT_HTTP_TIMEOUT = 1.0
    receiver.delay = 3.0  # answers after the timeout
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url, second_receiver.url])
    run()
    slow, fast = receiver.requests[0], second_receiver.requests[0]
    # The fast receiver got its digest while the slow one was still holding its request.
    assert fast.at < slow.at + settings.ALERT_HTTP_TIMEOUT
    by_channel = {n.channel.address: n for n in Notification.objects.select_related("channel")}
    assert by_channel[second_receiver.url].state == DeliveryState.SENT
    assert by_channel[receiver.url].state == DeliveryState.RETRYING
    assert by_channel[receiver.url].last_error == "no answer within 1 s"


def test_slack_format_and_the_url_stays_secret(expiring, receiver):
    slack_url = receiver.url + "/T000/B000/XXXXXXXXXXXXXXXX"
    add_rule(kind="caller_id_expiring", days=14, slack=[slack_url])
    run()
    (got,) = receiver.requests
    assert got.path.endswith("/T000/B000/XXXXXXXXXXXXXXXX")
    payload = got.json()
    assert payload["text"].startswith("numbersadmin: 1 alert")
    section = payload["blocks"][1]["text"]
    assert section["type"] == "mrkdwn" and "+442071838750" in section["text"] and "ack/snooze" in section["text"]
    channel = Channel.objects.get(kind="slack")
    assert "XXXXXXXX" not in channel.address and channel.address.endswith("/…")
    assert "XXXXXXXX" not in str(channel) and "XXXXXXXX" not in channel.secret_encrypted


def test_the_allowlist_is_checked_again_before_sending(expiring, receiver, settings):
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.example.com"]
    run()
    assert receiver.requests == []
    assert Notification.objects.get().last_error == "the target host is no longer in WEBHOOK_ALLOWED_HOSTS"


def test_email_that_the_server_refuses_is_retried(expiring, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
    add_rule(kind="caller_id_expiring", days=14, emails=["ops@example.com"])
    run()
    n = Notification.objects.get()
    assert n.state == DeliveryState.RETRYING and n.last_error.startswith("email not accepted")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_daily_view_report_by_email_with_its_manifest(didww_account, admin_user, smtp_server, fmt):
    from ..support.helpers import sync

    sync(didww_account)
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="US numbers",
                                    params="country=US&cols=e164,country,status")
    add_rule(kind="view_report", view=view.pk, cadence="daily", report_format=fmt, emails=["ops@example.com"])
    run()
    run()  # once a day
    (message,) = smtp_server.messages
    (attachment,) = list(message.iter_attachments())
    content = attachment.get_content()
    from numbersadmin.inventory.models import PhoneNumber

    us = PhoneNumber.objects.filter(country="US", removed_at__isnull=True).count()
    assert us > 0
    if fmt == "csv":
        text = content if isinstance(content, str) else content.decode()
        assert "# list: Numbers" in text or text.startswith("# ")
        rows = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert rows[0].startswith("e164,country,status") and len(rows) == us + 1
    else:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        assert "manifest" in [s.lower() for s in book.sheetnames]
        data = [r for r in book[book.sheetnames[0]].iter_rows(values_only=True)]
        assert list(data[0])[:3] == ["Number", "Country", "Status"] and len(data) == us + 1
    run(later(days=1, hours=1))
    assert len(smtp_server.messages) == 2  # the next day's report


def test_cli_rule_add_list_remove_and_run(expiring, receiver, capsys):
    call_command("alerts", "rule", "add", "--kind", "caller_id_expiring", "--days", "14", "--webhook", receiver.url,
                 "--email", "ops@example.com")
    out = capsys.readouterr().out
    assert out.startswith("Added rule ") and f"Signing secret for {receiver.url}: whsec_" in out
    rule_id = int(out.split()[2].rstrip(":"))
    call_command("alerts", "rule", "list")
    listed = capsys.readouterr().out
    assert f"{rule_id}\tcaller_id_expiring\tCaller ID verification ends within 14 days" in listed
    call_command("alerts", "run")
    assert "1 items opened" in capsys.readouterr().out
    assert len(receiver.requests) == 1
    call_command("alerts", "rule", "remove", str(rule_id))
    assert AlertItem.objects.count() == 0
    assert list(AuditLog.objects.filter(action__startswith="alert").order_by("pk").values_list("action", flat=True)) == [
        "alert_rule_add", "alert_rule_remove"]


@pytest.mark.parametrize("args, message", [
    (["--kind", "caller_id_expiring", "--days", "0", "--email", "a@example.com"], "--days: Ensure this value is greater than or equal to 1."),
    (["--kind", "caller_id_expiring", "--days", "5", "--email", "not-an-address"], "--email: 'not-an-address' is not a valid email address."),
    (["--kind", "sync_failing", "--webhook", "http://169.254.169.254/latest"], "--webhook: Host '169.254.169.254' is not in WEBHOOK_ALLOWED_HOSTS"),
    (["--kind", "sync_failing", "--threshold", "0", "--email", "a@example.com"], "--threshold: A sync must fail at least once"),
    (["--kind", "view_rows", "--email", "a@example.com"], "--view: Choose a saved view"),
    (["--kind", "view_rows", "--view", "999", "--email", "a@example.com"], "--view: Select a valid choice."),
    (["--kind", "caller_id_expiring", "--days", "5"], "rule: Give at least one recipient"),
    (["--kind", "caller_id_expiring", "--days", "5", "--webhook", "http://user:pw@127.0.0.1/x"], "must not contain credentials"),
])
def test_cli_refuses_bad_input_and_writes_nothing(db, args, message):
    from django.core.management.base import CommandError

    from numbersadmin.alerts.models import AlertRule

    with pytest.raises(CommandError) as exc:
        call_command("alerts", "rule", "add", *args)
    assert message in str(exc.value)
    assert AlertRule.objects.count() == 0 and Channel.objects.count() == 0


def test_cli_remove_unknown_rule(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No alert rule with id 42"):
        call_command("alerts", "rule", "remove", "42")


def test_hand_over_outside_a_transaction_delivers_in_parallel_threads(expiring, receiver, settings):
    assert runner.INLINE_CONCURRENCY > 1
    add_rule(kind="caller_id_expiring", days=14, webhooks=[receiver.url])
    run()
    assert Notification.objects.get().state == DeliveryState.SENT


def test_email_url_from_the_environment_reaches_a_real_smtp_server(tmp_path, smtp_server):
    """The operator's path: EMAIL_URL=smtp://127.0.0.1:PORT, a rule from the CLI, ``alerts run``, in
    a fresh process (so django-environ parses the URL, nothing is patched)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from django.conf import settings as dj

    port = dj.MAILERS["default"]["OPTIONS"]["port"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "DATABASE_URL", "REDIS_URL"))}
    env.update({"NUMBERSADMIN_VAR_DIR": str(tmp_path), "EMAIL_URL": f"smtp://127.0.0.1:{port}",
                "ALERTS_FROM_EMAIL": "alerts@example.com", "DJANGO_SETTINGS_MODULE": "numbersadmin.settings"})
    root = Path(__file__).resolve().parents[2]

    def manage(*args):
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    manage("migrate", "-v0")
    manage("add_account", "didww", "Never synced", "--secret", "api_key=abcdefghij0123456789")
    manage("alerts", "rule", "add", "--kind", "sync_stale", "--email", "ops@example.com")
    assert "1 notifications queued" in manage("alerts", "run")
    (message,) = smtp_server.messages
    assert message["From"] == "alerts@example.com" and message["To"] == "ops@example.com"
    assert "Never synced: no good sync in twice its interval (never synced)" in message.get_body(
        preferencelist=("plain",)).get_content()
    assert "abcdefghij" not in message.as_string()


def test_view_report_to_a_webhook_sends_the_row_count_and_the_link(didww_account, admin_user, receiver):
    from numbersadmin.inventory.models import PhoneNumber

    from ..support.helpers import sync

    sync(didww_account)
    view = SavedView.objects.create(owner=admin_user, list_name="numbers", name="US numbers", params="country=US")
    add_rule(kind="view_report", view=view.pk, webhooks=[receiver.url])
    run()
    payload = receiver.requests[0].json()
    assert payload["type"] == "report" and payload["view"] == "US numbers"
    assert payload["rows"] == PhoneNumber.objects.filter(country="US", removed_at__isnull=True).count() > 0
    assert payload["table_url"] == f"http://numbers.test/views/{view.pk}/"

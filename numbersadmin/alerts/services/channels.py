"""Delivery: render a notification for its channel and send it, once per attempt. A failure
schedules a retry with doubling back-off up to ALERT_DELIVERY_ATTEMPTS, then the notification is
"failed"; nothing here raises to the caller, so one bad receiver never stops the others.

Webhooks: POST of the JSON body with
  X-Numbersadmin-Timestamp: unix seconds (also ``sent_at`` inside the signed body),
  X-Numbersadmin-Signature: sha256=<hex HMAC-SHA256 of the raw body with the endpoint's secret>.
Redirects are not followed and the host is checked against WEBHOOK_ALLOWED_HOSTS again before
each attempt. Error texts keep the class and HTTP status only: never a URL (Slack URLs are secret)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import time

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from numbersadmin.inventory import crypto, lists, scopes
from numbersadmin.inventory.services import exports

from ..models import Channel, ChannelKind, DeliveryState, Notification
from ..validators import validate_webhook_url

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Numbersadmin-Signature"
TIMESTAMP_HEADER = "X-Numbersadmin-Timestamp"


class DeliveryError(Exception):
    """A failed attempt, with a message safe to store and show (no URL, no secret)."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# --- rendering ------------------------------------------------------------------------------------


def email_text(n: Notification) -> str:
    body = n.body
    if body.get("type") == "report":
        return (f"{body['title']}\n\nThe attached file holds the rows of the saved view “{body['view']}” "
                f"as of {body['generated_at'][:16].replace('T', ' ')} UTC, with its manifest.\n\nOpen the view: {body['table_url']}\n")
    lines = [f"{body['total']} item{'s' if body['total'] != 1 else ''} need attention.", ""]
    for group in body["rules"]:
        lines += [f"== {group['title']} ({len(group['items'])}) ==", f"All of them: {group['table_url']}"]
        for item in group["items"]:
            lines.append(f"- {item['label']}: {item['text']}")
            changes = item.get("changes") or {}
            for sign_, key in (("+", "added"), ("−", "removed")):
                for label in changes.get(key) or []:
                    lines.append(f"    {sign_} {label}")
            lines.append(f"  {item['url']}")
            lines.append(f"  Acknowledge or snooze: {item['manage_url']}")
        lines.append("")
    lines.append("You get this because a numbersadmin alert rule lists this address. Each item is sent once, "
                 "and again only when it changes or its snooze ends.")
    return "\n".join(lines)


def webhook_payload(n: Notification) -> dict:
    return {"id": n.pk, "sent_at": timezone.now().isoformat(), "subject": n.subject, **n.body}


def slack_payload(n: Notification) -> dict:
    body = n.body
    if body.get("type") == "report":
        text = f"*{body['title']}*: <{body['table_url']}|open the view> ({body.get('rows', '?')} rows)"
        return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": n.subject[:150]}}]
    for group in body["rules"]:
        lines = [f"*<{group['table_url']}|{_mrkdwn(group['title'])}>* ({len(group['items'])})"]
        for item in group["items"][:20]:
            lines.append(f"• <{item['url']}|{_mrkdwn(item['label'])}> {_mrkdwn(item['text'])} (<{item['manage_url']}|ack/snooze>)")
        if len(group["items"]) > 20:
            lines.append(f"… and {len(group['items']) - 20} more")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}})
    return {"text": n.subject, "blocks": blocks[:50]}


def _mrkdwn(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _report_plan(n: Notification):
    """The saved view's export plan (the list's own filters, sort and columns)."""
    rule = n.report_rule
    if rule is None or rule.view is None:
        raise DeliveryError("the rule or its saved view was deleted")
    spec = lists.get_spec(rule.view.list_name)
    params = QueryDict(rule.view.params)
    notices: list[str] = []
    visible = lists.parse_columns(spec, params.getlist("cols"), notices)
    # The rows its recipient may see (inventory.scopes): the channel's owner, else the rule's
    # creator; a system channel of a system rule reads everything.
    reader = n.channel.owner if n.channel.owner_id else rule.created_by if rule.created_by_id else None
    with scopes.acting_for(reader) if reader is not None else scopes.unscoped():
        plan = lists.export_plan(spec, params, visible=visible, columns_mode="view", selected=None, notices=notices)
    if notices:
        raise DeliveryError("the saved view no longer applies: " + " ".join(notices)[:200])
    return plan


def report_file(n: Notification) -> tuple[str, bytes, str, int]:
    """(file name, content, MIME type, rows) of a view report, through the list's export plan."""
    plan = _report_plan(n)
    rule = n.report_rule
    rows = plan.qs.count()
    manifest = plan.manifest(f"alert rule {rule.pk}", rows)
    base = lists.export_file_name(plan.spec, rule.view)
    if (rule.report_format or "csv") == "xlsx":
        buffer = io.BytesIO()
        exports.write_xlsx(buffer, plan.qs, plan.fields, manifest)
        return f"{base}.xlsx", buffer.getvalue(), lists.XLSX_TYPE, rows
    text = io.StringIO()
    exports.write_csv(text, exports.csv_rows(plan.qs, plan.fields, manifest))
    return f"{base}.csv", text.getvalue().encode("utf-8"), "text/csv", rows


def _count_report_rows(n: Notification) -> None:
    """Webhooks and Slack get a view report's row count and link, not the file: count, don't build it."""
    if n.body.get("type") == "report":
        n.body = {**n.body, "rows": _report_plan(n).qs.count()}


# --- sending -------------------------------------------------------------------------------------


def _send_email(channel: Channel, n: Notification) -> None:
    message = EmailMessage(n.subject, "", settings.DEFAULT_FROM_EMAIL, [channel.address])
    if n.body.get("type") == "report":
        name, content, mime, rows = report_file(n)
        n.body = {**n.body, "rows": rows}
        message.attach(name, content, mime)
    message.body = email_text(n)
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # smtplib, socket and timeout errors alike
        raise DeliveryError(f"email not accepted: {type(exc).__name__}") from None


def _post(url: str, body: bytes, headers: dict) -> None:
    try:
        validate_webhook_url(url)
    except ValidationError:
        raise DeliveryError("the target host is no longer in WEBHOOK_ALLOWED_HOSTS") from None
    try:
        with httpx.Client(timeout=settings.ALERT_HTTP_TIMEOUT, follow_redirects=False) as client:
            response = client.post(url, content=body, headers={"Content-Type": "application/json", **headers})
    except httpx.TimeoutException:
        raise DeliveryError(f"no answer within {settings.ALERT_HTTP_TIMEOUT:g} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"could not connect ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the receiver answered HTTP {response.status_code}")


def _secrets(channel: Channel) -> dict:
    try:
        return channel.get_secrets()
    except crypto.SecretsUnavailable:
        raise DeliveryError("the channel's secret cannot be decrypted with FIELD_ENCRYPTION_KEYS") from None


def _send_webhook(channel: Channel, n: Notification) -> None:
    _count_report_rows(n)
    body = json.dumps(webhook_payload(n), separators=(",", ":"), ensure_ascii=False).encode()
    secret = _secrets(channel).get("secret", "")
    _post(channel.address, body, {SIGNATURE_HEADER: sign(secret, body), TIMESTAMP_HEADER: str(int(time.time())),
                                  "User-Agent": "numbersadmin-alerts"})


def _send_slack(channel: Channel, n: Notification) -> None:
    _count_report_rows(n)
    url = _secrets(channel).get("url", "")
    _post(url, json.dumps(slack_payload(n), ensure_ascii=False).encode(), {"User-Agent": "numbersadmin-alerts"})


SENDERS = {ChannelKind.EMAIL: _send_email, ChannelKind.WEBHOOK: _send_webhook, ChannelKind.SLACK: _send_slack}


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.ALERT_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


def claim(notification_id: int, now: dt.datetime) -> Notification | None:
    """Take a due notification for one attempt (compare-and-set: two workers never both send)."""
    with transaction.atomic():
        n = (Notification.objects.select_for_update(of=("self",)).select_related("channel", "report_rule", "report_rule__view")
             .filter(pk=notification_id, state__in=[DeliveryState.PENDING, DeliveryState.RETRYING]).first())
        if n is None or (n.next_attempt_at and n.next_attempt_at > now):
            return None
        n.state, n.attempts, n.last_attempt_at = DeliveryState.SENDING, n.attempts + 1, now
        n.save(update_fields=["state", "attempts", "last_attempt_at"])
    return n


def deliver(notification_id: int, now=None) -> str | None:
    """One attempt. Returns the new state (None when it was not due or not ours to send)."""
    now = now or timezone.now()
    n = claim(notification_id, now)
    if n is None:
        return None
    try:
        SENDERS[n.channel.kind](n.channel, n)
    except DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a bug must not leave it "sending" forever
        logger.exception("delivery of notification %s failed", n.pk)
        error = f"internal error ({type(exc).__name__})"
    else:
        n.state, n.sent_at, n.last_error, n.next_attempt_at = DeliveryState.SENT, now, "", None
        n.save(update_fields=["state", "sent_at", "last_error", "next_attempt_at", "body"])
        return n.state
    n.last_error = error[:500]
    if n.attempts >= settings.ALERT_DELIVERY_ATTEMPTS:
        n.state, n.next_attempt_at = DeliveryState.FAILED, None
        logger.warning("notification %s failed after %s attempts: %s", n.pk, n.attempts, error)
    else:
        n.state, n.next_attempt_at = DeliveryState.RETRYING, now + backoff(n.attempts)
    n.save(update_fields=["state", "last_error", "next_attempt_at"])
    return n.state


def retry_now(n: Notification) -> None:
    """A person asked to try a failed notification again (the notifications page)."""
    Notification.objects.filter(pk=n.pk, state=DeliveryState.FAILED).update(
        state=DeliveryState.RETRYING, next_attempt_at=None, attempts=0)


def due_notifications(now=None) -> list[int]:
    """Pending ones, and retries whose back-off has passed (what the beat run hands over again)."""
    now = now or timezone.now()
    return list(Notification.objects.filter(Q(state=DeliveryState.PENDING) | Q(
        state=DeliveryState.RETRYING, next_attempt_at__lte=now) | Q(state=DeliveryState.RETRYING, next_attempt_at=None))
        .order_by("created_at", "id").values_list("pk", flat=True))


def reap_stuck(now=None, after: dt.timedelta = dt.timedelta(minutes=15)) -> int:
    """A worker that died mid-send leaves "sending": count it as a failed attempt and retry."""
    now = now or timezone.now()
    return Notification.objects.filter(state=DeliveryState.SENDING, last_attempt_at__lt=now - after).update(
        state=DeliveryState.RETRYING, next_attempt_at=now, last_error="the delivery was interrupted")

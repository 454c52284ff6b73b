"""One digest per recipient per run: every due channel gets one notification holding the items
it has not been told about yet (this generation), grouped by rule. View reports are their own
notification, on their cadence. ``run_alerts`` is what beat (and ``manage.py alerts run``) calls."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import (AlertItem, AlertRule, Cadence, Channel, ItemState, Notification, NotificationItem, RuleKind)
from ..selectors import item_scope_q
from .rules import describe, evaluate_rule, table_url

logger = logging.getLogger(__name__)


def _zone(channel: Channel):
    try:
        return zoneinfo.ZoneInfo(channel.time_zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _local(channel: Channel, now: dt.datetime) -> dt.datetime:
    return now.astimezone(_zone(channel))


def digest_due(channel: Channel, now: dt.datetime) -> bool:
    """No digest hour: every run. Otherwise once a day, on the first run at or after that hour
    in the channel's time zone."""
    if channel.digest_hour is None:
        return True
    local = _local(channel, now)
    if local.hour < channel.digest_hour:
        return False
    return channel.last_digest_at is None or _local(channel, channel.last_digest_at).date() < local.date()


def absolute(url: str) -> str:
    return url if not url or url.startswith(("http://", "https://")) else settings.SITE_URL + url


def due_items(channel: Channel):
    """Open items of the channel's enabled rules it has not been sent in their current generation."""
    told = NotificationItem.objects.filter(channel=channel, item=OuterRef("pk"), generation=OuterRef("generation"))
    # A person's channel gets only the items its owner may see (inventory.scopes); a channel
    # without an owner (made with the CLI) is a system channel and gets every item.
    seen = item_scope_q(user=channel.owner) if channel.owner_id else Q()
    return (AlertItem.objects.filter(seen, rule__channels=channel, rule__enabled=True, state=ItemState.OPEN)
            .exclude(Exists(told)).select_related("rule", "rule__view").order_by("rule_id", "first_seen", "label", "id"))


def digest_body(items: list[AlertItem], now: dt.datetime) -> dict:
    """The digest as data (JSON-safe): channels render it as an email, a webhook body or Slack blocks."""
    rules: dict[int, dict] = {}
    for item in items:
        group = rules.get(item.rule_id)
        if group is None:
            group = rules[item.rule_id] = {"rule": item.rule_id, "kind": item.rule.kind, "title": describe(item.rule),
                                           "table_url": absolute(table_url(item.rule)), "items": []}
        group["items"].append({
            "id": item.pk, "label": item.label, "text": item.detail.get("text", ""),
            "url": absolute(item.url), "manage_url": absolute(item.get_absolute_url()),
            "first_seen": item.first_seen.isoformat(), "changes": item.detail.get("values") or None,
        })
    total = sum(len(g["items"]) for g in rules.values())
    return {"type": "digest", "generated_at": now.isoformat(), "total": total, "rules": list(rules.values())}


def digest_subject(body: dict) -> str:
    total = body["total"]
    parts = [f"{g['title']}: {len(g['items'])}" for g in body["rules"][:3]]
    more = f" and {len(body['rules']) - 3} more" if len(body["rules"]) > 3 else ""
    return f"numbersadmin: {total} alert{'s' if total != 1 else ''} ({'; '.join(parts)}{more})"[:300]


def build_digest(channel: Channel, now: dt.datetime) -> Notification | None:
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if not digest_due(locked, now):
            return None
        items = list(due_items(locked))
        if not items:
            return None
        body = digest_body(items, now)
        notification = Notification.objects.create(channel=locked, subject=digest_subject(body), body=body, created_at=now)
        NotificationItem.objects.bulk_create(
            [NotificationItem(notification=notification, item=i, channel=locked, generation=i.generation) for i in items])
        locked.last_digest_at = now
        locked.save(update_fields=["last_digest_at"])
    return notification


def report_due(rule: AlertRule, channel: Channel, now: dt.datetime) -> bool:
    local = _local(channel, now)
    if local.hour < (channel.digest_hour or 0):
        return False
    if rule.cadence == Cadence.WEEKLY and local.weekday() != 0:
        return False
    last = Notification.objects.filter(report_rule=rule, channel=channel).order_by("-created_at").values_list(
        "created_at", flat=True).first()
    return last is None or _local(channel, last).date() < local.date()


def build_report(rule: AlertRule, channel: Channel, now: dt.datetime) -> Notification | None:
    """A scheduled view report: the rows are read when it is delivered (services.channels), so a
    retry sends the same file and a late delivery is still "as of" its run."""
    with transaction.atomic():
        Channel.objects.select_for_update().get(pk=channel.pk)
        if not report_due(rule, channel, now):
            return None
        body = {"type": "report", "generated_at": now.isoformat(), "rule": rule.pk, "title": describe(rule),
                "view": rule.view.name if rule.view_id else "", "table_url": absolute(table_url(rule)),
                "format": rule.report_format or "csv", "rules": [], "total": 0}
        return Notification.objects.create(channel=channel, subject=f"numbersadmin report: {rule.view.name}"[:300],
                                           body=body, report_rule=rule, created_at=now)


@dataclass
class RunSummary:
    evaluated: int = 0
    opened: int = 0
    closed: int = 0
    notifications: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_alerts(now=None) -> RunSummary:
    """Evaluate every enabled rule, then build what is due for every enabled channel. A rule that
    fails to evaluate is logged and skipped; the others still run."""
    now = now or timezone.now()
    summary = RunSummary()
    for rule in AlertRule.objects.filter(enabled=True).select_related("view"):
        try:
            outcome = evaluate_rule(rule, now)
        except Exception as exc:  # one broken rule must not silence the others
            logger.exception("alert rule %s failed to evaluate", rule.pk)
            summary.errors.append(f"rule {rule.pk}: {type(exc).__name__}")
            continue
        summary.evaluated += 1
        summary.opened += outcome.opened + outcome.reopened + outcome.changed
        summary.closed += outcome.closed
    for channel in Channel.objects.filter(enabled=True, rules__enabled=True).distinct():
        notification = build_digest(channel, now)
        if notification is not None:
            summary.notifications.append(notification.pk)
    for rule in AlertRule.objects.filter(enabled=True, kind=RuleKind.VIEW_REPORT, view__isnull=False).select_related("view"):
        for channel in rule.channels.filter(enabled=True):
            notification = build_report(rule, channel, now)
            if notification is not None:
                summary.notifications.append(notification.pk)
    return summary

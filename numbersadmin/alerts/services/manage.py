"""Writes from people: rules and channels (web page and CLI), acknowledge and snooze. Every change
is audited (secrets never are)."""

from __future__ import annotations

import datetime as dt
import secrets as _secrets

from django.db import transaction
from django.utils import timezone

from numbersadmin.inventory import crypto
from numbersadmin.inventory.services.audit import audit

from ..models import AlertItem, AlertRule, Channel, ChannelKind, ItemState
from ..validators import display_url


def new_webhook_secret() -> str:
    return "whsec_" + _secrets.token_urlsafe(32)


def _slack_channel(url: str) -> Channel | None:
    for channel in Channel.objects.filter(kind=ChannelKind.SLACK):
        try:
            if channel.get_secrets().get("url") == url:
                return channel
        except crypto.SecretsUnavailable:
            continue
    return None


def get_or_create_channel(kind: str, address: str, owner=None) -> tuple[Channel, str | None]:
    """(channel, new webhook secret or None). A webhook's secret is made here and returned once:
    the caller shows it to the person who added it, and it is never shown again."""
    if kind == ChannelKind.SLACK:
        channel = _slack_channel(address)
        if channel is None:
            channel = Channel(kind=kind, address=display_url(address), owner=owner)
            channel.set_secrets({"url": address})
            channel.save()
        return channel, None
    channel = Channel.objects.filter(kind=kind, address=address).order_by("pk").first()
    if channel is not None:
        return channel, None
    channel = Channel(kind=kind, address=address, owner=owner)
    secret = None
    if kind == ChannelKind.WEBHOOK:
        secret = new_webhook_secret()
        channel.set_secrets({"secret": secret})
    channel.save()
    return channel, secret


def create_rule(data: dict, user=None, actor=None) -> tuple[AlertRule, dict[str, str]]:
    """From ``RuleForm.cleaned_data``. Returns the rule and {webhook URL: its new secret}."""
    new_secrets: dict[str, str] = {}
    with transaction.atomic():
        rule = AlertRule.objects.create(
            kind=data["kind"], name=data.get("name") or "", days=data.get("days"), threshold=data.get("threshold"),
            view=data.get("view"), cadence=data.get("cadence") or "", report_format=data.get("report_format") or "",
            created_by=user if getattr(user, "is_authenticated", False) else None)
        channels = list(data.get("channels") or [])
        for kind, address in data.get("recipients", []):
            channel, secret = get_or_create_channel(kind, address, owner=None)
            channels.append(channel)
            if secret:
                new_secrets[address] = secret
        rule.channels.set(channels)
        audit(actor or user, "alert_rule_add", f"alert rule {rule.pk}",
              {"kind": rule.kind, "summary": rule.summary, "channels": [str(c) for c in channels]})
    return rule, new_secrets


def remove_rule(rule: AlertRule, actor) -> None:
    with transaction.atomic():
        audit(actor, "alert_rule_remove", f"alert rule {rule.pk}", {"kind": rule.kind, "summary": rule.summary})
        rule.delete()


def _act(item: AlertItem, user, state: str, reason: str, until: dt.datetime | None, action: str) -> AlertItem:
    with transaction.atomic():
        item = AlertItem.objects.select_for_update().get(pk=item.pk)
        item.state, item.reason, item.snoozed_until = state, reason[:300], until
        item.acted_by = user if getattr(user, "is_authenticated", False) else None
        item.acted_at = timezone.now()
        if item.is_event and state == ItemState.ACKNOWLEDGED:
            item.state, item.closed_at = ItemState.CLOSED, item.acted_at  # a one-off: seen is done
        item.save()
        audit(user, action, f"alert item {item.pk}",
              {"rule": item.rule_id, "item": item.label, "reason": reason[:300],
               **({"until": until.isoformat()} if until else {})})
    return item


def acknowledge(item: AlertItem, user, reason: str = "") -> AlertItem:
    """Seen: off the panel and out of digests until the item changes."""
    return _act(item, user, ItemState.ACKNOWLEDGED, reason, None, "alert_acknowledge")


def snooze(item: AlertItem, user, until: dt.date | dt.datetime, reason: str) -> AlertItem:
    """Off the panel and out of digests until ``until`` (a day: its start, site time), or until it changes."""
    if isinstance(until, dt.date) and not isinstance(until, dt.datetime):
        until = timezone.make_aware(dt.datetime.combine(until, dt.time.min))
    return _act(item, user, ItemState.SNOOZED, reason, until, "alert_snooze")


def reopen(item: AlertItem, user) -> AlertItem:
    return _act(item, user, ItemState.OPEN, "", None, "alert_reopen")


# --- a person's own channels (the alert settings page) ---------------------------------------------
# Added for the web UI (alerts/views.py); everything is audited, secrets never are.


def _existing_channel(kind: str, address: str) -> Channel | None:
    if kind == ChannelKind.SLACK:
        return _slack_channel(address)
    return Channel.objects.filter(kind=kind, address__iexact=address).order_by("pk").first()


def add_user_channel(user, kind: str, address: str, *, digest_hour: int | None = None, time_zone: str = "UTC",
                     enabled: bool = True) -> tuple[Channel, str | None]:
    """A channel owned by ``user`` (address already validated). Returns (channel, new webhook secret
    or None: shown once). An address that is already a channel is not added twice (one digest per
    address): the user's own email address, if an admin set it up as a rule recipient, becomes
    theirs; any other existing address is refused (ValidationError)."""
    from django.core.exceptions import ValidationError

    with transaction.atomic():
        existing = _existing_channel(kind, address)
        if existing is not None:
            if existing.owner_id == user.pk:
                raise ValidationError("You already have this channel.")
            own_email = kind == ChannelKind.EMAIL and address.lower() == (user.email or "").lower()
            if existing.owner_id is None and own_email:
                existing.owner, existing.digest_hour, existing.time_zone, existing.enabled = user, digest_hour, time_zone, enabled
                existing.save(update_fields=["owner", "digest_hour", "time_zone", "enabled"])
                audit(user, "alert_channel_adopt", f"alert channel {existing.pk}",
                      {"channel": str(existing), "digest_hour": digest_hour, "time_zone": time_zone, "enabled": enabled})
                return existing, None
            raise ValidationError("This address is already an alert channel (set up by someone else); "
                                  "ask an admin to add it to the rules you want.")
        channel = Channel(kind=kind, address=display_url(address) if kind == ChannelKind.SLACK else address,
                          owner=user, digest_hour=digest_hour, time_zone=time_zone, enabled=enabled)
        secret = None
        if kind == ChannelKind.SLACK:
            channel.set_secrets({"url": address})
        elif kind == ChannelKind.WEBHOOK:
            secret = new_webhook_secret()
            channel.set_secrets({"secret": secret})
        channel.save()
        audit(user, "alert_channel_add", f"alert channel {channel.pk}",
              {"kind": kind, "channel": str(channel), "digest_hour": digest_hour, "time_zone": time_zone,
               "enabled": enabled})
    return channel, secret


def update_user_channel(channel: Channel, user, *, digest_hour: int | None, time_zone: str, enabled: bool,
                        rules=None) -> Channel:
    """Digest hour, time zone, on/off and (when ``rules`` is given) exactly which rules send to it."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        before = {"digest_hour": channel.digest_hour, "time_zone": channel.time_zone, "enabled": channel.enabled}
        channel.digest_hour, channel.time_zone, channel.enabled = digest_hour, time_zone, enabled
        channel.save(update_fields=["digest_hour", "time_zone", "enabled"])
        detail = {"channel": str(channel), "before": before,
                  "after": {"digest_hour": digest_hour, "time_zone": time_zone, "enabled": enabled}}
        if rules is not None:
            current = set(channel.rules.values_list("pk", flat=True))
            wanted = {r.pk for r in rules}
            added, removed = sorted(wanted - current), sorted(current - wanted)
            if added:
                channel.rules.add(*added)
            if removed:
                channel.rules.remove(*removed)
            detail.update({"rules_added": added, "rules_removed": removed})
        audit(user, "alert_channel_update", f"alert channel {channel.pk}", detail)
    return channel


def retry_notification(notification, user) -> None:
    """The notifications page's "Retry now": back in the queue, audited (delivery: runner.hand_over)."""
    from .channels import retry_now

    retry_now(notification)
    audit(user, "alert_notification_retry", f"notification {notification.pk}",
          {"subject": notification.subject[:200], "channel": str(notification.channel)})

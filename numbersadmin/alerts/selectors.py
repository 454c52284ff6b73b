"""Reads for the alert pages and the dashboard panel."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from .models import AlertItem, AlertRule, Channel, DeliveryState, ItemState, Notification
from .services.rules import table_url

PANEL_ITEMS_PER_RULE = 5


@dataclass
class PanelGroup:
    rule: AlertRule
    table_url: str
    count: int
    items: list = field(default_factory=list)


def open_items() -> QuerySet:
    return AlertItem.objects.filter(state=ItemState.OPEN, rule__enabled=True)


def needs_attention(per_rule: int = PANEL_ITEMS_PER_RULE) -> list[PanelGroup]:
    """Open items grouped by rule (the dashboard panel): a few per rule, the count, the table."""
    counts = dict(open_items().order_by().values("rule").annotate(n=Count("pk")).values_list("rule", "n"))
    groups = []
    for rule in AlertRule.objects.filter(pk__in=counts).select_related("view"):
        items = list(open_items().filter(rule=rule).order_by("first_seen", "label", "id")[:per_rule])
        groups.append(PanelGroup(rule, table_url(rule), counts[rule.pk], items))
    return sorted(groups, key=lambda g: (-g.count, g.rule.pk))


def rule_list() -> QuerySet:
    return AlertRule.objects.select_related("view", "created_by").prefetch_related("channels").annotate(
        open_count=Count("items", filter=Q(items__state=ItemState.OPEN)))


def item_list(rule: AlertRule | None = None, state: str | None = None) -> QuerySet:
    qs = AlertItem.objects.select_related("rule", "rule__view", "acted_by")
    if rule is not None:
        qs = qs.filter(rule=rule)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("rule_id", "state", "label", "id")


def notification_list(state: str | None = None) -> QuerySet:
    qs = Notification.objects.select_related("channel").annotate(item_count=Count("items"))
    return qs.filter(state=state) if state else qs


def failed_notifications_count() -> int:
    return Notification.objects.filter(state=DeliveryState.FAILED).count()


def user_channels(user) -> QuerySet:
    return Channel.objects.filter(owner=user)

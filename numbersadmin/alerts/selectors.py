"""Reads for the alert pages and the dashboard panel."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from numbersadmin.inventory import scopes

from .models import AlertItem, AlertRule, Channel, DeliveryState, ItemState, Notification
from .services.rules import table_url

PANEL_ITEMS_PER_RULE = 5


@dataclass
class PanelGroup:
    rule: AlertRule
    table_url: str
    count: int
    items: list = field(default_factory=list)


def item_scope_q(prefix: str = "", user=None) -> Q:
    """Items the viewer (or ``user``, a digest's recipient) may see (inventory.scopes): those about
    an account in their scope; items without an account (a saved view's rows, counted under the
    rule creator's scope) only for the rule's creator. Empty Q for users who see every account."""
    ids = scopes.visible_account_ids(user)
    if ids is None:
        return Q()
    user = user if user is not None else scopes.current_user()
    mine = Q(**{f"{prefix}account__isnull": True, f"{prefix}rule__created_by": user.pk}) if user is not None and user.pk else Q(pk__in=[])
    return Q(**{f"{prefix}account__in": sorted(ids)}) | mine


def visible_items(user=None) -> QuerySet:
    return AlertItem.objects.filter(item_scope_q(user=user))


def open_items() -> QuerySet:
    return visible_items().filter(state=ItemState.OPEN, rule__enabled=True)


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
        open_count=Count("items", filter=Q(items__state=ItemState.OPEN) & item_scope_q("items__")))


def item_list(rule: AlertRule | None = None, state: str | None = None) -> QuerySet:
    qs = visible_items().select_related("rule", "rule__view", "acted_by")
    if rule is not None:
        qs = qs.filter(rule=rule)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("rule_id", "state", "label", "id")


def notification_list(state: str | None = None) -> QuerySet:
    """Every notification for users who see every account; otherwise those sent to their own
    channels (a digest holds its recipient's items, which may be outside the viewer's scope)."""
    qs = Notification.objects.select_related("channel").annotate(item_count=Count("items"))
    if not scopes.current().unrestricted:
        user = scopes.current_user()
        qs = qs.filter(channel__owner_id=user.pk) if user is not None and user.pk else qs.none()
    return qs.filter(state=state) if state else qs


def failed_notifications_count() -> int:
    return notification_list().filter(state=DeliveryState.FAILED).count()


def user_channels(user) -> QuerySet:
    return Channel.objects.filter(owner=user)

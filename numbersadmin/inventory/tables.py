"""django-tables2 column definitions. Ordering and paging are done by the selector/keyset pager
(tables2's own ordering is off: it would sort with OFFSET paging), so ``sortable`` below lists
the columns whose headers become sort links."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from .models import PhoneNumber, Trunk, TrunkGroup
from .selectors import NUMBER_SORTS


class NumberTable(tables.Table):
    e164 = tables.TemplateColumn(template_name="inventory/cells/number.html", verbose_name="Number")
    provider = tables.Column(accessor="account__provider_name", verbose_name="Provider")
    account = tables.Column(linkify=False)
    country = tables.Column()
    region = tables.Column()
    city = tables.Column()
    kind = tables.Column(accessor="get_kind_display", verbose_name="Kind")
    status = tables.TemplateColumn(template_name="inventory/cells/status.html")
    trunk = tables.Column(linkify=True)
    trunk_group = tables.Column(linkify=True, verbose_name="Trunk group")
    description = tables.Column()
    freshness = tables.TemplateColumn(template_name="inventory/cells/freshness.html", verbose_name="Data")

    sortable = {name: name for name in NUMBER_SORTS}

    class Meta:
        model = PhoneNumber
        fields = ("e164", "provider", "account", "country", "region", "city", "kind", "status", "trunk",
                  "trunk_group", "description", "freshness")
        orderable = False
        attrs = {"class": "table", "id": "numbers-table"}
        empty_text = "No numbers match these filters."


class TrunkTable(tables.Table):
    name = tables.Column(linkify=True)
    account = tables.Column()
    kind = tables.Column()
    trunk_group = tables.Column(linkify=True, verbose_name="Trunk group")
    number_count = tables.Column(verbose_name="Numbers")
    removed = tables.Column(accessor="removed_at", verbose_name="Removed")

    sortable: dict[str, str] = {}

    class Meta:
        model = Trunk
        fields = ("name", "account", "kind", "trunk_group", "number_count", "removed")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "No trunks."


class TrunkGroupTable(tables.Table):
    name = tables.Column(linkify=True)
    account = tables.Column()
    capacity_limit = tables.Column(verbose_name="Capacity")
    trunk_count = tables.Column(verbose_name="Trunks")
    number_count = tables.Column(verbose_name="Numbers")

    sortable: dict[str, str] = {}

    class Meta:
        model = TrunkGroup
        fields = ("name", "account", "capacity_limit", "trunk_count", "number_count")
        orderable = False
        attrs = {"class": "table"}
        empty_text = "No trunk groups."


def status_badge(value: str, label: str):
    return format_html('<span class="badge badge-{}">{}</span>', value, label)

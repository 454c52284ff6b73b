"""django-tables2 column definitions. Ordering and paging are done by the selector/keyset pager
(tables2's own ordering is off: it would sort with OFFSET paging), so ``sortable`` below lists
the columns whose headers become sort links."""

from __future__ import annotations

import django_tables2 as tables
from django.utils import timezone
from django.utils.html import format_html

from .templatetags.inventory_tags import freshness

from .models import PhoneNumber, Trunk, TrunkGroup
from .selectors import NUMBER_SORTS


class NumberTable(tables.Table):
    # Cells render with format_html, not per-cell templates: 50 rows x 3 template columns cost
    # more than the page's SQL (measured in tests/perf/bench.py).
    e164 = tables.Column(verbose_name="Number", empty_values=())
    provider = tables.Column(accessor="account__provider_name", verbose_name="Provider")
    account = tables.Column(linkify=False)
    country = tables.Column()
    region = tables.Column()
    city = tables.Column()
    kind = tables.Column(accessor="get_kind_display", verbose_name="Kind")
    status = tables.Column()
    trunk = tables.Column(linkify=True)
    trunk_group = tables.Column(linkify=True, verbose_name="Trunk group")
    description = tables.Column()
    freshness = tables.Column(accessor="account", verbose_name="Data", empty_values=())

    sortable = {name: name for name in NUMBER_SORTS}

    class Meta:
        model = PhoneNumber
        fields = ("e164", "provider", "account", "country", "region", "city", "kind", "status", "trunk",
                  "trunk_group", "description", "freshness")
        orderable = False
        attrs = {"class": "table", "id": "numbers-table"}
        empty_text = "No numbers match these filters."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._fresh: dict[int, str] = {}  # one freshness label per account, not per row
        self._now = timezone.now()

    def render_e164(self, record):
        link = format_html('<a href="{}" class="num">{}</a>', record.get_absolute_url(), record.e164 or record.number_raw)
        if record.is_valid:
            return link
        return format_html('{} <span class="badge badge-invalid" title="phonenumbers could not parse this value; '
                           'kept as the provider sent it">unparsed</span>', link)

    def render_status(self, record):
        return format_html('<span class="badge badge-{}" title="provider status: {}">{}</span>', record.status,
                           record.raw_status or "—", record.get_status_display())

    def render_freshness(self, record):
        if record.account_id not in self._fresh:
            self._fresh[record.account_id] = freshness(record.account, self._now)
        return self._fresh[record.account_id]


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

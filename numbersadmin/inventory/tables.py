"""The lists' columns: one definition per column serves the screen, the column chooser, the
CSV/XLSX exports and the API (name, header, renderer, exported fields, sortable, default
visibility, related data to load).

Each exported ``Field`` has a machine name (CSV, API) and a people's header (XLSX): a column with
one field lends it its on-screen header; a column with several fields (status, cost, owner...)
names each one. A field also says how people read it in XLSX: ``kind`` ("int", "money", "date",
"datetime"; "text" otherwise, identifiers included) and ``labels`` for code values (a Choices
class, pairs or a function). ``check_columns`` holds the definitions to the model's field types.

Cells are rendered with ``format_html``. django-tables2 was the first choice, but its per-cell
machinery (accessor resolution, argument introspection, a template per cell) cost ~25 ms per
50-row page against ~3 ms here, which made our page 1 slower than the Django admin changelist it
is benchmarked against (tests/perf/bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from providers import registry
from providers.plivo.mapping import POOL_GROUP_TYPE

from . import selectors
from .choices import NumberKind, NumberStatus, VerificationState
from .models import (CallerId, Location, NumberGroup, Owner, PhoneNumber, PoolMembership, Trunk, TrunkGroup,
                     owner_type_label, pk_url)
from .countries import country_name
from .pagination import SortKey
from .services.exports import Field
from .templatetags.inventory_tags import freshness
from .widgets import conditional_escape, format_html

DASH = mark_safe('<span class="muted">—</span>')


@dataclass(frozen=True)
class Column:
    """``name`` is the key in ``cols=`` and ``sort=``; ``fields`` are the values the column stands
    for in exports and the API, in order (one cell on screen may be several values, e.g. status,
    provider status and "missing since"). A column without ``render`` is data only: exported and
    served by the API, never on screen or in the chooser."""

    name: str
    header: str
    render: Callable[[object, "Table"], SafeString | str] | None
    fields: tuple[Field, ...]
    sortable: bool = False
    wrap: bool = False  # may wrap onto more lines; any other cell is one line, cut with an ellipsis
    default: bool = True  # shown until the user picks columns
    # Related data the renderer needs, loaded only while the column is visible.
    select: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()

    def __post_init__(self):
        # A column standing for one value lends that field its on-screen header (the XLSX header).
        if len(self.fields) == 1 and not self.fields[0].label:
            object.__setattr__(self, "fields", (replace(self.fields[0], label=self.header),))

    @property
    def on_screen(self) -> bool:
        return self.render is not None


PROVIDERS = registry.choices()  # provider code -> name people know ("apifonica" -> "Apifonica")
# What get_status_display() / get_kind_display() return, without their per-call dict of the choices.
STATUS_LABELS, KIND_LABELS = dict(NumberStatus.choices), dict(NumberKind.choices)
VERIFICATION_LABELS = dict(VerificationState.choices)


def value(header: str, path: str | None = None, **kw) -> Field:
    """An exported field; ``path`` defaults to the header (a plain model field). ``label``,
    ``kind`` and ``labels``: how people read it in XLSX (services/exports.Field)."""
    return Field(header, path or header, **kw)


def data(name: str, path: str | None = None, *, label: str, **kw) -> Column:
    """A data-only column with one field of the same name; ``label`` is its XLSX header."""
    return Column(name, label, None, (value(name, path, label=label, **kw),), default=False)


# A model field of these types must be exported with this kind (anything else is "text").
MODEL_KINDS = {"DateTimeField": "datetime", "DateField": "date", "DecimalField": "money", "FloatField": "money",
               "IntegerField": "int", "BigIntegerField": "int", "SmallIntegerField": "int",
               "PositiveIntegerField": "int", "PositiveBigIntegerField": "int", "PositiveSmallIntegerField": "int"}


def _model_field(model: type[Model], path: str):
    """The model field at the end of a ``values()`` path, or None (annotations, loaded values)."""
    field = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = field.related_model
    return field


def check_columns(columns: list[Column], sorts: dict, model: type[Model] | None = None) -> list[Column]:
    """Definition-time guard: unique names and headers (machine and people's), every field has a
    people's header, every column exports something, only sort keys the selector knows are
    offered and, given the list's ``model``, every field of a date, number or choices model
    field says so (``kind``, ``labels``), so no date or cost leaves as text by mistake."""
    names = [c.name for c in columns]
    headers = [f.header for c in columns for f in c.fields]
    titles = [f.label for c in columns for f in c.fields if f.label]
    for label, items in (("column", names), ("field", headers), ("field label", titles)):
        doubled = sorted({x for x in items if items.count(x) > 1})
        if doubled:
            raise ValueError(f"duplicate {label} names: {', '.join(doubled)}")
    unlabelled = [f.header for c in columns for f in c.fields if not f.label]
    if unlabelled:
        raise ValueError(f"fields without a label (their XLSX header): {', '.join(unlabelled)}")
    empty = [c.name for c in columns if not c.fields]
    if empty:
        raise ValueError(f"columns without fields: {', '.join(empty)}")
    unsortable = [c.name for c in columns if c.sortable and c.name not in sorts]
    if unsortable:
        raise ValueError(f"sortable columns without a sort key: {', '.join(unsortable)}")
    if model is not None:
        problems = []
        for f in (f for c in columns for f in c.fields if f.annotate is None and f.load is None):
            found = _model_field(model, f.path)
            if found is None:
                continue
            kind = MODEL_KINDS.get(found.get_internal_type(), "text")
            if f.kind != kind:
                problems.append(f"{f.header} is a {found.get_internal_type()}: kind={kind!r}, not {f.kind!r}")
            if found.choices and f.labels is None:
                problems.append(f"{f.header} holds codes with display labels: give it labels=")
        if problems:
            raise ValueError("fields typed unlike the model: " + "; ".join(problems))
    # A sort through a relation (which may be missing, so NULL) is a SortKey, never keyset's non-null fast path.
    unsafe = sorted(k for k, v in sorts.items() if not isinstance(v, SortKey) and (not isinstance(v, str) or "__" in v))
    if unsafe:
        raise ValueError(f"sort keys through a relation must be a SortKey (NULLs last): {', '.join(unsafe)}")
    return columns


def text(attr: str):
    def render(row, table):
        value = row
        for part in attr.split("."):
            value = getattr(value, part, None) if value is not None else None
        return DASH if value in (None, "") else value

    return render


def link(attr: str):
    def render(row, table):
        obj = getattr(row, attr)
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj) if obj is not None else DASH

    return render


def capabilities_cell(row):
    parts = []
    for flag, label in ((row.voice, "V"), (row.sms, "S"), (row.mms, "M")):
        css = "cap-yes" if flag else ("cap-no" if flag is False else "cap-unknown")
        parts.append(format_html('<span class="cap {}" title="{}">{}</span>', css,
                                 {"V": "voice", "S": "SMS", "M": "MMS"}[label] + (": yes" if flag else ": no" if flag is False else ": unknown"),
                                 label))
    return mark_safe("".join(parts))


def money(amount, currency: str):
    if amount is None:
        return DASH
    return format_html("{} {}", f"{amount:.2f}", currency)


def owner_link(owner):
    if owner is None:
        return DASH
    return format_html('<a href="{}">{}</a> <span class="muted">{}</span>', owner.get_absolute_url(), owner.name,
                       owner.type_label)


def number_cell(row, table):
    anchor = format_html('<a href="{}" class="num">{}</a>', row.get_absolute_url(), row.e164 or row.number_raw)
    if row.is_main_number:
        anchor = format_html('{} <span class="badge" title="main number of its location">main</span>', anchor)
    if row.is_valid:
        return anchor
    return format_html('{} <span class="badge badge-invalid" title="phonenumbers could not parse this value; '
                       'kept as the provider sent it">unparsed</span>', anchor)


def status_cell(row, table):
    cell = format_html('<span class="badge badge-{}" title="provider status: {}">{}</span>', row.status,
                       row.raw_status or "—", STATUS_LABELS.get(row.status, row.status))
    if row.missing_since:  # live, but absent from the last listing: never shown as removed
        cell += format_html(' <span class="badge badge-missing" title="absent from the provider\'s listing; '
                            'not removed">missing since {}</span>', row.missing_since.date())
    return cell


def page_accounts(table) -> dict:
    """The page's accounts by id: each row's ``account``, loaded with the row (list pages join it)."""
    accounts = table.cache.get("accounts")
    if accounts is None:
        accounts = table.cache["accounts"] = {r.account_id: r.account for r in table.objects}
    return accounts


def freshness_cell(row, table):
    cache = table.cache.get("fresh")
    if cache is None:  # one health badge per account, for every account of the page in one query
        accounts = page_accounts(table)
        selectors.attach_health(list(accounts.values()), table.now)
        cache = table.cache["fresh"] = {pk: freshness(a, table.now) for pk, a in accounts.items()}
    return cache[row.account_id]


def tags_cell(row, table):
    tags = list(row.tags.all())
    if not tags:
        return DASH
    return format_html_join(" ", '<a class="tag" href="?tag={}">{}</a>', ((t.name, t.name) for t in tags))


def yes_no_unknown(attr: str, *, unknown=DASH):
    def render(row, table):
        flag = getattr(row, attr)
        return unknown if flag is None else ("yes" if flag else "no")

    return render


def will_renew_cell(row, table):
    if row.will_renew is None:
        return mark_safe('<span class="muted" title="the provider does not say">unknown</span>')
    if row.will_renew:
        return "yes"
    return mark_safe('<span class="badge badge-cancelling" title="the provider says it will not renew">no</span>')


def int_cell(attr: str):
    def render(row, table):
        value = getattr(row, attr)
        return DASH if value is None else value

    return render


def pools_cell(row, table):
    cache = table.cache.get("pools")
    if cache is None:  # every pool membership of the page in one query
        cache = table.cache["pools"] = {}
        rows = (PoolMembership.objects.filter(phonenumber_id__in=[r.pk for r in table.objects])
                .select_related("numbergroup").only("phonenumber_id", "service", "member_type", "added_on",
                                                    "numbergroup__id", "numbergroup__name", "numbergroup__prefix")
                .order_by("numbergroup__name", "pk"))
        for m in rows:
            cache.setdefault(m.phonenumber_id, []).append(m)
    members = cache.get(row.pk)
    if not members:
        return DASH
    return format_html_join(", ", '<a href="{}" title="{}">{}</a>', (
        (m.numbergroup.get_absolute_url(),
         f"{m.service or m.get_member_type_label()}, added {m.added_on.date() if m.added_on else '?'}",
         m.numbergroup.name) for m in members))


def note_cell(row, table):
    note = getattr(row, "note", None)  # reverse one-to-one: absent raises, getattr default covers it
    return DASH if note is None else note.text


def country(attr: str):
    """The country's name, its ISO code as the tooltip (the code is what filters and exports use)."""
    def render(row, table):
        code = getattr(row, attr) or ""
        return format_html('<span title="{}">{}</span>', code, country_name(code)) if code else DASH

    return render


def _date(attr: str):
    def render(row, table):
        value = getattr(row, attr)
        return value.date() if value else DASH

    return render


# Default columns (default=True): number, provider, account, country, kind, status, renews, owner,
# trunk, data freshness. They fit a 1,440 px window without sideways scrolling (natural width about
# 1,150 px of the 1,398 px available, measured in tests/browser/test_layout_ui.py); a list cell is one
# line, cut with an ellipsis at 12em (static/css/app.css, "layout" block), so long names cannot widen
# it. Region, city, capabilities, cost, trunk group, description and the rest are in the chooser.
NUMBER_COLUMNS = check_columns([
    Column("e164", "Number", number_cell, (value("e164"),), sortable=True),
    data("number_raw", label="Number as received"),
    data("valid", "is_valid", label="Valid number"),
    Column("provider", "Provider", text("account.provider_name"), (value("provider", labels=PROVIDERS),),
           sortable=True),
    Column("account", "Account", text("account.name"), (value("account", "account__name"),), sortable=True),
    Column("country", "Country", country("country"), (value("country"),), sortable=True),
    Column("region", "Region", text("region"), (value("region"),), sortable=True, default=False),
    Column("city", "City", text("city"), (value("city"),), sortable=True, default=False),
    Column("kind", "Kind", lambda row, t: KIND_LABELS.get(row.kind, row.kind), (value("kind", labels=NumberKind),), sortable=True),
    Column("status", "Status", status_cell, (value("status", label="Status", labels=NumberStatus),
                                             value("provider_status", "raw_status", label="Provider status"),
                                             value("missing_since", label="Missing since", kind="datetime")),
           sortable=True),
    Column("capabilities", "Voice/SMS/MMS", lambda row, t: capabilities_cell(row),
           (value("voice", label="Voice"), value("sms", label="SMS"), value("mms", label="MMS")), default=False),
    Column("cost", "Monthly", lambda row, t: money(row.monthly_cost, row.currency),
           (value("monthly_cost", label="Monthly cost", kind="money"), value("currency", label="Currency")), sortable=True, default=False),
    Column("renews", "Renews", _date("expires_at"), (value("expires_at", kind="datetime"),), sortable=True),
    Column("owner", "Owner", lambda row, t: owner_link(row.owner),
           (value("owner", "owner__name", label="Owner"),
            value("owner_type", "owner__owner_type", label="Owner type", labels=owner_type_label)), sortable=True,
           select=("owner",)),
    Column("trunk", "Trunk", link("trunk"), (value("trunk", "trunk__name"),), sortable=True, select=("trunk",)),
    Column("trunk_group", "Trunk group", link("trunk_group"), (value("trunk_group", "trunk_group__name"),), sortable=True,
           default=False, select=("trunk_group",)),
    Column("description", "Description", text("description"), (value("description"),), wrap=True, sortable=True, default=False),
    Column("freshness", "Data", freshness_cell, (value("account_last_sync", "account__last_success_at",
                                                       label="Last sync", kind="datetime"),), sortable=True),
    Column("location", "Location", link("location"), (value("location", "location__name"),), default=False, sortable=True,
           select=("location",)),
    data("main_number", "is_main_number", label="Main number"),
    Column("did_group", "DID group", link("number_group"), (value("did_group", "number_group__name"),), default=False,
           sortable=True, select=("number_group",)),
    Column("application", "Application", text("application"), (value("application"),), default=False, sortable=True),
    Column("extension", "Extension", text("extension"), (value("extension"),), default=False, sortable=True),
    Column("acquired", "Acquired", _date("acquired_at"), (value("acquired_at", kind="datetime"),), default=False, sortable=True),
    Column("first_seen", "First seen", _date("first_seen"), (value("first_seen", kind="datetime"),), sortable=True,
           default=False),
    data("removed_at", label="Removed", kind="datetime"),
    Column("tags", "Tags", tags_cell, (value("tags", "tag_names", annotate=selectors.tag_names_sql,
                                             load=selectors.tag_names),), default=False, prefetch=("tags",)),
    Column("note", "Note", note_cell, (value("note", "note_text", annotate=lambda: F("note__text")),), wrap=True,
           default=False, select=("note",), sortable=True),
    Column("will_renew", "Will renew", will_renew_cell, (value("will_renew"),), default=False, sortable=True),
    Column("pools", "Pools", pools_cell, (value("pools", "pool_summary", annotate=selectors.pool_summaries_sql,
                                                load=selectors.pool_summaries),), wrap=True, default=False),
    Column("billing_cycles", "Billing cycles left", int_cell("billing_cycles_count"),
           (value("billing_cycles_count", kind="int"),), default=False, sortable=True),
    Column("emergency", "Emergency", yes_no_unknown("emergency_enabled"), (value("emergency_enabled"),),
           default=False, sortable=True),
    Column("capacity_limit", "Capacity limit", int_cell("capacity_limit"), (value("capacity_limit", kind="int"),),
           default=False, sortable=True),
    Column("channels_included", "Channels included", int_cell("channels_included_count"),
           (value("channels_included_count", kind="int"),), default=False, sortable=True),
    Column("dedicated_channels", "Dedicated channels", int_cell("dedicated_channels_count"),
           (value("dedicated_channels_count", kind="int"),), default=False, sortable=True),
], selectors.NUMBER_SORTS, PhoneNumber)


def account_cell(row, table):
    return format_html('{} <span class="muted">{}</span>', row.account.name, row.account.provider_name)


def self_link(row, table):
    return format_html('<a href="{}">{}</a>', row.get_absolute_url(), row.name)


NAME = Column("name", "Name", self_link, (value("name"),), sortable=True)
ACCOUNT = Column("account", "Account", text("account.name"), (value("account", "account__name"),), sortable=True)
PROVIDER = data("provider", "account__provider", label="Provider", labels=PROVIDERS)
ACCOUNT_AND_PROVIDER = Column("account", "Account", account_cell,
                              (value("account", "account__name", label="Account"),
                               value("provider", "account__provider", label="Provider", labels=PROVIDERS)),
                              sortable=True)
EXTERNAL_ID = data("external_id", label="Provider ID")
NUMBER_COUNT = Column("numbers", "Numbers", text("number_count"), (value("numbers", "number_count", kind="int"),),
                      sortable=True)
LOCATION_LINK = Column("location", "Location", link("location"), (value("location", "location__name"),), sortable=True)

OWNER_COLUMNS = check_columns([
    Column("name", "Owner", self_link, (value("name"),), sortable=True),
    Column("type", "Type", lambda row, t: row.type_label, (value("type", "owner_type", labels=owner_type_label),), sortable=True),
    data("first_name", label="First name"),
    data("last_name", label="Last name"),
    ACCOUNT_AND_PROVIDER,
    LOCATION_LINK,
    NUMBER_COUNT,
    EXTERNAL_ID,
], selectors.OWNER_SORTS, Owner)

LOCATION_COLUMNS = check_columns([
    Column("name", "Location", lambda row, t: format_html('<a href="{}">{}</a>', row.get_absolute_url(), row),
           (value("name"),), sortable=True),
    Column("kind", "Kind", text("kind"), (value("kind"),), sortable=True),
    ACCOUNT_AND_PROVIDER,
    Column("country", "Country", country("country_code"), (value("country", "country_code"),), sortable=True),
    Column("region", "Region", text("region"), (value("region"),), sortable=True),
    Column("city", "City", text("city"), (value("city"),), sortable=True),
    Column("main_number", "Main number", text("main_number"), (value("main_number"),), sortable=True),
    NUMBER_COUNT,
    EXTERNAL_ID,
], selectors.LOCATION_SORTS, Location)

TRUNK_COLUMNS = check_columns([
    NAME,
    ACCOUNT,
    PROVIDER,
    Column("kind", "Type", text("kind"), (value("kind"),), sortable=True),
    Column("trunk_group", "Trunk group", link("trunk_group"), (value("trunk_group", "trunk_group__name"),), sortable=True),
    data("description", label="Description"),
    NUMBER_COUNT,
    EXTERNAL_ID,
    Column("removed", "Removed", lambda row, t: row.removed_at.date() if row.removed_at else DASH,
           (value("removed_at", kind="datetime"),), sortable=True),
], selectors.TRUNK_SORTS, Trunk)

TRUNK_GROUP_COLUMNS = check_columns([
    NAME,
    ACCOUNT,
    PROVIDER,
    Column("capacity", "Capacity", text("capacity_limit"), (value("capacity_limit", kind="int"),), sortable=True),
    Column("trunks", "Trunks", text("trunk_count"), (value("trunks", "trunk_count", kind="int"),), sortable=True),
    NUMBER_COUNT,
    EXTERNAL_ID,
    data("removed_at", label="Removed", kind="datetime"),
], selectors.TRUNK_GROUP_SORTS, TrunkGroup)

GROUP_COLUMNS = check_columns([
    Column("name", "Name", lambda row, t: format_html('<a href="{}">{}</a>', row.get_absolute_url(), row),
           (value("name"),), sortable=True),
    ACCOUNT,
    PROVIDER,
    Column("type", "Type", lambda row, t: "Number pool" if row.group_type == POOL_GROUP_TYPE else row.group_type or DASH,
           (value("type", "group_type", labels={POOL_GROUP_TYPE: "Number pool"}),), sortable=True),
    Column("prefix", "Prefix", text("prefix"), (value("prefix"),), sortable=True),
    # Pools: the services their members have in them (sms / mms); DID groups: their features.
    Column("services", "Services / features", lambda row, t: ", ".join(map(str, row.features or ())) or DASH,
           (value("services", "features_text", annotate=selectors.group_features_sql, load=selectors.group_features),)),
    LOCATION_LINK,
    NUMBER_COUNT,
    EXTERNAL_ID,
    data("removed_at", label="Removed", kind="datetime"),
], selectors.GROUP_SORTS, NumberGroup)


def unread_fields(model, columns: list[Column], reads=()) -> list[str]:
    """The row model's own columns that none of ``columns`` stands for, nor ``reads`` names: a
    page can leave them unloaded. Relations stay (their joins are chosen elsewhere)."""
    wanted = {path.split("__")[0] for c in columns for path in (f.path for f in c.fields)} | set(reads)
    return [f.name for f in model._meta.concrete_fields
            if not f.primary_key and not f.is_relation and f.name not in wanted]


class Table:
    def __init__(self, rows, columns: list[Column], *, table_id: str = "", empty_text: str = "Nothing here.",
                 selectable: bool = False):
        self.columns = columns
        self.table_id = table_id
        self.empty_text = empty_text
        self.selectable = selectable
        self.now = timezone.now()
        self.cache: dict = {}
        self.objects = rows = list(rows)  # renderers may look across the page (freshness_cell)
        # Whole rows are built here: a template loop over every cell costs more than the SQL.
        cells = [(format_html('<td data-col="{}"{}>', c.name, mark_safe(' class="wrap"') if c.wrap else ""), c)
                 for c in columns]
        # Row checkboxes belong to the export/selection form outside the swapped table (form=).
        tick = '<td class="select"><input type="checkbox" name="pk" value="{}" form="select-form" aria-label="Select row {}"></td>'
        self.rows = [
            mark_safe(f'<tr data-pk="{row.pk}">' + (tick.format(row.pk, conditional_escape(str(row))) if selectable else "")
                      + "".join(f"{td}{conditional_escape(c.render(row, self))}</td>" for td, c in cells) + "</tr>")
            for row in rows
        ]

    @property
    def body(self) -> SafeString:
        """Every row, or the empty-table row: one string (a template loop over 50-100 rows cost
        more than building them)."""
        if not self.rows:
            return format_html('<tr><td colspan="{}" class="empty">{}</td></tr>', self.width, self.empty_text)
        return mark_safe("\n".join(self.rows))

    @property
    def width(self) -> int:
        return len(self.columns) + (1 if self.selectable else 0)

    def set_sort(self, sort, params) -> None:
        """Sortable headers link to this view sorted by their column (``sort``: the list's
        selectors.Sort; ``params``: the request's query, whose filters every link keeps, minus
        paging). Without it (drill-down pages) headers are plain text."""
        self.sort, self.params = sort, params

    sort = params = None

    @property
    def head(self) -> SafeString:
        """The header cells, built here rather than with a ``{% querystring %}`` per column."""
        cells = []
        sort = self.sort
        for column in self.columns:
            if not (column.sortable and sort):
                cells.append(format_html('<th scope="col" data-col="{}">{}</th>', column.name, column.header))
                continue
            current = sort.key == column.name
            query = self.params.copy()
            query["sort"] = f"-{column.name}" if current and not sort.descending else column.name
            query.pop("cursor", None)
            query.pop("page", None)
            link = "?" + query.urlencode()
            aria = format_html(' aria-sort="{}"', "descending" if sort.descending else "ascending") if current else ""
            arrow = mark_safe('<span aria-hidden="true">' + (" ▼" if sort.descending else " ▲") + "</span>") if current else ""
            cells.append(format_html(
                '<th scope="col" data-col="{}"{}><a href="{}" hx-get="{}" hx-target="#results" hx-push-url="true" '
                'class="sort{}" data-sort="{}">{}{}</a></th>', column.name, aria, link, link,
                " sorted" if current else "", column.name, column.header, arrow))
        return mark_safe("".join(cells))


def number_table(rows) -> Table:
    """Drill-down pages (trunk, owner, location, group): the default columns."""
    return Table(rows, [c for c in NUMBER_COLUMNS if c.on_screen and c.default], table_id="numbers-table", empty_text="No numbers match these filters.")


def verification_cell(row, table):
    return format_html('<span class="badge badge-verif-{}">{}</span>', row.state,
                       VERIFICATION_LABELS.get(row.state, row.state))


def owner_cell(row, table):
    """From the row's annotations (selectors.caller_id_queryset): the owning number has the
    caller ID's own e164; its account is one of the page's accounts, or read once per page."""
    if not row.owned_number_id:
        return mark_safe('<span class="badge badge-notowned" title="no connected account holds this number">not owned anywhere</span>')
    accounts = table.cache.get("owner_accounts")
    if accounts is None:
        accounts = table.cache["owner_accounts"] = selectors.accounts_with(
            page_accounts(table), {r.owner_account_id for r in table.objects})
    account = accounts.get(row.owner_account_id)  # None only if the account went between the two reads
    return format_html('<a href="{}" class="owner-link">{}</a> <span class="muted">{} · {}</span>',
                       pk_url("number_detail", row.owned_number_id), row.e164,
                       account.provider_name if account else "", account.name if account else "")


CALLER_ID_COLUMNS = check_columns([
    Column("e164", "Caller ID", lambda row, t: format_html('<a href="{}" class="num">{}</a>', row.get_absolute_url(),
                                                            row.e164 or row.number_raw),
           (value("e164"),), sortable=True),
    data("number_raw", label="Caller ID as received"),
    Column("account", "Account", account_cell,
           (value("account", "account__name", label="Account"),
            value("provider", "account__provider", label="Provider", labels=PROVIDERS)), sortable=True),
    Column("state", "Verification", verification_cell,
           (value("verification_state", "state", labels=VerificationState),), sortable=True),
    Column("verified_until", "Verified until", lambda row, t: row.verified_until or DASH,
           (value("verified_until", kind="date"),), sortable=True),
    Column("active", "Active", lambda row, t: DASH if row.active is None else ("yes" if row.active else "no"),
           (value("active"),), sortable=True),
    Column("code_attempts", "Code attempts left", int_cell("code_entering_attempts_left"),
           (value("code_entering_attempts_left", kind="int"),), sortable=True),
    Column("call_attempts", "Call attempts left", int_cell("verification_call_attempts_left"),
           (value("verification_call_attempts_left", kind="int"),), sortable=True),
    Column("owner", "Owned by", owner_cell, (value("owned_by_account", "owner_account",
                                                   annotate=lambda: selectors.owning_number_subquery("account__name")),),
           sortable=True),
    EXTERNAL_ID,
    Column("freshness", "Data", freshness_cell, (value("account_last_sync", "account__last_success_at",
                                                       label="Last sync", kind="datetime"),), sortable=True),
    # Webex candidates: the number's own location and owner, and its flags.
    Column("location", "Location", link("location"), (value("location", "location__name"),), sortable=True,
           default=False, select=("location",)),
    Column("candidate_owner", "Candidate owner", lambda row, t: owner_link(row.owner),
           (value("candidate_owner", "owner__name", label="Candidate owner"),
            value("candidate_owner_type", "owner__owner_type", label="Candidate owner type", labels=owner_type_label)),
           sortable=True, default=False, select=("owner",)),
    data("main_number", "is_main_number", label="Main number"),
    data("toll_free_number", label="Toll-free number"),
    data("service_number", "is_service_number", label="Service number"),
], selectors.CALLER_ID_SORTS, CallerId)

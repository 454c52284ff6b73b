"""The lists' columns: one definition per column serves the screen, the column chooser, the
CSV/XLSX exports and the API (name, header, renderer, exported fields, sortable, default
visibility, related data to load).

Cells are rendered with ``format_html``. django-tables2 was the first choice, but its per-cell
machinery (accessor resolution, argument introspection, a template per cell) cost ~25 ms per
50-row page against ~3 ms here, which made our page 1 slower than the Django admin changelist it
is benchmarked against (tests/perf/bench.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.db.models import F
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from providers.plivo.mapping import POOL_GROUP_TYPE

from . import selectors
from .choices import VerificationState
from .services.exports import Field
from .templatetags.inventory_tags import freshness

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

    @property
    def on_screen(self) -> bool:
        return self.render is not None


def value(header: str, path: str | None = None, **kw) -> Field:
    """An exported field; ``path`` defaults to the header (a plain model field)."""
    return Field(header, path or header, **kw)


def data(name: str, path: str | None = None, **kw) -> Column:
    """A data-only column with one field of the same name."""
    return Column(name, name, None, (value(name, path, **kw),), default=False)


def check_columns(columns: list[Column], sorts: dict[str, str]) -> list[Column]:
    """Definition-time guard: unique names and headers, every column exports something, and only
    sort keys the selector knows are offered."""
    names = [c.name for c in columns]
    headers = [f.header for c in columns for f in c.fields]
    for label, items in (("column", names), ("field", headers)):
        doubled = sorted({x for x in items if items.count(x) > 1})
        if doubled:
            raise ValueError(f"duplicate {label} names: {', '.join(doubled)}")
    empty = [c.name for c in columns if not c.fields]
    if empty:
        raise ValueError(f"columns without fields: {', '.join(empty)}")
    unsortable = [c.name for c in columns if c.sortable and c.name not in sorts]
    if unsortable:
        raise ValueError(f"sortable columns without a sort key: {', '.join(unsortable)}")
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
                       row.raw_status or "—", row.get_status_display())
    if row.missing_since:  # live, but absent from the last listing: never shown as removed
        cell += format_html(' <span class="badge badge-missing" title="absent from the provider\'s listing; '
                            'not removed">missing since {}</span>', row.missing_since.date())
    return cell


def freshness_cell(row, table):
    cache = table.cache.setdefault("fresh", {})  # one label per account, not per row
    if row.account_id not in cache:
        cache[row.account_id] = freshness(row.account, table.now)
    return cache[row.account_id]


def tags_cell(row, table):
    tags = list(row.tags.all())
    if not tags:
        return DASH
    return format_html_join(" ", '<a class="tag" href="?tag={}">{}</a>', ((t.name, t.name) for t in tags))


def note_cell(row, table):
    note = getattr(row, "note", None)  # reverse one-to-one: absent raises, getattr default covers it
    return DASH if note is None else note.text


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
    data("number_raw"),
    data("valid", "is_valid"),
    Column("provider", "Provider", text("account.provider_name"), (value("provider"),), sortable=True),
    Column("account", "Account", text("account.name"), (value("account", "account__name"),)),
    Column("country", "Country", text("country"), (value("country"),), sortable=True),
    Column("region", "Region", text("region"), (value("region"),), default=False),
    Column("city", "City", text("city"), (value("city"),), sortable=True, default=False),
    Column("kind", "Kind", lambda row, t: row.get_kind_display(), (value("kind"),), sortable=True),
    Column("status", "Status", status_cell, (value("status"), value("provider_status", "raw_status"),
                                             value("missing_since")), sortable=True),
    Column("capabilities", "Voice/SMS/MMS", lambda row, t: capabilities_cell(row),
           (value("voice"), value("sms"), value("mms")), default=False),
    Column("cost", "Monthly", lambda row, t: money(row.monthly_cost, row.currency),
           (value("monthly_cost"), value("currency")), default=False),
    Column("renews", "Renews", _date("expires_at"), (value("expires_at"),)),
    Column("owner", "Owner", lambda row, t: owner_link(row.owner),
           (value("owner", "owner__name"), value("owner_type", "owner__owner_type"))),
    Column("trunk", "Trunk", link("trunk"), (value("trunk", "trunk__name"),)),
    Column("trunk_group", "Trunk group", link("trunk_group"), (value("trunk_group", "trunk_group__name"),),
           default=False),
    Column("description", "Description", text("description"), (value("description"),), wrap=True, default=False),
    Column("freshness", "Data", freshness_cell, (value("account_last_sync", "account__last_success_at"),)),
    Column("location", "Location", link("location"), (value("location", "location__name"),), default=False),
    data("main_number", "is_main_number"),
    Column("did_group", "DID group", link("number_group"), (value("did_group", "number_group__name"),), default=False),
    Column("application", "Application", text("application"), (value("application"),), default=False),
    Column("extension", "Extension", text("extension"), (value("extension"),), default=False),
    Column("acquired", "Acquired", _date("acquired_at"), (value("acquired_at"),), default=False),
    Column("first_seen", "First seen", _date("first_seen"), (value("first_seen"),), sortable=True, default=False),
    data("removed_at"),
    Column("tags", "Tags", tags_cell, (value("tags", "tag_names", annotate=selectors.tag_names_sql,
                                             load=selectors.tag_names),), default=False, prefetch=("tags",)),
    Column("note", "Note", note_cell, (value("note", "note_text", annotate=lambda: F("note__text")),), wrap=True,
           default=False, select=("note",)),
], selectors.NUMBER_SORTS)


def account_cell(row, table):
    return format_html('{} <span class="muted">{}</span>', row.account.name, row.account.provider_name)


def self_link(row, table):
    return format_html('<a href="{}">{}</a>', row.get_absolute_url(), row.name)


NAME = Column("name", "Name", self_link, (value("name"),))
ACCOUNT = Column("account", "Account", text("account.name"), (value("account", "account__name"),))
PROVIDER = data("provider", "account__provider")
ACCOUNT_AND_PROVIDER = Column("account", "Account", account_cell,
                              (value("account", "account__name"), value("provider", "account__provider")))
EXTERNAL_ID = data("external_id")
NUMBER_COUNT = Column("numbers", "Numbers", text("number_count"), (value("numbers", "number_count"),))
NAME_SORTS = {"name": "name"}

OWNER_COLUMNS = check_columns([
    Column("name", "Owner", self_link, (value("name"),)),
    Column("type", "Type", lambda row, t: row.type_label, (value("type", "owner_type"),)),
    data("first_name"),
    data("last_name"),
    ACCOUNT_AND_PROVIDER,
    Column("location", "Location", link("location"), (value("location", "location__name"),)),
    NUMBER_COUNT,
    EXTERNAL_ID,
], NAME_SORTS)

LOCATION_COLUMNS = check_columns([
    Column("name", "Location", lambda row, t: format_html('<a href="{}">{}</a>', row.get_absolute_url(), row),
           (value("name"),)),
    Column("kind", "Kind", text("kind"), (value("kind"),)),
    ACCOUNT_AND_PROVIDER,
    Column("country", "Country", text("country_code"), (value("country", "country_code"),)),
    Column("region", "Region", text("region"), (value("region"),)),
    Column("city", "City", text("city"), (value("city"),)),
    Column("main_number", "Main number", text("main_number"), (value("main_number"),)),
    NUMBER_COUNT,
    EXTERNAL_ID,
], NAME_SORTS)

TRUNK_COLUMNS = check_columns([
    NAME,
    ACCOUNT,
    PROVIDER,
    Column("kind", "Type", text("kind"), (value("kind"),)),
    Column("trunk_group", "Trunk group", link("trunk_group"), (value("trunk_group", "trunk_group__name"),)),
    data("description"),
    NUMBER_COUNT,
    EXTERNAL_ID,
    Column("removed", "Removed", lambda row, t: row.removed_at.date() if row.removed_at else DASH,
           (value("removed_at"),)),
], NAME_SORTS)

TRUNK_GROUP_COLUMNS = check_columns([
    NAME,
    ACCOUNT,
    PROVIDER,
    Column("capacity", "Capacity", text("capacity_limit"), (value("capacity_limit"),)),
    Column("trunks", "Trunks", text("trunk_count"), (value("trunks", "trunk_count"),)),
    NUMBER_COUNT,
    EXTERNAL_ID,
    data("removed_at"),
], NAME_SORTS)

GROUP_COLUMNS = check_columns([
    Column("name", "Name", lambda row, t: format_html('<a href="{}">{}</a>', row.get_absolute_url(), row),
           (value("name"),)),
    ACCOUNT,
    PROVIDER,
    Column("type", "Type", lambda row, t: "Number pool" if row.group_type == POOL_GROUP_TYPE else row.group_type or DASH,
           (value("type", "group_type"),)),
    Column("prefix", "Prefix", text("prefix"), (value("prefix"),)),
    Column("location", "Location", link("location"), (value("location", "location__name"),)),
    NUMBER_COUNT,
    EXTERNAL_ID,
    data("removed_at"),
], NAME_SORTS)


class Table:
    def __init__(self, rows, columns: list[Column], *, table_id: str = "", empty_text: str = "Nothing here.",
                 selectable: bool = False):
        self.columns = columns
        self.table_id = table_id
        self.empty_text = empty_text
        self.selectable = selectable
        self.now = timezone.now()
        self.cache: dict = {}
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
    def width(self) -> int:
        return len(self.columns) + (1 if self.selectable else 0)


def number_table(rows) -> Table:
    """Drill-down pages (trunk, owner, location, group): the default columns."""
    return Table(rows, [c for c in NUMBER_COLUMNS if c.on_screen and c.default], table_id="numbers-table", empty_text="No numbers match these filters.")


def verification_cell(row, table):
    return format_html('<span class="badge badge-verif-{}">{}</span>', row.state,
                       VerificationState(row.state).label if row.state in VerificationState.values else row.state)


def owner_cell(row, table):
    number = getattr(row, "owned_number", None)
    if number is None:
        return mark_safe('<span class="badge badge-notowned" title="no connected account holds this number">not owned anywhere</span>')
    return format_html('<a href="{}" class="owner-link">{}</a> <span class="muted">{} · {}</span>', number.get_absolute_url(),
                       number.e164, number.account.provider_name, number.account.name)


CALLER_ID_COLUMNS = check_columns([
    Column("e164", "Caller ID", lambda row, t: format_html('<span class="num">{}</span>', row.e164 or row.number_raw),
           (value("e164"),), sortable=True),
    data("number_raw"),
    Column("account", "Account", account_cell, (value("account", "account__name"), value("provider", "account__provider")),
           sortable=True),
    Column("state", "Verification", verification_cell, (value("verification_state", "state"),)),
    Column("verified_until", "Verified until", lambda row, t: row.verified_until or DASH, (value("verified_until"),),
           sortable=True),
    Column("active", "Active", lambda row, t: DASH if row.active is None else ("yes" if row.active else "no"),
           (value("active"),)),
    Column("attempts", "Attempts left (code / call)", lambda row, t: format_html(
        "{} / {}", "—" if row.code_entering_attempts_left is None else row.code_entering_attempts_left,
        "—" if row.verification_call_attempts_left is None else row.verification_call_attempts_left),
        (value("code_entering_attempts_left"), value("verification_call_attempts_left"))),
    Column("owner", "Owned by", owner_cell, (value("owned_by_account", "owner_account"),)),
    data("external_id"),
    Column("freshness", "Data", freshness_cell, (value("account_last_sync", "account__last_success_at"),)),
], selectors.CALLER_ID_SORTS)

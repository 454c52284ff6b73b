"""Column definitions for the list pages, rendered with ``format_html`` per cell.

django-tables2 was the first choice, but its per-cell machinery (accessor resolution, argument
introspection, a template per cell) cost ~25 ms per 50-row page against ~3 ms here, which made our
page 1 slower than the Django admin changelist it is benchmarked against (tests/perf/bench.py).
A column is data (name, header, renderer, sortable), so the column chooser and exports can share
these definitions later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from .choices import VerificationState
from .selectors import CALLER_ID_SORTS, NUMBER_SORTS
from .templatetags.inventory_tags import freshness

DASH = mark_safe('<span class="muted">—</span>')


@dataclass(frozen=True)
class Column:
    name: str
    header: str
    render: Callable[[object, "Table"], SafeString | str]
    sortable: bool = False
    wrap: bool = False
    # Export columns (services.exports *_COLUMNS headers) this on-screen column stands for, so
    # "export current view" gives the same columns in the same order. Empty: its own name.
    export: tuple[str, ...] = ()
    default: bool = True  # shown until the user picks columns
    # Related data the renderer needs, loaded only while the column is visible.
    select: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()

    @property
    def export_names(self) -> tuple[str, ...]:
        return self.export or (self.name,)


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


NUMBER_COLUMNS = [
    Column("e164", "Number", number_cell, sortable=True, export=("e164",)),
    Column("provider", "Provider", text("account.provider_name"), sortable=True),
    Column("account", "Account", text("account.name")),
    Column("country", "Country", text("country"), sortable=True),
    Column("region", "Region", text("region")),
    Column("city", "City", text("city"), sortable=True),
    Column("kind", "Kind", lambda row, t: row.get_kind_display(), sortable=True),
    Column("status", "Status", status_cell, sortable=True, export=("status", "provider_status", "missing_since")),
    Column("capabilities", "Voice/SMS/MMS", lambda row, t: capabilities_cell(row), export=("voice", "sms", "mms")),
    Column("cost", "Monthly", lambda row, t: money(row.monthly_cost, row.currency), export=("monthly_cost", "currency")),
    Column("renews", "Renews", _date("expires_at"), export=("expires_at",)),
    Column("owner", "Owner", lambda row, t: owner_link(row.owner), export=("owner", "owner_type")),
    Column("trunk", "Trunk", link("trunk")),
    Column("trunk_group", "Trunk group", link("trunk_group")),
    Column("description", "Description", text("description"), wrap=True),
    Column("freshness", "Data", freshness_cell, export=("account_last_sync",)),
    Column("location", "Location", link("location"), default=False),
    Column("did_group", "DID group", link("number_group"), default=False),
    Column("application", "Application", text("application"), default=False),
    Column("extension", "Extension", text("extension"), default=False),
    Column("acquired", "Acquired", _date("acquired_at"), default=False, export=("acquired_at",)),
    Column("first_seen", "First seen", _date("first_seen"), sortable=True, default=False),
    Column("tags", "Tags", tags_cell, default=False, prefetch=("tags",)),
    Column("note", "Note", note_cell, wrap=True, default=False, select=("note",)),
]
assert {c.name for c in NUMBER_COLUMNS if c.sortable} <= set(NUMBER_SORTS)


def account_cell(row, table):
    return format_html('{} <span class="muted">{}</span>', row.account.name, row.account.provider_name)


def self_link(row, table):
    return format_html('<a href="{}">{}</a>', row.get_absolute_url(), row.name)


NAMED_OBJECT_COLUMNS = [Column("name", "Name", self_link), Column("account", "Account", text("account.name"))]

OWNER_COLUMNS = [
    Column("name", "Owner", self_link),
    Column("type", "Type", lambda row, t: row.type_label),
    Column("account", "Account", account_cell, export=("account", "provider")),
    Column("location", "Location", link("location")),
    Column("numbers", "Numbers", text("number_count")),
]

LOCATION_COLUMNS = [
    Column("name", "Location", lambda row, t: format_html('<a href="{}">{}</a>', row.get_absolute_url(), row)),
    Column("kind", "Kind", text("kind")),
    Column("account", "Account", account_cell, export=("account", "provider")),
    Column("country", "Country", text("country_code")),
    Column("region", "Region", text("region")),
    Column("city", "City", text("city")),
    Column("main_number", "Main number", text("main_number")),
    Column("numbers", "Numbers", text("number_count")),
]

TRUNK_COLUMNS = [
    *NAMED_OBJECT_COLUMNS,
    Column("kind", "Type", text("kind")),
    Column("trunk_group", "Trunk group", link("trunk_group")),
    Column("numbers", "Numbers", text("number_count")),
    Column("removed", "Removed", lambda row, t: row.removed_at.date() if row.removed_at else DASH, export=("removed_at",)),
]

TRUNK_GROUP_COLUMNS = [
    *NAMED_OBJECT_COLUMNS,
    Column("capacity", "Capacity", text("capacity_limit"), export=("capacity_limit",)),
    Column("trunks", "Trunks", text("trunk_count")),
    Column("numbers", "Numbers", text("number_count")),
]


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
    return Table(rows, [c for c in NUMBER_COLUMNS if c.default], table_id="numbers-table", empty_text="No numbers match these filters.")


def verification_cell(row, table):
    return format_html('<span class="badge badge-verif-{}">{}</span>', row.state,
                       VerificationState(row.state).label if row.state in VerificationState.values else row.state)


def owner_cell(row, table):
    number = getattr(row, "owned_number", None)
    if number is None:
        return mark_safe('<span class="badge badge-notowned" title="no connected account holds this number">not owned anywhere</span>')
    return format_html('<a href="{}" class="owner-link">{}</a> <span class="muted">{} · {}</span>', number.get_absolute_url(),
                       number.e164, number.account.provider_name, number.account.name)


CALLER_ID_COLUMNS = [
    Column("e164", "Caller ID", lambda row, t: format_html('<span class="num">{}</span>', row.e164 or row.number_raw),
           sortable=True),
    Column("account", "Account", account_cell, sortable=True, export=("account", "provider")),
    Column("state", "Verification", verification_cell, export=("verification_state",)),
    Column("verified_until", "Verified until", lambda row, t: row.verified_until or DASH, sortable=True),
    Column("active", "Active", lambda row, t: DASH if row.active is None else ("yes" if row.active else "no")),
    Column("attempts", "Attempts left (code / call)", lambda row, t: format_html(
        "{} / {}", "—" if row.code_entering_attempts_left is None else row.code_entering_attempts_left,
        "—" if row.verification_call_attempts_left is None else row.verification_call_attempts_left),
        export=("code_entering_attempts_left", "verification_call_attempts_left")),
    Column("owner", "Owned by", owner_cell, export=("owned_by_account",)),
    Column("freshness", "Data", freshness_cell, export=("account_last_sync",)),
]
assert {c.name for c in CALLER_ID_COLUMNS if c.sortable} <= set(CALLER_ID_SORTS)

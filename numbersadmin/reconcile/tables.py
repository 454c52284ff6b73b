"""The findings list's columns (inventory/tables.py vocabulary)."""

from __future__ import annotations

from django.utils.html import format_html

from numbersadmin.inventory.tables import DASH, Column, check_columns, data, text, value

from .models import Finding, FindingKind, FindingState

FINDING_SORTS = {"kind": "kind", "state": "state", "summary": "summary", "first_seen": "first_seen",
                 "last_seen": "last_seen", "accounts": "account_names", "involved": "involved"}


def summary_cell(row, table):
    return format_html('<a href="{}">{}</a>', row.get_absolute_url(), row.summary)


def state_cell(row, table):
    cell = format_html('<span class="badge badge-finding-{}">{}</span>', row.state, row.get_state_display())
    if row.reason:
        cell += format_html(' <span class="muted">{}</span>', row.reason)
    return cell


def _date(attr: str):
    def render(row, table):
        when = getattr(row, attr)
        return format_html('<span title="{}">{}</span>', when.isoformat(timespec="seconds"), when.date()) if when else DASH

    return render


FINDING_COLUMNS = check_columns([
    Column("kind", "Kind", lambda row, t: row.get_kind_display(), (value("kind", labels=FindingKind),), sortable=True),
    Column("summary", "Finding", summary_cell, (value("summary"),), sortable=True, wrap=True),
    Column("involved", "Rows involved", text("involved"), (value("involved"),), sortable=True, wrap=True, default=False),
    Column("accounts", "Accounts", text("account_names"), (value("accounts", "account_names"),), sortable=True),
    Column("state", "State", state_cell, (value("state", label="State", labels=FindingState),
                                          value("reason", label="Reason ignored")), sortable=True),
    Column("first_seen", "First seen", _date("first_seen"), (value("first_seen", kind="datetime"),), sortable=True),
    Column("last_seen", "Last seen", _date("last_seen"), (value("last_seen", kind="datetime"),), sortable=True),
    data("resolved_at", label="Resolved", kind="datetime"),
    data("state_changed_by", label="State changed by"),
    data("key", label="Finding key"),
], FINDING_SORTS, Finding)

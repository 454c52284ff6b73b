"""Audit log browsing for admins: exports, account changes, sync requests/confirmations."""

from __future__ import annotations

import json
import re

from django.core.paginator import InvalidPage, Paginator
from django.http import QueryDict

from .. import selectors
from ..lists import form_notices
from .accounts import global_manager_required
from .common import render_page

PER_PAGE = 50

# Detail keys shown as text, in this order. Anything else is only in the collapsed JSON, where
# values under secret-looking keys are masked (no writer stores secrets today; keep it that way).
DETAIL_LABELS = {
    "format": "Format", "columns": "Columns", "search": "Search", "q": "Search", "sort": "Sort", "filters": "Filters",
    "selection": "Rows", "view": "Saved view", "job": "Export job",
    "provider": "Provider", "fields": "Fields changed", "secrets_changed": "Secrets replaced", "ok": "OK",
    "error_class": "Error", "run": "Sync run", "created": "New run",
    "change": "Change", "added": "Tags added", "removed": "Tags removed", "add_tags": "Tags added",
    "remove_tags": "Tags removed", "note_mode": "Note", "chars": "Note length", "note_chars": "Note length",
    "via": "Via", "reason": "Reason", "groups": "Groups", "groups_added": "Groups added",
    "groups_removed": "Groups removed",
}
COLUMN_MODES = {"view": "current view", "all": "all columns"}
SAFE_KEYS = {"secrets_changed"}  # names of replaced secrets, never their values
SECRET_KEY = re.compile(r"secret|passw|token|api_?key|credential|private|auth|cookie|session", re.I)
TEXT_LIMIT = 300


@global_manager_required
def audit_list(request):
    """Admins who see every account only: entries name accounts, numbers and exports of every scope."""
    filterset = selectors.audit_log_list(request.GET)
    notices = form_notices(filterset)
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
        notices.append("“From” is after “To”, so nothing can match.")
    paginator = Paginator(filterset.qs, PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        notices.append(f"There is no page {str(request.GET.get('page'))[:20]!r}; showing the first page.")
        page = paginator.page(1)
    entries = [(log, detail_items(log.detail), detail_json(log.detail)) for log in page.object_list]
    return render_page(request, "inventory/audit/list.html", {
        "filterset": filterset, "page_obj": page, "entries": entries, "notices": notices,
    })


def detail_items(detail) -> list[tuple[str, str]]:
    """Known keys as (label, readable text); an export's filters become "country: GB · status: active"."""
    if not isinstance(detail, dict):
        return []
    detail = dict(detail)
    filters = detail.get("filters")
    if isinstance(filters, dict):  # older exports: {"q": ..., "country": ...}
        filters = dict(filters)
        for key in ("q", "sort"):  # shown on their own line
            if key in filters and key not in detail:
                detail[key] = filters.pop(key)
        detail["filters"] = filters
    if isinstance(detail.get("query"), str) and "sort" not in detail:  # list exports store the view's query string
        sort = QueryDict(detail["query"]).get("sort")
        if sort:
            detail["sort"] = sort
    if isinstance(detail.get("filters"), list):  # "Country: GB" chips; values may contain commas
        detail["filters"] = " · ".join(map(str, detail["filters"]))
    if isinstance(detail.get("format"), str):
        detail["format"] = detail["format"].upper()
    if detail.get("columns") in COLUMN_MODES:
        names = detail.get("column_names")
        detail["columns"] = COLUMN_MODES[detail["columns"]] + (f" ({_text(names)})" if isinstance(names, list) else "")
    items = []
    for key, label in DETAIL_LABELS.items():
        if key in detail and detail[key] not in (None, "", [], {}):
            items.append((label, _text(detail[key])[:TEXT_LIMIT]))
    return items


def detail_json(detail) -> str:
    return json.dumps(_masked(detail), indent=2, sort_keys=True, default=str, ensure_ascii=False)[:4000]


def _masked(value, key: str = ""):
    if key and key not in SAFE_KEYS and SECRET_KEY.search(key):
        return "•••"
    if isinstance(value, dict):
        return {str(k): _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _text(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return " · ".join(f"{k}: {_text(_masked(v, str(k)))}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0])))
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)

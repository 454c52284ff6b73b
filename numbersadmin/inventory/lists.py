"""The list pages as data: one ``ListSpec`` per list (numbers, caller IDs, owners, locations,
trunks, trunk groups), shared by the list view, its exports, saved views and the CLI, so what
is exported is what is on screen.

A list's state is its query string, and only that: filters (the FilterSet's fields, including
the hidden ``<name>__n`` negations), ``q``, ``sort``, ``per_page`` and ``cols`` (visible columns
in order). ``normalise_params`` keeps those keys and nothing else, which is what a saved view
stores and what every link, chip and export carries.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from typing import Callable

from django.http import FileResponse, QueryDict, StreamingHttpResponse
from django.utils import formats, timezone
from django.utils.text import slugify

from . import diff, selectors
from .models import CallerId, Location, NumberGroup, Owner, PhoneNumber, SiteSettings, Trunk, TrunkGroup, fixed_url
from .services import exports
from .services.exports import Field
from .tables import (CALLER_ID_COLUMNS, GROUP_COLUMNS, LOCATION_COLUMNS, NUMBER_COLUMNS, OWNER_COLUMNS, TRUNK_COLUMNS,
                     TRUNK_GROUP_COLUMNS, Column)

STATE_KEYS = ("q", "sort", "per_page", "cols")
# Keys about one request (paging, an export, a selection): never carried by chips and links.
REQUEST_KEYS = ("cursor", "page", "export", "columns", "scope", "pk")
PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 50
MAX_SELECTED = 10_000


def _caller_id_intro() -> dict:
    return {"window": SiteSettings.load().caller_id_expiry_window_days}


@dataclass(frozen=True)
class ListSpec:
    name: str  # stable key: CLI argument, saved views, preferences, audit target
    title: str
    url_name: str
    filterset: Callable  # params -> bound FilterSet (a selector)
    columns: list[Column]  # every column, in screen and export order (tables.py)
    sorts: dict  # sort key -> non-null field or pagination.SortKey (selectors.NUMBER_SORTS)
    default_sort: str
    order: Callable = selectors.sort_order  # (qs, Sort) -> ordered qs, empty values last
    keyset: bool = True  # keyset cursors; False: page numbers (caller IDs: a small list)
    table_id: str = ""
    empty_text: str = "Nothing here."
    search_placeholder: str = "Search…"
    intro_template: str = ""  # page-specific lines under the heading
    intro_context: Callable | None = None  # () -> dict for the intro template
    bulk_editable: bool = False  # admins may tag/annotate the selection (numbers)
    # Set: the page joins only these relations plus the visible columns' ``select`` (the selector
    # joins every relation for exports and other callers). PostgreSQL plans a 7-table join in
    # ~20 ms, 4 tables in ~2 ms: the largest cost of a numbers page.
    page_related: tuple[str, ...] | None = None
    model: type | None = None  # the row model (API detail endpoints, links to an object)
    # Set: the page loads only the row model's columns the visible columns stand for, plus these
    # (what the row's name and link read). A numbers row has ~45 columns; the default view shows
    # ~12, and building 50 rows of the rest was a quarter of the page's time.
    page_reads: tuple[str, ...] | None = None

    @property
    def url(self) -> str:
        return fixed_url(self.url_name)

    @property
    def column_map(self) -> dict[str, Column]:
        """The columns a user can show (``cols=``, the chooser)."""
        return {c.name: c for c in self.columns if c.on_screen}

    @property
    def default_columns(self) -> list[Column]:
        return [c for c in self.columns if c.on_screen and c.default]

    @property
    def fields(self) -> list[Field]:
        """Every exported field ("all columns"), in column order."""
        return [f for c in self.columns for f in c.fields]

    def fields_for(self, visible: list[Column] | None) -> list[Field]:
        """``None``: all fields. Otherwise the fields behind the visible columns, in screen order."""
        return self.fields if visible is None else [f for c in visible for f in c.fields]


LISTS: dict[str, ListSpec] = {
    spec.name: spec
    for spec in (
        ListSpec("numbers", "Numbers", "numbers", selectors.number_list, NUMBER_COLUMNS,
                 selectors.NUMBER_SORTS, selectors.DEFAULT_NUMBER_SORT, table_id="numbers-table",
                 empty_text="No numbers match these filters.",
                 search_placeholder="+44 20 3240 2344, last digits, owner, location, note…", bulk_editable=True,
                 model=PhoneNumber, page_related=("account",), page_reads=("e164", "number_raw", "is_valid", "is_main_number")),
        ListSpec("caller_ids", "Caller IDs", "caller_ids", selectors.caller_id_list, CALLER_ID_COLUMNS,
                 selectors.CALLER_ID_SORTS, "verified_until",
                 order=selectors.caller_id_order, keyset=False, table_id="caller-ids-table",
                 empty_text="No caller IDs match these filters.", search_placeholder="Caller ID, any digits…",
                 intro_template="inventory/caller_ids/intro.html", intro_context=_caller_id_intro, model=CallerId,
                 page_reads=("e164", "number_raw")),
        ListSpec("owners", "Owners", "owners", selectors.owner_list, OWNER_COLUMNS, selectors.OWNER_SORTS, "name", table_id="owners-table", empty_text="No owners match these filters.",
                 search_placeholder="Name…", model=Owner),
        ListSpec("locations", "Locations", "locations", selectors.location_list, LOCATION_COLUMNS, selectors.LOCATION_SORTS, "name", table_id="locations-table",
                 empty_text="No locations match these filters.", search_placeholder="Name, city, region…", model=Location),
        ListSpec("trunks", "Trunks", "trunks", selectors.trunk_list, TRUNK_COLUMNS, selectors.TRUNK_SORTS, "name", table_id="trunks-table", empty_text="No trunks.",
                 search_placeholder="Trunk name…", model=Trunk),
        ListSpec("trunk_groups", "Trunk groups", "trunk_groups", selectors.trunk_group_list, TRUNK_GROUP_COLUMNS,
                 selectors.TRUNK_GROUP_SORTS, "name", table_id="trunk-groups-table",
                 empty_text="No trunk groups.", search_placeholder="Trunk group name…", model=TrunkGroup),
        ListSpec("groups", "DID groups & pools", "groups", selectors.group_list, GROUP_COLUMNS, selectors.GROUP_SORTS, "name",
                 table_id="groups-table", empty_text="No DID groups or number pools.",
                 search_placeholder="Name or prefix…", model=NumberGroup),
    )
}


def get_spec(name: str) -> ListSpec | None:
    return LISTS.get(name)


def parse_columns(spec: ListSpec, raw: list[str] | None, notices: list[str]) -> list[Column] | None:
    """``cols`` values (comma-separated and/or repeated) -> columns in that order; unknown names
    are reported and skipped. ``None`` when no column was asked for."""
    if not raw:
        return None
    names = [n.strip() for value in raw for n in value.split(",") if n.strip()]
    known = spec.column_map
    unknown = [n for n in names if n not in known]
    if unknown:
        shown = ", ".join(repr(n[:30]) for n in unknown[:5])
        notices.append(f"Unknown column{'s' if len(unknown) > 1 else ''} {shown} ignored.")
    picked: list[Column] = []
    for n in names:
        if n in known and known[n] not in picked:
            picked.append(known[n])
    if not picked:
        notices.append("No known columns chosen; showing the default columns.")
        return None
    return picked


def parse_per_page(value: str | None, notices: list[str]) -> int:
    if not value:
        return DEFAULT_PER_PAGE
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number not in PER_PAGE_CHOICES:
        notices.append(f"Page size must be one of {', '.join(map(str, PER_PAGE_CHOICES))}; showing {DEFAULT_PER_PAGE}.")
        return DEFAULT_PER_PAGE
    return number


def form_notices(filterset) -> list[str]:
    """Invalid filter values become messages; the filterset ignores them (never a 500)."""
    notices = []
    if filterset.is_bound and not filterset.is_valid():
        for field, errors in filterset.form.errors.items():
            label = filterset.form.fields[field].label if field in filterset.form.fields else field
            notices.append(f"Ignored filter {label}: {' '.join(errors)}")
    return notices


def filter_keys(filterset) -> set[str]:
    return set(filterset.form.fields)


def normalise_params(spec: ListSpec, params: QueryDict, filterset=None) -> QueryDict:
    """Only the keys that make up a view, without empty values, in a stable order."""
    filterset = filterset if filterset is not None else spec.filterset(QueryDict())
    allowed = filter_keys(filterset) | set(STATE_KEYS)
    out = QueryDict(mutable=True)
    for key in sorted(params):
        if key in allowed:
            values = [v for v in params.getlist(key) if v not in ("", None)]
            if values:
                out.setlist(key, values)
    return out


def without(params: QueryDict, *names: str, **replace: str) -> str:
    """A query string (with leading "?") minus ``names`` and paging, plus ``replace``."""
    query = params.copy()
    for name in (*names, *REQUEST_KEYS):
        query.pop(name, None)
    for key, value in replace.items():
        query[key] = value
    encoded = query.urlencode()
    return "?" + encoded if encoded else "?"


@dataclass
class Chip:
    label: str
    value: str
    remove_url: str
    invert_url: str = ""
    negated: bool = False
    empty: bool = False

    @property
    def heading(self) -> str:
        """The filter as words, for manifests and confirmations ("Country is not")."""
        return f"{self.label} is not" if self.negated else self.label


def chips(filterset, params: QueryDict) -> list[Chip]:
    """One removable chip per filter in use (valid ones; invalid ones are reported as notices).
    Negations (``x__n``) read "is not", the ``null`` choice reads "is empty"."""
    filterset.is_valid()  # cleaned_data then holds only the valid fields
    data = filterset.form.cleaned_data
    out: list[Chip] = []
    fields = filterset.form.fields
    for name, field_obj in fields.items():
        value = data.get(name)
        if value in (None, "", []) or name not in params:
            continue
        if filterset.defaults.get(name) == value:
            continue  # the default, not a filter worth a chip
        negated = name.endswith("__n")
        base = name[:-3] if negated else name
        label = fields[base].label if base in fields else field_obj.label
        empty = params.get(name) == "null"
        if empty:
            shown = "empty"
        else:
            shown = _display(field_obj, value)
        invert = ""
        if f"{base}__n" in fields:
            target = base if negated else f"{base}__n"
            invert = without(params, name, **{target: params.get(name)})
        out.append(Chip(label=str(label), value=shown, remove_url=without(params, name), invert_url=invert,
                        negated=negated, empty=empty))
    return out


def _display(field_obj, value) -> str:
    if isinstance(value, dt.datetime):  # "as of": local time, as the page shows times
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    choices = getattr(field_obj, "choices", None)
    if choices is not None and not hasattr(value, "pk"):
        for key, label in choices:
            if str(key) == str(value):
                return str(label)
    return str(value)


def clear_all_url(params: QueryDict) -> str:
    """Drops every filter and the search, keeps sort, columns and page size. ``view=none`` stops
    the user's default view from coming back."""
    kept = QueryDict(mutable=True)
    for key in ("sort", "per_page", "cols"):
        if key in params:
            kept.setlist(key, params.getlist(key))
    kept["view"] = "none"
    return "?" + kept.urlencode()


# --- exports ----------------------------------------------------------------------------------


@dataclass
class ExportPlan:
    spec: ListSpec
    qs: object
    fields: list[Field]
    columns_mode: str  # "view" | "all"
    query: str
    filters: list[str]
    selection: str

    def manifest(self, user, rows: int) -> exports.Manifest:
        return exports.Manifest(
            list_title=self.spec.title, generated_by=getattr(user, "username", None) or str(user or "unknown"),
            query=self.query, filters=self.filters,
            columns=("all columns" if self.columns_mode == "all" else "current view") + ": "
            + ", ".join(f.header for f in self.fields),
            selection=self.selection, rows=rows, accounts=exports.accounts_in(self.qs))


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_file_name(spec: ListSpec, saved=None) -> str:
    """List title, saved view name, time. Only slug characters reach the Content-Disposition
    header (no header injection)."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    return "-".join(p for p in (slugify(spec.title), slugify(saved.name)[:40] if saved else "", stamp) if p)


def export_file(plan: ExportPlan, user, fmt: str, rows: int, base: str):
    return file_response(fmt, base, plan.fields, plan.manifest(user, rows), qs=plan.qs)


def file_response(fmt: str, base: str, fields: list[Field], manifest, *, qs=None, rows=None):
    """The file itself, manifest first, from ``qs`` or ready ``rows``: CSV streams; XLSX is built
    in an anonymous temporary file (gone when the response closes it)."""
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_rows(qs, fields, manifest, rows=rows),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{base}.csv"'
        return response
    fh = tempfile.TemporaryFile()
    exports.write_xlsx(fh, qs, fields, manifest, rows=rows)
    fh.seek(0)
    return FileResponse(fh, as_attachment=True, filename=f"{base}.xlsx", content_type=XLSX_TYPE)


@dataclass
class DiffPlan:
    """A diff between ``start`` and ``end`` for the numbers the list's filters select at ``end``
    (the /numbers/diff/ page and ``export numbers --diff-from``)."""

    start: object
    end: object
    filterset: object
    params: QueryDict

    @property
    def filters(self) -> list[str]:
        return [f"{c.heading}: {c.value}" for c in chips(self.filterset, self.params)]

    def rows(self):
        return diff.diff(self.start, self.end, self.filterset.qs)

    def manifest(self, generated_by: str, query: str) -> exports.Manifest:
        return exports.Manifest(
            list_title=f"Numbers changed from {self.start.isoformat()} to {self.end.isoformat()}",
            generated_by=generated_by, query=query, filters=self.filters,
            columns=", ".join(f.header for f in diff.FIELDS), selection="every difference", rows=None,
            accounts=exports.accounts_in(self.filterset.qs))


def diff_plan(params: QueryDict, start, end) -> DiffPlan:
    """``params``: the numbers list's filters (anything else is dropped by the filterset)."""
    params = params.copy()
    for key in ("from", "to", "export"):
        params.pop(key, None)
    params["as_of"], params["removed"] = end.isoformat(), "all"
    return DiffPlan(start, end, get_spec("numbers").filterset(params), params)


def parse_selected(values: list[str], notices: list[str]) -> list[int] | None:
    if not values:
        return None
    if len(values) > MAX_SELECTED:
        notices.append(f"At most {MAX_SELECTED:,} rows can be ticked; use “all matching” for more.")
        return None
    try:
        ids = sorted({int(v) for v in values})
    except ValueError:
        notices.append("The ticked rows were not valid row ids.")
        return None
    return ids


def export_plan(spec: ListSpec, params: QueryDict, *, visible: list[Column] | None, columns_mode: str,
                selected: list[int] | None, notices: list[str], headers: list[str] | None = None) -> ExportPlan:
    """The rows and columns of an export, from the same filterset, sort and columns as the screen.
    Problems are appended to ``notices``; callers refuse to export when there are any."""
    filterset = spec.filterset(params)
    notices.extend(form_notices(filterset))
    sort, error = selectors.parse_sort(params.get("sort"), spec.sorts, spec.default_sort)
    if error:
        notices.append(error)
    if columns_mode not in ("view", "all"):
        notices.append(f"Unknown export columns {columns_mode[:20]!r}: choose the current view or all columns.")
        columns_mode = "view"
    qs = spec.order(filterset.qs, sort)
    if selected is not None:
        qs = qs.filter(pk__in=selected)
    if headers is not None:  # a queued job: the columns were resolved when it was requested
        by_header = {f.header: f for f in spec.fields}
        fields = [by_header[h] for h in headers if h in by_header]
    else:
        fields = spec.fields_for(None if columns_mode == "all" else (visible or spec.default_columns))
    qs = exports.with_annotations(qs, fields)
    filters = [f"{c.heading}: {c.value}" for c in chips(filterset, params)]
    if params.get("q"):
        filters = [f for f in filters if not f.startswith("Search")] + [f"Search: {params.get('q')[:100]}"]
    selection = f"{len(selected)} ticked rows (those still matching the filters)" if selected is not None else "all matching rows"
    return ExportPlan(spec, qs, fields, columns_mode, normalise_params(spec, params, filterset).urlencode(),
                      filters, selection)

"""Export formats: CSV (Python or PostgreSQL COPY), XLSX and the manifest. They write whatever
fields and queryset they are given; which fields a list has is the list's columns (tables.py).

Safety rule (OWASP CSV injection), decided once here: a cell starting with ``= + - @``, tab or CR
gets a leading apostrophe, EXCEPT a value that is exactly an E.164 number (``+`` then 1-15
digits): digits alone cannot form a formula, and ops need the ``+`` kept verbatim.

Two audiences: CSV is for machines (field names such as ``e164`` and ``account_last_sync``, raw
code values, ISO-8601 UTC timestamps: what scripts and the API use); XLSX is for people (the
headers they see on screen, display labels for code values, numbers and dates as typed cells in
the site's time zone, frozen header row, autofilter, column widths). Both are written from the
same ``Field`` list, so a field declares once how people read it (``label``, ``kind``,
``labels``).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain, islice
from typing import Callable, Iterable, Iterator, Union

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.expressions import Col
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ..models import ProviderAccount

E164_RE = re.compile(r"^\+[1-9]\d{0,14}$")
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES) and not E164_RE.match(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


# What a field holds, for XLSX cells (CSV and the API ignore it). "text" covers identifiers too
# (E.164, provider ids, extensions): they stay strings, never numbers.
KINDS = ("text", "int", "money", "date", "datetime")
# Code -> display label: a Django ``Choices`` class, (code, label) pairs, a mapping, or a function.
Labels = Union[type, Iterable[tuple[str, str]], Mapping, Callable[[str], str]]


@dataclass(frozen=True)
class Field:
    """One exported value: its header and where it comes from. The list columns (tables.py) say
    which fields a list has; this module only knows how to write them.

    ``header`` is the machine name (CSV header, API field, ``fields=``, queued jobs); ``label`` is
    what people read (the XLSX header: the on-screen column header, tables.py fills it in).
    ``kind`` types the XLSX cell (see KINDS); ``labels`` turns a code value into its display
    label in XLSX (``apifonica`` -> ``Apifonica``; unknown codes stay as they are).

    ``path`` is a ``values()`` path, or the alias of ``annotate`` (an expression added to the query
    only when the field is exported). A many-valued field (tags) has ``load``: one query per chunk
    of rows on the Python path (never a query per row), while COPY computes ``annotate`` in SQL."""

    header: str
    path: str
    annotate: Callable[[], object] | None = None
    load: Callable[[list[int]], dict[int, str]] | None = None
    label: str = ""
    kind: str = "text"
    labels: Labels | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"field {self.header!r}: unknown kind {self.kind!r} (one of {', '.join(KINDS)})")
        if self.labels is not None:
            if self.kind != "text":
                raise ValueError(f"field {self.header!r}: display labels are for text codes, not {self.kind!r}")
            labels = self.labels
            if hasattr(labels, "choices"):  # TextChoices class
                labels = labels.choices
            if isinstance(labels, Mapping):
                labels = labels.items()
            if not callable(labels):  # kept as pairs: the field stays hashable and comparable
                object.__setattr__(self, "labels", tuple((str(k), str(v)) for k, v in labels))

    @property
    def title(self) -> str:
        """The people's header (XLSX)."""
        return self.label or self.header

    def display(self) -> Callable[[object], object]:
        """value -> what people read (XLSX): the code's label where the field has labels."""
        if self.labels is None:
            return lambda value: value
        if callable(self.labels):
            fn = self.labels
            return lambda value: value if value in (None, "") else fn(value)
        mapping = dict(self.labels)
        return lambda value: mapping.get(value, value) if isinstance(value, str) else value


def with_annotations(qs: QuerySet, fields: list[Field]) -> QuerySet:
    needed = {f.path: f.annotate() for f in fields if f.annotate is not None and f.load is None}
    return qs.annotate(**needed) if needed else qs


def iter_rows(qs: QuerySet, fields: list[Field], chunk_size: int = 2000) -> Iterator[tuple]:
    """Values in field order, fetched ``chunk_size`` rows at a time (server-side cursor on
    PostgreSQL): memory stays flat whatever the row count."""
    loaded = [i for i, f in enumerate(fields) if f.load is not None]
    if not loaded:
        yield from qs.values_list(*[f.path for f in fields]).iterator(chunk_size=chunk_size)
        return
    db_paths = ["pk"] + [f.path for f in fields if f.load is None]
    source = qs.values_list(*db_paths).iterator(chunk_size=chunk_size)
    while chunk := list(islice(source, chunk_size)):
        pks = [row[0] for row in chunk]
        extra = {i: fields[i].load(pks) for i in loaded}
        for row in chunk:
            values = iter(row[1:])
            yield tuple(extra[i].get(row[0]) if i in extra else next(values) for i in range(len(fields)))


@dataclass
class Manifest:
    """What a file holds and where it came from; written into every export file."""

    list_title: str
    generated_by: str
    query: str
    filters: list[str]
    columns: str
    selection: str
    rows: int | None  # None: streamed rows built on the fly (a diff), not counted before writing
    accounts: list[tuple[str, str, dt.datetime | None]]
    generated_at: dt.datetime = field(default_factory=timezone.now)

    def items(self) -> list[tuple[str, str]]:
        items = [
            ("export", f"numbersadmin {self.list_title}"),
            ("generated_at", self.generated_at.isoformat(timespec="seconds")),
            ("generated_by", self.generated_by),
            ("rows", str(self.rows) if self.rows is not None else "not counted in advance (one line per difference)"),
            ("selection", self.selection),
            ("columns", self.columns),
            ("filters", "; ".join(self.filters) or "none"),
            ("query", self.query or "(none)"),
        ]
        for name, provider, last in self.accounts:
            items.append((f"account {name} ({provider})",
                          f"last successful sync {last.isoformat(timespec='seconds') if last else 'never'}"))
        return items


def accounts_in(qs: QuerySet) -> list[tuple[str, str, dt.datetime | None]]:
    """Accounts whose rows are in the export, with their last good sync (a semi-join, not a row scan
    in Python). The pk subquery also works for aggregated list querysets (owners, trunks)."""
    model = qs.model
    ids = model._base_manager.filter(pk__in=qs.order_by().values("pk")).values("account_id")
    return list(ProviderAccount.objects.filter(pk__in=ids).order_by("name")
                .values_list("name", "provider", "last_success_at"))


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def csv_rows(qs: QuerySet | None, fields: list[Field], manifest: Manifest | None = None,
             chunk_size: int = 2000, rows: Iterable[tuple] | None = None) -> Iterator[str]:
    """Yields CSV text in chunks; memory stays flat whatever the row count. ``rows``: values in
    field order built elsewhere (the "as of" diff) instead of ``qs``'s.

    The manifest comes first, as lines starting with "# " (pandas: ``read_csv(f, comment="#")``;
    Python: skip lines starting with "#"). So that no data line can be mistaken for one, a row
    whose first cell starts with "#" is written with that row quoted."""
    use_copy = rows is None and connections[qs.db].vendor == "postgresql" and settings.EXPORT_CSV_COPY
    eol = "\n" if use_copy else "\r\n"  # COPY ends rows with LF: keep one line ending per file
    writer = csv.writer(_Echo(), lineterminator=eol)
    quoted = csv.writer(_Echo(), quoting=csv.QUOTE_ALL, lineterminator=eol)
    if manifest is not None:
        yield "".join(f"# {key}: {_one_line(value)}{eol}" for key, value in manifest.items())
    yield writer.writerow([f.header for f in fields])
    if use_copy:
        yield from _copy_rows(qs, fields)
        return
    buffer: list[str] = []
    for row in rows if rows is not None else iter_rows(qs, fields, chunk_size):
        cells = [neutralise(v) for v in row]
        buffer.append((quoted if cells and cells[0].startswith("#") else writer).writerow(cells))
        if len(buffer) >= 500:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


# PostgreSQL COPY: the same rows, cells and safety rule as the Python path above, computed by the
# database (PERFORMANCE.md B3: several times faster than formatting cells in Python, flat memory).
# Each template references its value once, so expression parameters are never duplicated.
_COPY_TEMPLATES = {
    "BooleanField": "CASE %(expressions)s WHEN true THEN 'yes' WHEN false THEN 'no' END",
    # isoformat(): UTC with "+00:00", microseconds only when non-zero
    "DateTimeField": ("(regexp_replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
                      "'[.]000000$', '') || '+00:00')"),
    "DateField": "to_char(%(expressions)s, 'YYYY-MM-DD')",
}
# neutralise(): an apostrophe before a leading = + - @ tab CR, unless the whole cell is an E.164 number
_COPY_TEXT = r"""regexp_replace((%(expressions)s)::text, '^(?!\+[1-9][0-9]{0,14}$)(?=[-=+@\t\r])', '''')"""
# The same rule for a plain column, which may be named several times (no parameters to repeat):
# most cells are settled by their first character, where regexp_replace ran a regular expression
# on every cell (half the time of a 1,000,000-row export).
_COPY_COLUMN_TEXT = r"""(CASE WHEN left((%(expressions)s)::text, 1) IN ('=', '+', '-', '@', E'\t', E'\r')
 AND (%(expressions)s)::text !~ '^\+[1-9][0-9]{0,14}$' THEN '''' || (%(expressions)s)::text
 ELSE (%(expressions)s)::text END)"""


def _copy_expression(expression, field, *, column: bool = False):
    kind = field.get_internal_type() if field is not None else "TextField"
    text = _COPY_COLUMN_TEXT if column else _COPY_TEXT
    return Func(expression, template=_COPY_TEMPLATES.get(kind, text), output_field=TextField())


def copy_statement(qs: QuerySet, fields: list[Field]) -> tuple[str, tuple]:
    """``COPY (SELECT the fields' cells) TO STDOUT`` for ``qs`` (raises EmptyResultSet when Django
    knows it matches nothing)."""
    plain = [f for f in fields if f.load is None]
    compiler = qs.values_list(*[f.path for f in plain]).query.get_compiler(using=qs.db)
    compiler.setup_query()
    selected = {f.path: expression for (expression, _sql, _alias), f in zip(compiler.select, plain)}
    annotations = {}
    for i, f in enumerate(fields):
        if f.load is not None:
            annotations[f"xcol{i}"] = _copy_expression(f.annotate(), None)
        else:
            expression = selected.get(f.path)
            annotations[f"xcol{i}"] = _copy_expression(F(f.path), getattr(expression, "output_field", None),
                                                       column=isinstance(expression, Col))
    sql, params = qs.annotate(**annotations).values_list(*annotations).query.sql_with_params()
    # The first column is always quoted, so no data line can start with "#" (the manifest marker).
    return f'COPY ({sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE ("xcol0"))', params


def _copy_rows(qs: QuerySet, fields: list[Field]) -> Iterator[str]:
    try:
        statement, params = copy_statement(qs, fields)
    except EmptyResultSet:  # a filter Django knows matches nothing: no rows, not an error
        return
    with connections[qs.db].cursor() as cursor:
        with cursor.cursor.copy(statement, params) as copy:
            buffer: list[bytes] = []
            for data in copy:  # one row per item
                buffer.append(bytes(data))
                if len(buffer) >= 1000:
                    yield b"".join(buffer).decode("utf-8")
                    buffer.clear()
            if buffer:
                yield b"".join(buffer).decode("utf-8")


def write_csv(fh, chunks: Iterable[str]) -> None:
    for chunk in chunks:
        fh.write(chunk)


def _text_cell(ws, value):
    # XML 1.0 cannot hold most control characters (a search for "\x19", a provider description):
    # openpyxl refuses them, so they become U+FFFD instead of failing the whole file.
    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value)))
    cell.data_type = "s"
    return cell


# Number formats people expect; the ISO-like date order reads the same in every locale.
XLSX_FORMATS = {"money": "#,##0.00##", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm:ss"}
WIDTH_SAMPLE_ROWS = 200  # column widths come from the header and the first rows
MIN_WIDTH, MAX_WIDTH = 6, 50


def _local_naive(value: dt.datetime, tz) -> dt.datetime:
    """Excel has no time zones: the site's wall-clock time, to the second."""
    if timezone.is_aware(value):
        value = timezone.localtime(value, tz)
    return value.replace(tzinfo=None, microsecond=0)


def _xlsx_value(field: Field, tz) -> Callable[[object], object]:
    """value -> the typed value of an XLSX cell, or ``None`` for a text cell (neutralised)."""
    kind = field.kind
    if kind == "int":
        return lambda v: v if isinstance(v, int) and not isinstance(v, bool) else None
    if kind == "money":
        return lambda v: v if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) else None
    if kind in ("date", "datetime"):
        def when(v):
            if isinstance(v, dt.datetime):
                return _local_naive(v, tz)
            return v if isinstance(v, dt.date) else None
        return when
    return lambda v: None


def _xlsx_cell(field: Field, tz, ws) -> Callable[[object], tuple[object, int]]:
    """value -> (cell, displayed width): typed cells for numbers and dates, text for the rest."""
    display, typed, fmt = field.display(), _xlsx_value(field, tz), XLSX_FORMATS.get(field.kind)

    def cell(value):
        if value is None:
            return None, 0
        native = typed(value)
        if native is None:
            shown = display(value)
            out = _text_cell(ws, shown)
            return out, len(out.value)
        out = WriteOnlyCell(ws, value=native)
        if fmt:
            out.number_format = fmt
        if isinstance(native, dt.datetime):
            width = 19
        elif isinstance(native, dt.date):
            width = 10
        else:
            width = len(f"{native:,.2f}" if field.kind == "money" else str(native))
        return out, width

    return cell


def write_xlsx(target, qs: QuerySet | None, fields: list[Field], manifest: Manifest | None = None,
               progress: Callable[[int], None] | None = None, rows: Iterable[tuple] | None = None) -> int:
    """A spreadsheet for people, in openpyxl write-only mode (constant memory): headers as on
    screen (``Field.label``), display labels for codes, numbers and dates as typed cells (dates in
    the site's time zone, without offset: Excel cannot hold one; the manifest names the zone),
    every other cell text (identifiers such as E.164 keep their "+" and leading zeros; the CSV
    injection rule applies; nothing is ever a formula). Frozen header row, an autofilter over the
    data, column widths from the header and the first rows. The manifest is a second sheet.
    ``target`` is a path or a binary file object."""
    tz = timezone.get_default_timezone()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    makers = [_xlsx_cell(f, tz, ws) for f in fields]
    source = iter(rows) if rows is not None else iter_rows(qs, fields)
    # Widths and the frozen pane are written before the rows: size the columns from a sample.
    sample = list(islice(source, WIDTH_SAMPLE_ROWS))
    widths = [len(f.title) for f in fields]
    for row in sample:
        for i, (make, value) in enumerate(zip(makers, row)):
            widths[i] = max(widths[i], make(value)[1])
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for f in fields:
        cell = _text_cell(ws, f.title)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    written = 0
    for row in chain(sample, source):
        ws.append([make(value)[0] for make, value in zip(makers, row)])
        written += 1
        if progress and written % 1000 == 0:
            progress(written)
    if fields:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(fields))}{written + 1}"  # written after the rows
    if manifest is not None:
        meta = wb.create_sheet("manifest")
        meta.column_dimensions["A"].width = 30
        meta.column_dimensions["B"].width = 100
        items = manifest.items() + [
            ("time_zone", f"{timezone.get_default_timezone_name()} (dates and times in this file; the CSV "
                          "export writes them in UTC with an offset)"),
            ("headers", "; ".join(f"{f.title} = {f.header}" for f in fields)),
        ]
        for key, value in items:
            meta.append([_text_cell(meta, key), _text_cell(meta, value)])
    wb.save(target)
    return written

"""CSV export of a list, built from the same selector queryset the screen shows.

Safety rule (OWASP CSV injection), decided once here: a cell starting with ``= + - @``, tab or CR
gets a leading apostrophe, EXCEPT a value that is exactly an E.164 number (``+`` then 1-15
digits): digits alone cannot form a formula, and ops need the ``+`` kept verbatim.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import F, OuterRef, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)

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


# (header, values() path). Kept flat so the export runs as one set-based query.
NUMBER_COLUMNS = [
    ("e164", "e164"),
    ("number_raw", "number_raw"),
    ("valid", "is_valid"),
    ("provider", "provider"),
    ("account", "account__name"),
    ("country", "country"),
    ("region", "region"),
    ("city", "city"),
    ("kind", "kind"),
    ("status", "status"),
    ("provider_status", "raw_status"),
    ("trunk", "trunk__name"),
    ("trunk_group", "trunk_group__name"),
    ("did_group", "number_group__name"),
    ("application", "application"),
    ("description", "description"),
    ("owner", "owner__name"),
    ("owner_type", "owner__owner_type"),
    ("location", "location__name"),
    ("extension", "extension"),
    ("main_number", "is_main_number"),
    ("voice", "voice"),
    ("sms", "sms"),
    ("mms", "mms"),
    ("monthly_cost", "monthly_cost"),
    ("currency", "currency"),
    ("acquired_at", "acquired_at"),
    ("expires_at", "expires_at"),
    ("first_seen", "first_seen"),
    ("missing_since", "missing_since"),
    ("removed_at", "removed_at"),
    ("account_last_sync", "account__last_success_at"),
    ("tags", "tag_names"),
    ("note", "note_text"),
]
CALLER_ID_COLUMNS = [
    ("e164", "e164"), ("number_raw", "number_raw"), ("provider", "account__provider"), ("account", "account__name"),
    ("verification_state", "state"), ("verified_until", "verified_until"), ("active", "active"),
    ("code_entering_attempts_left", "code_entering_attempts_left"),
    ("verification_call_attempts_left", "verification_call_attempts_left"),
    ("owned_by_account", "owner_account"), ("external_id", "external_id"), ("account_last_sync", "account__last_success_at"),
]
OWNER_COLUMNS = [
    ("name", "name"), ("type", "owner_type"), ("first_name", "first_name"), ("last_name", "last_name"),
    ("account", "account__name"), ("provider", "account__provider"), ("location", "location__name"),
    ("numbers", "number_count"), ("external_id", "external_id"),
]
LOCATION_COLUMNS = [
    ("name", "name"), ("kind", "kind"), ("account", "account__name"), ("provider", "account__provider"),
    ("country", "country_code"), ("region", "region"), ("city", "city"), ("main_number", "main_number"),
    ("numbers", "number_count"), ("external_id", "external_id"),
]
TRUNK_COLUMNS = [
    ("name", "name"), ("account", "account__name"), ("provider", "account__provider"), ("kind", "kind"),
    ("trunk_group", "trunk_group__name"), ("description", "description"), ("numbers", "number_count"),
    ("external_id", "external_id"), ("removed_at", "removed_at"),
]
TRUNK_GROUP_COLUMNS = [
    ("name", "name"), ("account", "account__name"), ("provider", "account__provider"),
    ("capacity_limit", "capacity_limit"), ("trunks", "trunk_count"), ("numbers", "number_count"),
    ("external_id", "external_id"), ("removed_at", "removed_at"),
]


def _tag_names(pks: list[int]) -> dict[int, str]:
    from ..models import Tag

    names: dict[int, list[str]] = {}
    for pk, name in (Tag.numbers.through.objects.filter(phonenumber_id__in=pks)
                     .order_by("tag__name").values_list("phonenumber_id", "tag__name")):
        names.setdefault(pk, []).append(name)
    return {pk: ", ".join(v) for pk, v in names.items()}


def _tag_names_sql():
    from django.db.models import StringAgg, Subquery, Value

    from ..models import Tag

    return Subquery(
        Tag.numbers.through.objects.filter(phonenumber_id=OuterRef("pk")).order_by().values("phonenumber_id")
        .annotate(names=StringAgg("tag__name", delimiter=Value(", "), order_by="tag__name")).values("names")[:1])


# Export paths that are not plain columns. Expressions are added to the query only when exported.
NUMBER_ANNOTATIONS = {"note_text": lambda: F("note__text")}


def with_annotations(qs: QuerySet, columns: list[tuple[str, str]], annotations: dict) -> QuerySet:
    needed = {path: annotations[path]() for _, path in columns if path in annotations}
    return qs.annotate(**needed) if needed else qs


@dataclass(frozen=True)
class LoadedColumn:
    """A many-to-many list per row. The Python path loads it for a chunk of rows with one query
    (the same on SQLite and PostgreSQL, never a query per row); COPY computes the same value
    in SQL."""

    load: Callable[[list[int]], dict[int, str]]
    expression: Callable[[], object]


CHUNK_LOADERS = {"tag_names": LoadedColumn(_tag_names, _tag_names_sql)}


def iter_rows(qs: QuerySet, columns: list[tuple[str, str]], chunk_size: int = 2000) -> Iterator[tuple]:
    """Values in column order, fetched ``chunk_size`` rows at a time (server-side cursor on
    PostgreSQL): memory stays flat whatever the row count."""
    paths = [path for _, path in columns]
    loaded = [i for i, path in enumerate(paths) if path in CHUNK_LOADERS]
    if not loaded:
        yield from qs.values_list(*paths).iterator(chunk_size=chunk_size)
        return
    db_paths = ["pk"] + [p for p in paths if p not in CHUNK_LOADERS]
    source = qs.values_list(*db_paths).iterator(chunk_size=chunk_size)
    while chunk := list(islice(source, chunk_size)):
        pks = [row[0] for row in chunk]
        extra = {i: CHUNK_LOADERS[paths[i]].load(pks) for i in loaded}
        for row in chunk:
            values = iter(row[1:])
            yield tuple(extra[i].get(row[0]) if i in extra else next(values) for i in range(len(paths)))


@dataclass
class Manifest:
    """What a file holds and where it came from; written into every export file."""

    list_title: str
    generated_by: str
    query: str
    filters: list[str]
    columns: str
    selection: str
    rows: int
    accounts: list[tuple[str, str, dt.datetime | None]]
    generated_at: dt.datetime = field(default_factory=timezone.now)

    def items(self) -> list[tuple[str, str]]:
        items = [
            ("export", f"numbersadmin {self.list_title}"),
            ("generated_at", self.generated_at.isoformat(timespec="seconds")),
            ("generated_by", self.generated_by),
            ("rows", str(self.rows)),
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
    from ..models import ProviderAccount

    model = qs.model
    ids = model._base_manager.filter(pk__in=qs.order_by().values("pk")).values("account_id")
    return list(ProviderAccount.objects.filter(pk__in=ids).order_by("name")
                .values_list("name", "provider", "last_success_at"))


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def csv_rows(qs: QuerySet, columns: list[tuple[str, str]], manifest: Manifest | None = None,
             chunk_size: int = 2000) -> Iterator[str]:
    """Yields CSV text in chunks; memory stays flat whatever the row count.

    The manifest comes first, as lines starting with "# " (pandas: ``read_csv(f, comment="#")``;
    Python: skip lines starting with "#"). So that no data line can be mistaken for one, a row
    whose first cell starts with "#" is written with that row quoted."""
    use_copy = connections[qs.db].vendor == "postgresql" and settings.EXPORT_CSV_COPY
    eol = "\n" if use_copy else "\r\n"  # COPY ends rows with LF: keep one line ending per file
    writer = csv.writer(_Echo(), lineterminator=eol)
    quoted = csv.writer(_Echo(), quoting=csv.QUOTE_ALL, lineterminator=eol)
    if manifest is not None:
        yield "".join(f"# {key}: {_one_line(value)}{eol}" for key, value in manifest.items())
    yield writer.writerow([header for header, _ in columns])
    if use_copy:
        yield from _copy_rows(qs, columns)
        return
    buffer: list[str] = []
    for row in iter_rows(qs, columns, chunk_size):
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


def _copy_expression(expression, field):
    from django.db.models import Func, TextField

    kind = field.get_internal_type() if field is not None else "TextField"
    return Func(expression, template=_COPY_TEMPLATES.get(kind, _COPY_TEXT), output_field=TextField())


def _copy_rows(qs: QuerySet, columns: list[tuple[str, str]]) -> Iterator[str]:
    plain = [c for c in columns if c[1] not in CHUNK_LOADERS]
    compiler = qs.values_list(*[p for _, p in plain]).query.get_compiler(using=qs.db)
    compiler.setup_query()
    fields = {path: getattr(expression, "output_field", None)
              for (expression, _sql, _alias), (_, path) in zip(compiler.select, plain)}
    annotations = {}
    for i, (_, path) in enumerate(columns):
        if path in CHUNK_LOADERS:
            annotations[f"xcol{i}"] = _copy_expression(CHUNK_LOADERS[path].expression(), None)
        else:
            annotations[f"xcol{i}"] = _copy_expression(F(path), fields.get(path))
    try:
        sql, params = qs.annotate(**annotations).values_list(*annotations).query.sql_with_params()
    except EmptyResultSet:  # a filter Django knows matches nothing: no rows, not an error
        return
    # The first column is always quoted, so no data line can start with "#" (the manifest marker).
    statement = f'COPY ({sql}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE ("xcol0"))'
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
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=neutralise(value))
    cell.data_type = "s"
    return cell


def write_xlsx(target, qs: QuerySet, columns: list[tuple[str, str]], manifest: Manifest | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    """openpyxl write-only mode (constant memory); every cell is text, so nothing is a formula
    and numbers keep their "+" and leading zeros. The manifest is a second sheet. ``target`` is
    a path or a binary file object."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    ws.append([_text_cell(ws, header) for header, _ in columns])
    rows = 0
    for row in iter_rows(qs, columns):
        ws.append([_text_cell(ws, value) for value in row])
        rows += 1
        if progress and rows % 1000 == 0:
            progress(rows)
    if manifest is not None:
        meta = wb.create_sheet("manifest")
        for key, value in manifest.items():
            meta.append([_text_cell(meta, key), _text_cell(meta, value)])
    wb.save(target)
    return rows


def run_export_job(job_id) -> None:
    """Builds a queued XLSX export (Celery task or the in-process runner). The file is written
    under a temporary name and renamed, so a half-written file is never offered for download."""
    from .. import lists
    from ..models import ExportJob

    job = ExportJob.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or job.state != ExportJob.State.QUEUED:
        return
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.RUNNING)
    try:
        plan = lists.job_plan(job)
        folder = Path(settings.EXPORT_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{job.pk}.xlsx"
        partial = folder / f"{job.pk}.xlsx.part"

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_written=done)

        with partial.open("wb") as fh:
            rows = write_xlsx(fh, plan.qs, plan.columns, plan.manifest(job.requested_by, job.rows_total), progress)
        partial.replace(final)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.SUCCEEDED, rows_written=rows,
                                                   finished_at=timezone.now())
    except Exception as exc:  # recorded on the job; the message names the class only (no data, no secrets)
        logger.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.FAILED, finished_at=timezone.now(),
                                                   error_message=f"Export failed ({type(exc).__name__}).")


def cleanup_export_jobs(now: dt.datetime | None = None) -> int:
    """Deletes job files older than EXPORT_RETENTION_HOURS (the job row stays, for the audit
    trail) and fails jobs whose worker died mid-run. Returns the number of files deleted."""
    from ..models import ExportJob

    now = now or timezone.now()
    deleted = 0
    expired = ExportJob.objects.filter(state=ExportJob.State.SUCCEEDED, finished_at__lt=now - dt.timedelta(
        hours=settings.EXPORT_RETENTION_HOURS)).exclude(file_name="")
    for job in expired:
        for suffix in (".xlsx", ".xlsx.part"):
            path = Path(settings.EXPORT_DIR) / f"{job.pk}{suffix}"
            if path.exists():
                path.unlink()
                deleted += 1
        ExportJob.objects.filter(pk=job.pk).update(file_name="")
    limit = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    ExportJob.objects.filter(state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
                             created_at__lt=now - limit).update(
        state=ExportJob.State.FAILED, finished_at=now, error_message="Export interrupted (worker stopped); start it again.")
    return deleted

"""CSV export of a list, built from the same selector queryset the screen shows.

Safety rule (OWASP CSV injection), decided once here: a cell starting with ``= + - @``, tab or CR
gets a leading apostrophe, EXCEPT a value that is exactly an E.164 number (``+`` then 1-15
digits): digits alone cannot form a formula, and ops need the ``+`` kept verbatim.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from typing import Iterable, Iterator

from django.db.models import QuerySet

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
    ("removed_at", "removed_at"),
    ("account_last_sync", "account__last_success_at"),
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


def csv_rows(qs: QuerySet, columns: list[tuple[str, str]], chunk_size: int = 2000) -> Iterator[str]:
    """Yields CSV text in chunks; memory stays flat whatever the row count."""
    writer = csv.writer(_Echo())
    yield writer.writerow([header for header, _ in columns])
    buffer: list[str] = []
    for row in qs.values_list(*[path for _, path in columns]).iterator(chunk_size=chunk_size):
        buffer.append(writer.writerow([neutralise(v) for v in row]))
        if len(buffer) >= 500:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)


def write_csv(fh, chunks: Iterable[str]) -> None:
    for chunk in chunks:
        fh.write(chunk)


def write_xlsx(path, qs: QuerySet, columns: list[tuple[str, str]]) -> int:
    """openpyxl write-only mode (constant memory); every cell is text, so nothing is a formula
    and numbers keep their "+" and leading zeros."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    ws.append([header for header, _ in columns])
    rows = 0
    for row in qs.values_list(*[p for _, p in columns]).iterator(chunk_size=2000):
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=neutralise(value))
            cell.data_type = "s"
            cells.append(cell)
        ws.append(cells)
        rows += 1
    wb.save(path)
    return rows

"""What changed in the inventory between two moments (a selector): numbers added, removed,
restored, and each tracked field whose value differs, read as people read history (names, labels).

Built on asof.py, so a diff always agrees with the two "as of" lists it compares: the numbers with
a history event or a first sighting in (start, end] are rebuilt at both moments, a chunk at a
time, and compared field by field."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Iterator

from django.db.models import Q

from . import asof, history
from .choices import NumberStatus
from .models import TRACKED_FIELDS, NumberChange, PhoneNumber
from .services.exports import Field
from .services.ingest import stored_text

CHUNK = 1000
ADDED, REMOVED, RESTORED, CHANGED = "added", "removed", "restored", "changed"
CHANGE_LABELS = {ADDED: "Added", REMOVED: "Removed", RESTORED: "Restored", CHANGED: "Changed"}
# Columns of the diff file (CSV headers; XLSX shows the labels).
FIELDS = [Field("e164", "e164", label="Number"), Field("provider", "provider", label="Provider"),
          Field("account", "account", label="Account"),
          Field("change", "change", label="Change", labels=CHANGE_LABELS), Field("field", "field", label="Field"),
          Field("before", "before", label="Before"), Field("after", "after", label="After")]


@dataclass
class DiffRow:
    number_id: int
    e164: str
    provider: str
    account: str
    change: str  # ADDED | REMOVED | RESTORED | CHANGED
    field: str = ""  # a label people read ("Trunk"), for CHANGED
    before: str = ""
    after: str = ""

    def values(self) -> tuple:
        return (self.e164, self.provider, self.account, self.change, self.field, self.before, self.after)


def candidates(start, end, numbers=None):
    """Ids of the numbers that may differ between ``start`` and ``end`` (a history event or a
    first sighting in between), in number order; ``numbers`` (a PhoneNumber queryset, e.g. the
    list's filters) narrows them."""
    qs = numbers if numbers is not None else PhoneNumber.objects.all()
    touched = NumberChange.objects.filter(at__gt=start, at__lte=end).values("number_id")
    return (qs.filter(Q(pk__in=touched) | Q(first_seen__gt=start, first_seen__lte=end))
            .order_by("e164", "pk").values_list("pk", flat=True))


def diff(start, end, numbers=None) -> Iterator[DiffRow]:
    """The differences, number by number (number order), events first then fields."""
    ids = candidates(start, end, numbers).iterator(chunk_size=CHUNK)
    while True:
        chunk = [pk for _, pk in zip(range(CHUNK), ids)]
        if not chunk:
            return
        yield from _chunk(chunk, start, end)


def _rebuilt(moment, ids) -> dict[int, dict]:
    qs = asof.rebase(PhoneNumber.objects.filter(pk__in=ids), moment)
    return {r["id"]: r for r in qs.values("id", "account__name", "provider", *TRACKED_FIELDS)}


def _chunk(ids: list[int], start, end) -> Iterator[DiffRow]:
    before, after = _rebuilt(start, ids), _rebuilt(end, ids)
    pairs = []
    for pk in ids:
        b, a = before.get(pk), after.get(pk)
        if a is None:  # first seen after ``end``: not a candidate unless history says odd things
            continue
        changed = [] if b is None else [f for f in TRACKED_FIELDS if b[f] != a[f]]
        pairs.append((pk, b, a, changed))
    # Related names (trunks, owners, ...) in one query per model for the whole chunk.
    names = history.related_names(SimpleNamespace(field=f, old_value=stored_text(b[f]), new_value=stored_text(a[f]))
                                  for _, b, a, changed in pairs for f in changed)
    for pk, b, a, changed in pairs:
        row = dict(number_id=pk, e164=a["e164"], provider=a["provider"], account=a["account__name"])
        if b is None:
            yield DiffRow(**row, change=ADDED, after=history.readable("status", a["status"], names))
            continue
        was_removed, is_removed = b["status"] == NumberStatus.REMOVED, a["status"] == NumberStatus.REMOVED
        if was_removed != is_removed:
            yield DiffRow(**row, change=REMOVED if is_removed else RESTORED)
        for f in changed:
            if f == "status" and was_removed != is_removed:
                continue  # the event above says it
            yield DiffRow(**row, change=CHANGED, field=history.field_label(f),
                          before=history.readable(f, stored_text(b[f]), names),
                          after=history.readable(f, stored_text(a[f]), names))


def summary(rows: list[DiffRow]) -> dict[str, int]:
    """Numbers per change kind (a number with several changed fields counts once)."""
    seen: dict[str, set[int]] = {k: set() for k in CHANGE_LABELS}
    for r in rows:
        seen[r.change].add(r.number_id)
    return {k: len(v) for k, v in seen.items()}

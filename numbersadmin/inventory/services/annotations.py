"""Local notes and tags on numbers: the only writer of ``Tag``, its through table and ``NumberNote``.

These tables hang off ``PhoneNumber`` by id and services/ingest.py never writes them (it updates
provider columns, soft-removes and restores, but never deletes a number), so what people write
here survives every sync, removal and reappearance.

Bulk edits are set-based: a fixed handful of statements per 1,000 numbers (through rows by
``bulk_create(ignore_conflicts=True)`` and one DELETE, notes by one UPDATE plus one INSERT), all
in one transaction so an error leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, QuerySet, TextField, Value
from django.db.models.functions import Concat, Length
from django.utils import timezone

from ..models import NumberNote, PhoneNumber, Tag
from .audit import audit

TAG_MAX_LENGTH = 50
TAG_PUNCTUATION = " -_.:/"
MAX_TAGS_PER_EDIT = 50
NOTE_MAX_LENGTH = 4000
NOTE_MODES = ("keep", "set", "append", "clear")
APPEND_SEPARATOR = "\n"
# Ids per statement: well under SQLite's and PostgreSQL's bound-parameter limits.
BATCH = 1000

Through = Tag.numbers.through


# --- validation ---------------------------------------------------------------------------------


def normalise_tag(raw: str) -> str:
    """Trimmed, lower-case, inner whitespace collapsed. "" for blank input."""
    name = " ".join(str(raw).split()).lower()
    if len(name) > TAG_MAX_LENGTH:
        raise ValidationError(f"Tag “{name[:20]}…” is longer than {TAG_MAX_LENGTH} characters.")
    bad = sorted({c for c in name if not (c.isalnum() or c in TAG_PUNCTUATION)})
    if bad:
        shown = " ".join(repr(c)[1:-1] for c in bad)
        raise ValidationError(
            f"Tag “{name}” contains {shown}: tags may only use letters, digits, spaces and - _ . : /")
    return name


def parse_tags(value: str | Iterable[str] | None) -> list[str]:
    """Comma-separated text (or a list of names) -> unique normalised names, in input order.
    Every bad name is reported at once."""
    if value is None:
        return []
    parts = value.split(",") if isinstance(value, str) else list(value)
    names: list[str] = []
    errors: list[str] = []
    for part in parts:
        try:
            name = normalise_tag(part)
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        if name and name not in names:
            names.append(name)
    if errors:
        raise ValidationError(errors)
    if len(names) > MAX_TAGS_PER_EDIT:
        raise ValidationError(f"At most {MAX_TAGS_PER_EDIT} tags at a time ({len(names)} given).")
    return names


def normalise_note(text: str | None) -> str:
    # Browsers submit CRLF; count and store "\n" so the limit means what the textarea shows.
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if "\x00" in text:
        raise ValidationError("Note contains a null character.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationError(f"Note is {len(text)} characters long; the limit is {NOTE_MAX_LENGTH}.")
    return text


# --- single number ------------------------------------------------------------------------------


@transaction.atomic
def set_note(number: PhoneNumber, text: str | None, user=None) -> NumberNote | None:
    """Set the number's note; empty text deletes it. Audited when something changed."""
    text = normalise_note(text)
    current = NumberNote.objects.filter(number_id=number.pk).first()
    if not text:
        if current is not None:
            current.delete()
            audit(user, "number.note", number, {"number_id": number.pk, "change": "cleared"})
        return None
    if current is not None and current.text == text:
        return current
    note, _ = NumberNote.objects.update_or_create(number_id=number.pk,
                                                  defaults={"text": text, "updated_by": _user(user)})
    audit(user, "number.note", number, {"number_id": number.pk, "change": "set", "chars": len(text)})
    return note


@transaction.atomic
def set_tags(number: PhoneNumber, names: str | Iterable[str] | None, user=None) -> list[str]:
    """Replace the number's tags with ``names``. Returns the normalised names."""
    wanted = parse_tags(names)
    current = dict(Through.objects.filter(phonenumber_id=number.pk).values_list("tag__name", "tag_id"))
    added = [n for n in wanted if n not in current]
    removed = sorted(n for n in current if n not in wanted)
    if added:
        ids = _tag_ids(added)
        Through.objects.bulk_create([Through(tag_id=t, phonenumber_id=number.pk) for t in ids.values()],
                                    ignore_conflicts=True)
    if removed:
        dropped = [current[n] for n in removed]
        Through.objects.filter(phonenumber_id=number.pk, tag_id__in=dropped).delete()
        _prune(dropped)
    if added or removed:
        audit(user, "number.tags", number, {"number_id": number.pk, "added": added, "removed": removed})
    return wanted


@transaction.atomic
def annotate(number: PhoneNumber, *, note: str | None, tags: str | Iterable[str] | None, user=None) -> None:
    """The number page's form: note and tags together, or neither."""
    set_note(number, note, user)
    set_tags(number, tags, user)


# --- bulk ---------------------------------------------------------------------------------------


def selected_ids(numbers: QuerySet | Iterable[int], only: Iterable[int] | None = None) -> list[int]:
    """Ids of existing numbers in ``numbers`` (a queryset, or ids), narrowed to ``only`` when given.
    Ids that do not exist or do not match are dropped, never written."""
    if not isinstance(numbers, QuerySet):
        numbers, only = PhoneNumber.objects.all(), (numbers if only is None else set(numbers) & set(only))
    qs = numbers.order_by().values_list("pk", flat=True)
    if only is None:
        return sorted(set(qs))  # set(): a multi-valued join must not list a number twice
    ids: set[int] = set()
    for chunk in _chunks(sorted({int(i) for i in only})):
        ids.update(qs.filter(pk__in=chunk))
    return sorted(ids)


def count_selected(numbers: QuerySet, only: Iterable[int] | None = None) -> int:
    """Exact size of the selection, without loading ids when the whole filter is meant."""
    if only is None:
        return numbers.order_by().count()
    return sum(numbers.filter(pk__in=chunk).order_by().count() for chunk in _chunks(sorted(set(only))))


def bulk_apply(
    numbers: QuerySet | Iterable[int], add_tags=(), remove_tags=(), note_mode: str = "keep", note_text: str = "",
    user=None, *, only: Iterable[int] | None = None, audit_detail: dict | None = None,
) -> int:
    """Add/remove tags and keep/set/append/clear the note on every selected number, in one
    transaction, with one audit entry. Returns how many numbers were selected (0 writes nothing).
    Raises ValidationError before writing anything when the input is not valid."""
    add = parse_tags(add_tags)
    remove = parse_tags(remove_tags)
    both = sorted(set(add) & set(remove))
    if both:
        raise ValidationError(f"A tag cannot be both added and removed: {', '.join(both)}.")
    if note_mode not in NOTE_MODES:
        raise ValidationError(f"Unknown note action {note_mode!r}; use one of {', '.join(NOTE_MODES)}.")
    text = normalise_note(note_text) if note_mode in ("set", "append") else ""
    if note_mode in ("set", "append") and not text:
        raise ValidationError("Write the note text to set or append (use “clear” to remove notes).")
    if not add and not remove and note_mode == "keep":
        raise ValidationError("Nothing to change: add or remove a tag, or choose a note action.")

    with transaction.atomic():
        ids = selected_ids(numbers, only)
        if not ids:
            return 0
        user = _user(user)
        now = timezone.now()
        if note_mode == "append":
            _check_append_fits(ids, text)
        add_ids = list(_tag_ids(add).values()) if add else []
        remove_ids = list(Tag.objects.filter(name__in=remove).values_list("pk", flat=True)) if remove else []
        for chunk in _chunks(ids):
            if add_ids:
                Through.objects.bulk_create([Through(tag_id=t, phonenumber_id=n) for n in chunk for t in add_ids],
                                            ignore_conflicts=True, batch_size=BATCH)
            if remove_ids:
                Through.objects.filter(tag_id__in=remove_ids, phonenumber_id__in=chunk).delete()
            _apply_note(chunk, note_mode, text, user, now)
        if remove_ids:
            _prune(remove_ids)
        audit(user, "bulk_edit", "numbers", {
            **(audit_detail or {}), "add_tags": add, "remove_tags": remove, "note_mode": note_mode,
            "note_chars": len(text),
        }, rows=len(ids))
        return len(ids)


# --- helpers ------------------------------------------------------------------------------------


def _user(user):
    return user if getattr(user, "is_authenticated", False) else None


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _tag_ids(names: list[str]) -> dict[str, int]:
    """name -> id, creating the missing tags (ignore_conflicts: a concurrent creator wins harmlessly)."""
    ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    missing = [n for n in names if n not in ids]
    if missing:
        Tag.objects.bulk_create([Tag(name=n) for n in missing], ignore_conflicts=True)
        ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
    return ids


def _prune(tag_ids: list[int]) -> None:
    # A tag nobody uses any more would linger as a dead choice in the numbers list's tag filter.
    Tag.objects.filter(pk__in=tag_ids, numbers__isnull=True).delete()


def _check_append_fits(ids: list[int], text: str) -> None:
    room = NOTE_MAX_LENGTH - len(APPEND_SEPARATOR) - len(text)
    too_long = sum(
        NumberNote.objects.filter(number_id__in=chunk).annotate(n=Length("text")).filter(n__gt=room).count()
        for chunk in _chunks(ids)
    )
    if too_long:
        raise ValidationError(f"Appending would make {too_long} note{'s' if too_long != 1 else ''} longer than "
                              f"{NOTE_MAX_LENGTH} characters; nothing was changed.")


def _apply_note(chunk: list[int], mode: str, text: str, user, now) -> None:
    if mode == "keep":
        return
    notes = NumberNote.objects.filter(number_id__in=chunk)
    if mode == "clear":
        notes.delete()
        return
    existing = set(notes.values_list("number_id", flat=True))
    if existing:
        new_text = Value(text) if mode == "set" else Concat(F("text"), Value(APPEND_SEPARATOR + text),
                                                            output_field=TextField())
        # update() skips auto_now, so updated_at is set here.
        notes.update(text=new_text, updated_by=user, updated_at=now)
    NumberNote.objects.bulk_create(
        [NumberNote(number_id=n, text=text, updated_by=user, updated_at=now) for n in chunk if n not in existing],
        batch_size=BATCH,
    )

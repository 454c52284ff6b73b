"""Reading single wire values: one meaning per name, shared by every provider's mapping.

Providers send text, flags and timestamps loosely typed (numbers as strings, booleans as
"true", absent fields as null). Each helper below says exactly what it accepts; a mapping that
needs another reading uses another name, never a local function of the same name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Collection

UTC = dt.timezone.utc


def text(value: Any) -> str:
    """Any value as stripped text; None is ""."""
    return "" if value is None else str(value).strip()


def strict_text(value: Any) -> str:
    """A string, stripped; anything else (None, numbers, objects) is "" rather than its repr."""
    return value.strip() if isinstance(value, str) else ""


def verbatim_text(value: Any) -> str:
    """Any value as text exactly as sent (not stripped); None is ""."""
    return "" if value is None else str(value)


def flag(value: Any) -> bool | None:
    """A JSON boolean or the text "true"/"false" (any case, padded); None (unknown) otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


TRUE_WORDS = ("true", "1", "yes")


def truthy(value: Any, true_words: Collection[str] = TRUE_WORDS) -> bool | None:
    """Lenient truth: None stays None (absent); text is True only when it is one of
    ``true_words`` (any case) and False otherwise; anything else by Python truth (1/0)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in true_words
    return bool(value)


def iso_datetime(value: Any) -> dt.datetime | None:
    """ISO 8601 text ("2026-04-20T09:00:00.123Z", "2026-04-20") -> aware datetime, its offset
    kept; without one it is read as UTC, never local time. None when absent or unusable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

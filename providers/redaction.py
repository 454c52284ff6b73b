"""Redaction of raw provider payloads before they are stored: the "raw provider data" panel keeps
the structure, never account identifiers or per-number credentials.

Each provider declares a ``RawRedaction`` on its ``ProviderSpec``: the field names whose values are
credentials or account identifiers (Apifonica ``account_sid`` and SIP ``token``), and the URL path
segments followed by one (Plivo ``/Account/<auth_id>/``). Pure: the sync applies it to every raw
payload it writes, and a data migration applies the same declaration to what was stored before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REDACTED = "[redacted]"


@dataclass(frozen=True)
class RawRedaction:
    keys: frozenset[str] = frozenset()  # field names (any depth) whose value is replaced
    segments: tuple[str, ...] = ()  # "Account" -> ".../Account/<redacted>/..." in any string

    def __call__(self, value: Any) -> Any:
        if not self.keys and not self.segments:
            return value
        return self._walk(value)

    def _walk(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (REDACTED if k in self.keys and value[k] not in (None, "") else self._walk(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, str) and self.segments:
            return self._pattern.sub(lambda m: m.group(1) + REDACTED, value)
        return value

    @property
    def _pattern(self) -> re.Pattern:
        # Cached per instance (frozen dataclass: stash it on the class-level dict by segments).
        pattern = _PATTERNS.get(self.segments)
        if pattern is None:
            alternatives = "|".join(re.escape(s) for s in self.segments)
            pattern = _PATTERNS[self.segments] = re.compile(rf"(/(?:{alternatives})/)[^/?#\s]+", re.IGNORECASE)
        return pattern


_PATTERNS: dict[tuple[str, ...], re.Pattern] = {}
NOTHING = RawRedaction()

"""Redaction of raw provider payloads before they are stored: the "raw provider data" panel keeps
the structure, never account identifiers or per-number credentials.

Each provider declares a ``RawRedaction`` on its ``ProviderSpec``: the field names whose values are
credentials or account identifiers (Apifonica ``account_sid`` and SIP ``token``), and the URL path
segments followed by one (Plivo ``/Account/<auth_id>/``). Pure: the sync applies it to every raw
payload it writes, and a data migration applies the same declaration to what was stored before.
"""

from __future__ import annotations

import functools
import json
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

    def dumps(self, value: Any) -> str:
        """JSON text of the redacted ``value`` (what a jsonb column receives), walking the payload
        only when its text shows one of the keys or segments: most payloads carry neither, and
        the text is needed anyway (the sync COPYs it)."""
        text = json.dumps(value, check_circular=False)
        if (self.keys or self.segments) and _hit_pattern(self.keys, self.segments).search(text):
            text = json.dumps(self._walk(value), check_circular=False)
        return text

    def _walk(self, value: Any) -> Any:
        # One pass per payload; a string reaches the regex only when it holds a "/" (every
        # segment match does), scalars are never recursed into.
        keys = self.keys
        sub = _segment_pattern(self.segments).sub if self.segments else None

        def walk(value: Any) -> Any:
            if isinstance(value, dict):
                out = {}
                for k, v in value.items():
                    if k in keys and v is not None and v != "":
                        out[k] = REDACTED
                    elif isinstance(v, (dict, list)):
                        out[k] = walk(v)
                    elif sub is not None and isinstance(v, str) and "/" in v:
                        out[k] = sub(_keep_segment, v)
                    else:
                        out[k] = v
                return out
            if isinstance(value, list):
                return [walk(v) for v in value]
            if sub is not None and isinstance(value, str) and "/" in value:
                return sub(_keep_segment, value)
            return value

        return walk(value)


def _keep_segment(match: re.Match) -> str:
    return match.group(1) + REDACTED


@functools.cache
def _segment_pattern(segments: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(s) for s in segments)
    return re.compile(rf"(/(?:{alternatives})/)[^/?#\s]+", re.IGNORECASE)


@functools.cache
def _hit_pattern(keys: frozenset[str], segments: tuple[str, ...]) -> re.Pattern:
    """Matches the JSON text of any payload ``_walk`` could change (and a few it would not: a
    string value that looks like a key): a key as an object key (``"token":``), a segment between
    slashes in any string (json.dumps escapes neither ASCII letters nor "/")."""
    parts = [re.escape(json.dumps(k)) + r"\s*:" for k in sorted(keys)]
    parts += [r"(?i:/" + re.escape(s) + r"/)" for s in segments]
    return re.compile("|".join(parts))


NOTHING = RawRedaction()

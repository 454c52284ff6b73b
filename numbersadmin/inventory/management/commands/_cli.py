"""Shared parsing for the CLI: KEY=VALUE and KEY=@FILE arguments."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError


def parse_pairs(items: list[str] | None, *, allow_files: bool = False, what: str = "value") -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"Expected KEY=VALUE for {what}, got {item.split('=')[0]!r}...")
        if allow_files and value.startswith("@"):
            path = Path(value[1:]).expanduser()
            try:
                value = path.read_text()
            except OSError as exc:
                raise CommandError(f"Cannot read {what} file for {key}: {exc.strerror}") from None
        result[key] = value.strip() if allow_files else value
    return result

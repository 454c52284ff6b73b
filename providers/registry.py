"""Explicit provider registry: one line per provider, no auto-discovery."""

from __future__ import annotations

from .base import ProviderSpec
from .didww import SPEC as DIDWW
from .voximplant import SPEC as VOXIMPLANT
from .webex import SPEC as WEBEX

PROVIDERS: dict[str, ProviderSpec] = {
    DIDWW.slug: DIDWW,
    VOXIMPLANT.slug: VOXIMPLANT,
    WEBEX.slug: WEBEX,
}


def get(slug: str) -> ProviderSpec:
    try:
        return PROVIDERS[slug]
    except KeyError:
        raise KeyError(f"unknown provider {slug!r}; known: {', '.join(sorted(PROVIDERS))}") from None


def choices() -> list[tuple[str, str]]:
    return [(spec.slug, spec.name) for spec in PROVIDERS.values()]

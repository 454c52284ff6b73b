"""Explicit provider registry: one line per provider, no auto-discovery."""

from __future__ import annotations

from .base import ProviderSpec
from .apifonica import SPEC as APIFONICA
from .didww import SPEC as DIDWW
from .plivo import SPEC as PLIVO
from .voximplant import SPEC as VOXIMPLANT
from .webex import SPEC as WEBEX

PROVIDERS: dict[str, ProviderSpec] = {
    APIFONICA.slug: APIFONICA,
    DIDWW.slug: DIDWW,
    PLIVO.slug: PLIVO,
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

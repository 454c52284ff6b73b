"""Explicit simulator registry: one line per provider (keyed like ``providers.registry``), no
auto-discovery. The adapters' ``ProviderSpec`` knows nothing of simulators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import apifonica, didww, plivo, voximplant, webex
from .server import Simulator


@dataclass(frozen=True)
class SimulatorSpec:
    factory: Callable[..., Simulator]  # factory(secrets, numbers=int, seed=int, **kw)
    demo_secrets: dict  # what `simulate` / `demo` accept by default (public, simulator-only values)


SIMULATORS: dict[str, SimulatorSpec] = {
    "apifonica": SimulatorSpec(apifonica.from_secrets, apifonica.DEMO_SECRETS),
    "didww": SimulatorSpec(didww.from_secrets, didww.DEMO_SECRETS),
    "plivo": SimulatorSpec(plivo.from_secrets, plivo.DEMO_SECRETS),
    "voximplant": SimulatorSpec(voximplant.from_secrets, voximplant.DEMO_SECRETS),
    "webex": SimulatorSpec(webex.from_secrets, webex.DEMO_SECRETS),
}


def get(slug: str) -> SimulatorSpec:
    try:
        return SIMULATORS[slug]
    except KeyError:
        raise KeyError(f"no simulator for provider {slug!r}; known: {', '.join(sorted(SIMULATORS))}") from None


def demo_secrets(slug: str) -> dict:
    """A copy of the secrets a default simulator of ``slug`` accepts."""
    return dict(get(slug).demo_secrets)


def simulator(slug: str, *, secrets: dict | None = None, numbers: int = 200, seed: int = 1, **kw: Any) -> Simulator:
    """A (not yet started) simulator of ``slug``; ``secrets`` override the demo secrets key by key."""
    spec = get(slug)
    return spec.factory({**spec.demo_secrets, **(secrets or {})}, numbers=numbers, seed=seed, **kw)

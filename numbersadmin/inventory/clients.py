"""Who is asking: the client address as our own proxy saw it (login throttle, /metrics allowlist)."""

from __future__ import annotations

from django.conf import settings


def client_address(request) -> str:
    """REMOTE_ADDR, or behind a proxy (DJANGO_BEHIND_PROXY=1) the address our proxy appended to
    X-Forwarded-For (never one the client wrote itself)."""
    if settings.BEHIND_PROXY:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= settings.PROXY_COUNT:
            return hops[-settings.PROXY_COUNT]
    return request.META.get("REMOTE_ADDR", "")

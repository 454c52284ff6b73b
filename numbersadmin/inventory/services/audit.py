"""The audit trail: one writer for every module that records who did what."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from ..models import AuditLog


# How the current request acts (e.g. {"via": "api", "token": "nightly report"}): added to every
# audit entry written while it is set, so a service never needs to know about API tokens.
_acting: ContextVar[dict] = ContextVar("audit_acting", default={})


@contextmanager
def acting(**how):
    reset = _acting.set({**_acting.get(), **how})
    try:
        yield
    finally:
        _acting.reset(reset)


def audit(user, action: str, target, detail: dict | None = None, rows: int | None = None) -> AuditLog:
    """``user`` is a User, or a label for non-interactive actors ("cli", "demo")."""
    detail = {**_acting.get(), **(detail or {})}
    is_user = getattr(user, "is_authenticated", False)
    return AuditLog.objects.create(
        user=user if is_user else None,
        username=user.get_username() if is_user else (str(user) if user else ""),
        action=action,
        target=str(target)[:200],
        detail=detail or {},
        rows=rows,
    )

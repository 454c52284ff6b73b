"""The audit trail: one writer for every module that records who did what."""

from __future__ import annotations

from ..models import AuditLog


def audit(user, action: str, target, detail: dict | None = None, rows: int | None = None) -> AuditLog:
    """``user`` is a User, or a label for non-interactive actors ("cli", "demo")."""
    is_user = getattr(user, "is_authenticated", False)
    return AuditLog.objects.create(
        user=user if is_user else None,
        username=user.get_username() if is_user else (str(user) if user else ""),
        action=action,
        target=str(target)[:200],
        detail=detail or {},
        rows=rows,
    )

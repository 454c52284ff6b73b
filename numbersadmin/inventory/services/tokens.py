"""Personal API tokens: created (the secret is returned once, only its hash is kept), looked up,
revoked. Every change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ..models import ApiToken
from .audit import audit

PREFIX = "na_"
MAX_TOKENS_PER_USER = 50
MAX_EXPIRY_DAYS = 3650


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user, name: str, *, read_only: bool = True, expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Returns (token, secret). The secret is not stored and cannot be shown again."""
    name = " ".join((name or "").split())
    if not name or "\x00" in name or len(name) > 100:
        raise ValidationError("Give the token a name of 1 to 100 characters.")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days (or none).")
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= MAX_TOKENS_PER_USER:
        raise ValidationError(f"At most {MAX_TOKENS_PER_USER} tokens per user; revoke one first.")
    raw = PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], key_hash=hash_key(raw),
                                    read_only=read_only, expires_at=expires)
    audit(user, "api_token.create", f"token {token.name}",
          {"token": token.pk, "read_only": read_only, "expires_at": expires.isoformat() if expires else None})
    return token, raw


def find_token(raw: str) -> ApiToken | None:
    """The token a secret belongs to (usable or not), or None."""
    if not raw or len(raw) > 200:
        return None
    return ApiToken.objects.select_related("user").filter(key_hash=hash_key(raw)).first()


def touch(token: ApiToken, now=None) -> None:
    """Record use at most once a minute (one small write, not one per request)."""
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(seconds=60):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def revoke_token(token: ApiToken, user) -> None:
    if token.user_id != user.pk:
        raise PermissionDenied("Only the token's owner can revoke it.")
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        audit(user, "api_token.revoke", f"token {token.name}", {"token": token.pk})

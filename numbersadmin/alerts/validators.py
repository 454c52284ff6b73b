"""Where alerts may go: email addresses, and webhook URLs on WEBHOOK_ALLOWED_HOSTS only (http(s),
no credentials in the URL). Checked when a channel is saved and again before every delivery."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

MAX_URL = 500


def validate_email(value: str) -> str:
    value = (value or "").strip()
    EmailValidator(message=f"{value[:80]!r} is not a valid email address.")(value)
    return value.lower()


def validate_webhook_url(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > MAX_URL or any(ord(c) < 32 or c.isspace() for c in value):
        raise ValidationError(f"A webhook URL must be one http(s) URL of at most {MAX_URL} characters.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError("The webhook URL has an invalid port (1-65535).") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValidationError("A webhook URL must be an http(s) URL with a host.")
    if parts.username or parts.password:
        raise ValidationError("A webhook URL must not contain credentials.")
    allowed = {h.lower() for h in settings.WEBHOOK_ALLOWED_HOSTS}
    if parts.hostname.lower() not in allowed:
        raise ValidationError(f"Host {parts.hostname[:100]!r} is not in WEBHOOK_ALLOWED_HOSTS"
                              + (f" ({', '.join(sorted(allowed))})." if allowed else " (empty: no webhooks allowed)."))
    return value


def display_url(url: str) -> str:
    """What pages show of a Slack URL (its path is the credential): scheme and host only."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"

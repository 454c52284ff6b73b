from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

register = template.Library()
NEVER_SYNCED = mark_safe('<span class="fresh stale" title="never synced successfully">never synced</span>')


@register.simple_tag
def freshness(account, now=None):
    """'synced 5 minutes ago', amber when older than twice the sync interval."""
    if account is None:
        return ""
    if not account.last_success_at:
        return NEVER_SYNCED
    now = now or timezone.now()
    if (now - account.last_success_at).total_seconds() < 60:
        label = "synced just now"
    else:
        label = f"synced {timesince(account.last_success_at, now).split(',')[0]} ago"
    css = "fresh stale" if account.is_stale(now) else "fresh"
    return format_html('<span class="{}" title="last good sync {}">{}</span>', css,
                       account.last_success_at.strftime("%Y-%m-%d %H:%M UTC"), label)


@register.filter
def yesno_blank(value):
    return "" if value is None else ("yes" if value else "no")

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from ..choices import key_label
from ..countries import country_label, country_name

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


@register.filter
def country(code):
    """'DE' -> 'Germany' (countries.py); blank stays blank."""
    return country_name(code)


@register.filter
def country_with_code(code):
    """'DE' -> 'Germany (DE)'."""
    return country_label(code) if code else ""


@register.filter
def duration(value):
    """A timedelta (or seconds) for people: '0.19 s', '12.4 s', '2 min 5 s', '1 h 3 min', '2 d 4 h'.
    Blank for None."""
    if value is None or value == "":
        return ""
    seconds = value.total_seconds() if isinstance(value, dt.timedelta) else float(value)
    if seconds < 0:
        return ""
    if seconds < 9.995:
        return f"{seconds:.2f} s"
    if seconds < 59.95:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


@register.filter(name="key_label")
def key_label_filter(key):
    """'api_key' -> 'API key' (choices.key_label)."""
    return key_label(key)

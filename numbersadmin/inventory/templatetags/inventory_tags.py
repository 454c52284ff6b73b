from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from ..choices import AccountHealth

register = template.Library()
NEVER_SYNCED = mark_safe('<span class="fresh stale" title="never synced successfully">never synced</span>')


def _ago(when, now) -> str:
    if (now - when).total_seconds() < 60:
        return "just now"
    return f"{timesince(when, now).split(',')[0]} ago"


def _utc(when) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@register.simple_tag
def freshness(account, now=None):
    """The account's health badge wherever an account's data is shown. With ``account.health``
    (selectors.sync_overview / attach_health): red "failed 5 minutes ago · last good sync 2 hours
    ago" when the last attempt failed, amber when stale or never synced, muted when disabled.
    Without it (a caller that did not load runs): the last good sync alone."""
    if account is None:
        return ""
    now = now or timezone.now()
    health = getattr(account, "health", None)
    if health is not None:
        return health_badge(health, now)
    if not account.last_success_at:
        return NEVER_SYNCED
    css = "fresh stale" if account.is_stale(now) else "fresh"
    return format_html('<span class="{}" title="last good sync {}">synced {}</span>', css,
                       _utc(account.last_success_at), _ago(account.last_success_at, now))


def health_badge(health, now):
    success = health.last_success_at
    good = f"last good sync {_ago(success, now)}" if success else "never synced"
    good_title = f"last good sync {_utc(success)}" if success else "never synced successfully"
    if health.state == AccountHealth.FAILING:
        run = health.last_attempt
        failed = run.finished_at or now
        return format_html(
            '<span class="fresh failing" data-health="failing" title="last sync attempt failed ({}) at {}; {}">'
            'failed {} · {}</span>', run.error_class or "failed", _utc(failed), good_title, _ago(failed, now), good)
    if health.state == AccountHealth.DISABLED:
        return format_html('<span class="fresh disabled" data-health="disabled" title="account disabled: not synced '
                           'automatically; {}">sync disabled · {}</span>', good_title, good)
    if health.state == AccountHealth.NEVER_SYNCED:
        return mark_safe('<span class="fresh stale" data-health="never_synced" title="never synced successfully">'
                         'never synced</span>')
    stale = health.state == AccountHealth.STALE
    return format_html('<span class="{}" data-health="{}" title="{}{}">synced {}</span>',
                       "fresh stale" if stale else "fresh", health.state,
                       "no good sync within twice the sync interval; " if stale else "", good_title, _ago(success, now))


@register.filter
def yesno_blank(value):
    return "" if value is None else ("yes" if value else "no")

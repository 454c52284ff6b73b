from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from ..choices import AccountHealth, key_label
from .. import models, scopes
from ..countries import country_label, country_name

register = template.Library()
NEVER_SYNCED = mark_safe('<span class="fresh stale" title="never synced successfully">never synced</span>')


@register.simple_tag
def fixed_url(name, *args):
    """``{% url %}`` for the page's fixed links (nav, menus, list toolbar): models.fixed_url."""
    return models.fixed_url(name, *args)


# The main nav: (URL name, label). A section is current on its URL and below; the dashboard
# (the site root) only on its own URL.
MAIN_NAV = (("home", "Dashboard"), ("numbers", "Numbers"), ("caller_ids", "Caller IDs"), ("owners", "Owners"),
            ("locations", "Locations"), ("trunks", "Trunks"), ("trunk_groups", "Trunk groups"),
            ("groups", "Groups &amp; pools"), ("findings", "Reconcile"), ("accounts", "Accounts"),
            ("sync_runs", "Sync runs"), ("alert_rules", "Alerts"))


@register.simple_tag
def main_nav(path):
    """The main nav's links, the current section marked (built here: ~40 template nodes a page).
    Labels are fixed HTML."""
    links = []
    for name, label in MAIN_NAV:
        url = models.fixed_url(name)
        current = path == url if name == "home" else path.startswith(url)
        links.append(f'<a href="{url}" {'aria-current="page"' if current else ""}>{label}</a>')
    return mark_safe("\n      ".join(links))


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


@register.filter
def global_manager(user) -> bool:
    """Sees every account and holds the manage permission (scopes.py): the admin-wide pages."""
    return scopes.is_global_manager(user)

"""The dashboard's "Needs attention" panel: ``{% load alerts_tags %}{% needs_attention_panel %}``.

A template tag keeps the import direction right: the inventory's dashboard template loads it, and
no inventory module imports the alerts app (alerts depends on inventory, not the other way)."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from .. import selectors

register = template.Library()


def panel_context(request, *, notice: str = "", errors: dict | None = None) -> dict:
    groups = selectors.needs_attention()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    return {
        "request": request, "groups": groups, "total": sum(g.count for g in groups), "notice": notice,
        "errors": errors or {}, "tomorrow": tomorrow.isoformat(), "week": (tomorrow + dt.timedelta(days=6)).isoformat(),
        "max_day": (timezone.localdate() + dt.timedelta(days=366)).isoformat(),
    }


@register.inclusion_tag("alerts/panel.html", takes_context=True)
def needs_attention_panel(context):
    ctx = panel_context(context["request"])
    ctx["csrf_token"] = context.get("csrf_token")
    return ctx


@register.filter
def panel_error(errors: dict, pk) -> str:
    return errors.get(pk, "") if errors else ""

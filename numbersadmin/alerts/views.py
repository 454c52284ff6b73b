"""Alert pages: rules, items (acknowledge / snooze / reopen), notifications and a person's own
channels. Thin: a form or a selector in, a service call, a page or a redirect out.

Roles: everyone signed in sees every page, acknowledges, snoozes and manages their own channels;
admins (``inventory.manage_accounts``, or staff) also add and remove rules and retry failed
notifications. The dashboard's "Needs attention" panel (templatetags/alerts_tags.py) posts to
the item actions here; with HTMX they answer with the panel itself, without it with a redirect."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import runner, selectors
from .forms import AcknowledgeForm, ChannelAddForm, ChannelSettingsForm, RuleForm, SnoozeForm
from .models import AlertItem, AlertRule, DeliveryState, ItemState
from .services import manage
from .services.rules import table_url

MANAGE = "inventory.manage_accounts"
NOTIFICATIONS_PER_PAGE = 100
RULE_ITEMS_LIMIT = 500


def is_admin(user) -> bool:
    return bool(user.is_authenticated and (user.is_staff or user.has_perm(MANAGE)))


def _require_admin(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only admins manage alert rules.")


def _no_store(response):
    response["Cache-Control"] = "no-store"  # the page may hold a webhook secret shown once
    return response


def _htmx(request) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


# --- rules -------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def rule_list(request):
    admin = is_admin(request.user)
    if request.method == "POST":
        _require_admin(request)
    form = RuleForm(request.POST or None, user=request.user) if admin else None
    created = None
    if request.method == "POST" and form.is_valid():
        rule, secrets = manage.create_rule(form.cleaned_data, user=request.user)
        created = (rule, sorted(secrets.items()))
        messages.success(request, f"Rule “{rule}” added.")
        if not secrets:
            return redirect("alert_rules")
        form = RuleForm(user=request.user)
    return _no_store(render(request, "alerts/rules.html", {
        "rules": selectors.rule_list(), "form": form, "can_manage": admin, "created": created,
    }))


def rule_detail(request, pk: int):
    rule = get_object_or_404(selectors.rule_list(), pk=pk)
    state = request.GET.get("state") or ""
    if state not in ItemState.values:
        state = ""
    counts = {s: 0 for s in ItemState.values}
    for row in selectors.item_list(rule).order_by().values("state").annotate(n=Count("pk")):
        counts[row["state"]] = row["n"]
    return render(request, "alerts/rule.html", {
        "rule": rule, "items": selectors.item_list(rule, state or None)[:RULE_ITEMS_LIMIT], "limit": RULE_ITEMS_LIMIT,
        "shown_total": counts[state] if state else sum(counts.values()), "state": state,
        "states": [(value, label, counts[value]) for value, label in ItemState.choices], "total": sum(counts.values()),
        "table_url": table_url(rule), "channels": list(rule.channels.all()), "can_manage": is_admin(request.user),
    })


@require_http_methods(["GET", "POST"])
def rule_remove(request, pk: int):
    _require_admin(request)
    rule = get_object_or_404(AlertRule, pk=pk)
    if request.method == "POST":
        label = str(rule)
        manage.remove_rule(rule, request.user)
        messages.success(request, f"Rule “{label}” removed.")
        return redirect("alert_rules")
    return render(request, "alerts/rule_remove.html", {"rule": rule, "open_count": selectors.item_list(rule).filter(
        state=ItemState.OPEN).count()})


# --- items -------------------------------------------------------------------------------------------


def _item_page(request, item: AlertItem, *, ack_form=None, snooze_form=None, status: int = 200):
    return render(request, "alerts/item.html", {
        "item": item, "ack_form": ack_form or AcknowledgeForm(), "snooze_form": snooze_form or SnoozeForm(),
        "notifications": item.notifications.select_related("channel").order_by("-created_at", "-id")[:20],
    }, status=status)


def item_detail(request, pk: int):
    item = get_object_or_404(selectors.item_list(), pk=pk)
    return _item_page(request, item)


def _back(request, item: AlertItem):
    """Where a plain POST returns: ``next`` when it is one of ours, else the item's page."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(target)
    return redirect(item)


def _panel_response(request, notice: str = "", errors: dict | None = None):
    from .templatetags.alerts_tags import panel_context

    html = render_to_string("alerts/panel.html", panel_context(request, notice=notice, errors=errors), request=request)
    response = HttpResponse(html)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _from_panel(request) -> bool:
    return _htmx(request) and request.POST.get("panel") == "1"


CLOSED_NOTICE = "This item is closed: its cause is gone. It opens again by itself if it comes back."


def _closed(request, item: AlertItem):
    """Acknowledging or snoozing a closed item would bring it back: say so instead."""
    if _from_panel(request):
        return _panel_response(request, notice=CLOSED_NOTICE)
    messages.warning(request, CLOSED_NOTICE)
    return redirect(item)


def _act_on_item(request, pk: int, form_class, form_arg: str, act, notice):
    """Acknowledge or snooze from the item page or the dashboard panel: the form, the service call
    ``act(item, cleaned_data)``, then the panel (htmx) or a redirect with ``notice(item, cleaned_data)``."""
    item = get_object_or_404(selectors.item_list(), pk=pk)
    if item.state == ItemState.CLOSED:
        return _closed(request, item)
    form = form_class(request.POST)
    if not form.is_valid():
        if _from_panel(request):
            return _panel_response(request, errors={item.pk: " ".join(m for e in form.errors.values() for m in e)})
        return _item_page(request, item, **{form_arg: form})
    item = act(item, form.cleaned_data)
    text = notice(item, form.cleaned_data)
    if _from_panel(request):
        return _panel_response(request, notice=text)
    messages.success(request, text)
    return _back(request, item)


@require_POST
def item_acknowledge(request, pk: int):
    return _act_on_item(request, pk, AcknowledgeForm, "ack_form",
                        lambda item, data: manage.acknowledge(item, request.user, data["reason"]),
                        lambda item, data: f"Acknowledged “{item.label}”.")


@require_POST
def item_snooze(request, pk: int):
    return _act_on_item(request, pk, SnoozeForm, "snooze_form",
                        lambda item, data: manage.snooze(item, request.user, data["until"], data["reason"]),
                        lambda item, data: f"Snoozed “{item.label}” until {data['until']:%d %b %Y}.")


@require_POST
def item_reopen(request, pk: int):
    item = get_object_or_404(selectors.item_list(), pk=pk)
    if item.state == ItemState.CLOSED:
        messages.warning(request, CLOSED_NOTICE)
        return redirect(item)
    item = manage.reopen(item, request.user)
    messages.success(request, f"Reopened “{item.label}”.")
    return _back(request, item)


# --- notifications -----------------------------------------------------------------------------------


def notification_list(request):
    state = request.GET.get("state") or ""
    if state not in DeliveryState.values:
        state = ""
    qs = selectors.notification_list(state or None)
    total = qs.count()
    return render(request, "alerts/notifications.html", {
        "notifications": qs[:NOTIFICATIONS_PER_PAGE], "total": total, "limit": NOTIFICATIONS_PER_PAGE,
        "state": state, "states": DeliveryState.choices, "can_manage": is_admin(request.user),
    })


def notification_detail(request, pk: int):
    notification = get_object_or_404(selectors.notification_list(), pk=pk)
    items = notification.items.select_related("rule", "rule__view", "acted_by").order_by("rule_id", "label", "id")
    return render(request, "alerts/notification.html", {
        "notification": notification, "items": items, "can_manage": is_admin(request.user),
    })


@require_POST
def notification_retry(request, pk: int):
    _require_admin(request)
    notification = get_object_or_404(selectors.notification_list(), pk=pk)
    if notification.state != DeliveryState.FAILED:
        messages.warning(request, "Only failed notifications can be retried.")
        return redirect(notification)
    manage.retry_notification(notification, request.user)
    runner.hand_over([notification.pk])
    notification.refresh_from_db()
    messages.success(request, f"Retry queued: now {notification.get_state_display().lower()}.")
    return redirect(notification)


# --- a person's own channels -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def alert_settings(request):
    user = request.user
    channels = list(selectors.user_channels(user).prefetch_related("rules"))
    add_form = ChannelAddForm(initial={"kind": "email", "address": user.email, "enabled": True,
                                       "time_zone": settings.TIME_ZONE})
    forms_by_channel = {c.pk: ChannelSettingsForm(channel=c, prefix=f"ch{c.pk}") for c in channels}
    created = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "add":
            add_form = ChannelAddForm(request.POST)
            if add_form.is_valid():
                data = add_form.cleaned_data
                try:
                    channel, secret = manage.add_user_channel(
                        user, data["kind"], data["address"], digest_hour=data["digest_hour"],
                        time_zone=data["time_zone"], enabled=data["enabled"])
                except ValidationError as exc:
                    add_form.add_error("address", exc)
                else:
                    messages.success(request, f"Channel “{channel}” added. Tick the rules that should send to it.")
                    if not secret:
                        return redirect("alert_settings")
                    created = (channel, secret)
                    channels = list(selectors.user_channels(user).prefetch_related("rules"))
                    forms_by_channel = {c.pk: ChannelSettingsForm(channel=c, prefix=f"ch{c.pk}") for c in channels}
                    add_form = ChannelAddForm(initial={"kind": "email", "enabled": True, "time_zone": settings.TIME_ZONE})
        elif action == "update":
            pk = request.POST.get("channel") or ""
            channel = get_object_or_404(selectors.user_channels(user), pk=int(pk) if pk.isdigit() else 0)
            form = ChannelSettingsForm(request.POST, channel=channel, prefix=f"ch{channel.pk}")
            if form.is_valid():
                data = form.cleaned_data
                manage.update_user_channel(channel, user, digest_hour=data["digest_hour"], time_zone=data["time_zone"],
                                           enabled=data["enabled"], rules=data["rules"])
                messages.success(request, f"Saved “{channel}”.")
                return redirect("alert_settings")
            forms_by_channel[channel.pk] = form
        else:
            messages.warning(request, "Unknown action.")
            return redirect("alert_settings")
    return _no_store(render(request, "alerts/settings.html", {
        "rows": [(c, forms_by_channel[c.pk]) for c in channels], "add_form": add_form, "created": created,
        "has_rules": AlertRule.objects.exists(),
    }))

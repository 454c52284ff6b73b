"""The finding detail page and its actions (the list itself is inventory's list view with the
"findings" ListSpec)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponseForbidden, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from numbersadmin.inventory import scopes
from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount

from . import services
from .forms import IgnoreForm
from .lists import visible_findings
from .models import Finding

MANAGE = "inventory.manage_accounts"


def _links(finding: Finding) -> list[dict]:
    """The rows involved, with a link to each one that still exists."""
    ids = {t: [r["id"] for r in finding.rows if r.get("type") == t] for t in ("number", "caller_id", "account")}
    numbers = PhoneNumber.objects.in_bulk(ids["number"]) if ids["number"] else {}
    caller_ids = CallerId.objects.in_bulk(ids["caller_id"]) if ids["caller_id"] else {}
    accounts = ProviderAccount.objects.in_bulk(ids["account"]) if ids["account"] else {}
    out = []
    for row in finding.rows:
        kind, pk, url = row.get("type"), row.get("id"), None
        try:
            if kind == "number" and pk in numbers:
                url = numbers[pk].get_absolute_url()
            elif kind == "caller_id" and pk in caller_ids:
                cid = caller_ids[pk]
                url = f"{reverse('caller_ids')}?{urlencode({'q': cid.e164 or cid.number_raw, 'account': cid.account_id})}"
            elif kind == "account" and pk in accounts:
                url = accounts[pk].get_absolute_url()
        except NoReverseMatch:
            url = None
        out.append({"type": {"number": "Number", "caller_id": "Caller ID", "account": "Account"}.get(kind, kind),
                    "label": row.get("label", ""), "url": url})
    return out


def _render(request, finding: Finding, form: IgnoreForm | None = None, status: int = 200):
    return render(request, "reconcile/detail.html", {
        "finding": finding, "links": _links(finding), "form": form or IgnoreForm(),
        "can_change": _can_change(request.user, finding),
        "allowed": {a for a, states in services.ALLOWED_FROM.items() if finding.state in states},
        "list_url": f"{reverse('findings')}?{urlencode({'kind': finding.kind})}",
    }, status=status)


def _can_change(user, finding: Finding) -> bool:
    """Admins (the global permission) or scoped managers of every account involved (inventory.scopes)."""
    seen = scopes.visibility(user)
    if not seen.manages_any:
        return False
    accounts = list(finding.accounts.values_list("pk", flat=True))
    return all(seen.manages(a) for a in accounts) and (bool(accounts) or seen.global_manager)


def finding_detail(request, pk: int):
    """Out of the user's scope (any account involved unseen): 404."""
    return _render(request, get_object_or_404(visible_findings().select_related("account"), pk=pk))


def finding_action(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    finding = get_object_or_404(visible_findings(), pk=pk)
    if not _can_change(request.user, finding):
        return HttpResponseForbidden("Only admins change findings.")
    reason = ""
    if action == "ignore":
        form = IgnoreForm(request.POST)
        if not form.is_valid():
            return _render(request, finding, form, status=400)
        reason = form.cleaned_data["reason"]
    try:
        finding = services.change_state(finding, action, request.user, reason)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Finding {finding.get_state_display().lower()}.")
    return redirect(finding.get_absolute_url())

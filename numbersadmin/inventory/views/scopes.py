"""Account scopes: which groups and users see (and manage) which provider accounts. Global
managers only (superusers, or manage_accounts holders who see every account): a scoped admin
could otherwise widen their own scope. Rules: inventory/scopes.py; writes: services/account_scopes.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..forms import AccountScopeForm
from ..models import AccountScope
from ..services import account_scopes
from .accounts import global_manager_required


@global_manager_required
def scope_list(request):
    scopes = AccountScope.objects.prefetch_related("accounts", "groups", "users").order_by("name")
    return render(request, "inventory/scopes/list.html", {"scopes": scopes, "default_all": settings.SCOPES_DEFAULT_ALL})


def _edit(request, scope: AccountScope):
    form = AccountScopeForm(request.POST or None, instance=scope)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = account_scopes.scope_save(form.instance, accounts=data["accounts"], groups=data["groups"],
                                          users=data["users"], user=request.user)
        messages.success(request, f"Scope “{saved.name}” saved.")
        return redirect("scopes")
    return render(request, "inventory/scopes/form.html", {"form": form, "scope": scope if scope.pk else None},
                  status=400 if request.method == "POST" else 200)


@global_manager_required
def scope_add(request):
    return _edit(request, AccountScope())


@global_manager_required
def scope_edit(request, pk: int):
    return _edit(request, get_object_or_404(AccountScope, pk=pk))


@require_POST
@global_manager_required
def scope_delete(request, pk: int):
    scope = get_object_or_404(AccountScope, pk=pk)
    name = scope.name
    account_scopes.scope_delete(scope, user=request.user)
    messages.success(request, f"Scope “{name}” deleted: its users see what users without a scope see.")
    return redirect("scopes")

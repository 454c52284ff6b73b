from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from providers import registry

from .. import runner, scopes, selectors
from ..choices import SyncTrigger
from ..forms import AccountForm, SiteSettingsForm
from ..models import ProviderAccount, SiteSettings
from ..services import accounts as account_services
from ..services.audit import audit
from ..services.sync import confirm_held_removals
from .common import render_page

MANAGE = scopes.MANAGE


def _managed_account(request, pk: int) -> ProviderAccount:
    """An account the user may manage (scopes.py): 404 when out of their scope (never the row),
    403 when they see it but do not manage it."""
    account = get_object_or_404(selectors.scoped(ProviderAccount.objects, "pk"), pk=pk)
    if not scopes.can_manage_account(request.user, account):
        raise PermissionDenied("You cannot manage this account.")
    return account


def global_manager_required(view):
    """Adding accounts, site settings, the audit log, scopes: superusers and managers who see every account."""
    def wrapped(request, *args, **kwargs):
        if not scopes.is_global_manager(request.user):
            raise PermissionDenied("Only admins who see every account can do this.")
        return view(request, *args, **kwargs)
    wrapped.__name__, wrapped.__doc__ = view.__name__, view.__doc__
    return wrapped


def account_list(request):
    show_archived = request.GET.get("archived") == "yes"
    accounts = list(selectors.account_list(archived=show_archived))
    overview = selectors.sync_overview(accounts)
    # ?stale=yes and ?failing=yes are where the dashboard's "stale accounts" and "failing accounts"
    # figures land (same selectors, same counts).
    stale_only = request.GET.get("stale") == "yes"
    failing_only = request.GET.get("failing") == "yes"
    if stale_only:
        accounts = selectors.stale_accounts(accounts)
    if failing_only:
        accounts = overview.failing(accounts)
    rows = [(a, overview.latest_runs.get(a.pk)) for a in accounts]
    any_active = any(run is not None and run.is_active for _, run in rows)
    return render_page(request, "inventory/accounts/list.html", {
        "rows": rows, "any_active": any_active, "providers": registry.PROVIDERS.values(),
        "can_manage": scopes.visibility(request.user).manages_any, "can_add": scopes.is_global_manager(request.user),
        "managed_ids": _managed_ids(request.user, accounts),
        "stale_only": stale_only, "failing_only": failing_only,
        "show_archived": show_archived, "archived_count": 0 if show_archived else selectors.scoped(
            ProviderAccount.objects.filter(archived_at__isnull=False), "pk").count(),
    }, partial="accounts")


def _managed_ids(user, accounts) -> set[int]:
    seen = scopes.visibility(user)
    return {a.pk for a in accounts if seen.manages(a.pk)}


def account_detail(request, pk: int):
    account = get_object_or_404(selectors.account_list(archived=None), pk=pk)
    selectors.attach_health([account])
    runs = selectors.sync_run_list(account.pk)[:20]
    return render(request, "inventory/accounts/detail.html", {
        "account": account, "runs": runs, "can_manage": scopes.can_manage_account(request.user, account),
        "secret_keys": account.secret_keys_set(), "spec": account.spec,
    })


@permission_required(MANAGE, raise_exception=True)
@global_manager_required
def account_add(request, provider: str):
    if provider not in registry.PROVIDERS:
        raise Http404("Unknown provider")
    form = AccountForm(request.POST or None, request.FILES or None, provider=provider)
    duplicates = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        duplicates = account_services.find_duplicates(provider, data["base_url"], form.secrets(), form.config())
    if request.method == "POST" and form.is_valid() and (not duplicates or request.POST.get("confirm_duplicate")):
        data = form.cleaned_data
        try:
            account = account_services.account_create(
                provider=provider, name=data["name"], base_url=data["base_url"], secrets=form.secrets(), config=form.config(),
                sync_interval_minutes=data["sync_interval_minutes"], enabled=data["enabled"], user=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Account {account.name} added. Test the connection, then sync it.")
            return redirect(account)
    return render(request, "inventory/accounts/form.html", {"form": form, "spec": registry.get(provider), "account": None,
                                                            "duplicates": duplicates})


def account_edit(request, pk: int):
    account = _managed_account(request, pk)
    initial = {"name": account.name, "base_url": account.base_url,
               "sync_interval_minutes": account.sync_interval_minutes, "enabled": account.enabled}
    form = AccountForm(request.POST or None, request.FILES or None, provider=account.provider, account=account,
                       initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account_services.account_update(
                account, secrets=form.secrets(), user=request.user, name=data["name"], base_url=data["base_url"],
                config=form.config(account.config),
                sync_interval_minutes=data["sync_interval_minutes"], enabled=data["enabled"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Account saved.")
            return redirect(account)
    return render(request, "inventory/accounts/form.html", {"form": form, "spec": account.spec, "account": account})


@require_POST
def account_archive(request, pk: int, action: str):
    account = _managed_account(request, pk)
    if action == "archive":
        account_services.account_archive(account, user=request.user)
        messages.success(request, f"{account.name} archived: no longer synced, and its numbers are out of lists "
                                  "and totals (the numbers list shows them with “Archived accounts: include”).")
    else:
        account_services.account_unarchive(account, user=request.user)
        messages.success(request, f"{account.name} is back in lists and totals. Enable it to sync it again.")
    return redirect(account)


def account_delete(request, pk: int):
    """Out of scope: 404. Deleting needs the global permission too (a scoped manager may not)."""
    account = _managed_account(request, pk)
    if not request.user.has_perm(MANAGE):
        raise PermissionDenied("Only admins delete accounts.")
    error = ""
    if request.method == "POST":
        try:
            counts = account_services.account_delete(account, confirm_name=request.POST.get("confirm_name", ""),
                                                     user=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, f"Account {account.name} deleted ({counts['numbers']} numbers).")
            return redirect("accounts")
    return render(request, "inventory/accounts/delete.html", {
        "account": account, "footprint": account_services.account_footprint(account), "error": error},
        status=400 if error else 200)


@require_POST
def account_test(request, pk: int):
    account = _managed_account(request, pk)
    result = account_services.account_test_connection(account, user=request.user)
    if result.ok:
        messages.success(request, f"{account.name}: {result.message}")
    else:
        messages.error(request, f"{account.name}: connection failed: {result.message}")
    return redirect(request.POST.get("next") if request.POST.get("next") in ("accounts",) else account)


@require_POST
def account_sync(request, pk: int):
    account = _managed_account(request, pk)
    run, created = runner.sync_now(account, trigger=SyncTrigger.MANUAL, user=request.user)
    audit(request.user, "sync.request", account, {"run": run.pk, "created": created})
    if created:
        messages.info(request, f"Sync of {account.name} queued.")
    else:
        messages.warning(request, f"A sync of {account.name} is already {run.get_state_display().lower()}.")
    return redirect("accounts")


def sync_run_list(request):
    account_id = request.GET.get("account")
    account = None
    if account_id:
        try:
            account = selectors.scoped(ProviderAccount.objects, "pk").get(pk=int(account_id))
        except (ValueError, ProviderAccount.DoesNotExist):
            messages.warning(request, "Unknown account filter ignored.")
    runs = selectors.sync_run_list(account.pk if account else None)[:200]
    return render_page(request, "inventory/syncs/list.html", {
        "runs": runs, "account": account, "accounts": selectors.scoped(ProviderAccount.objects, "pk"),
        "can_manage": scopes.visibility(request.user).manages_any}, partial="runs")


def sync_run_detail(request, pk: int):
    run = get_object_or_404(selectors.sync_run_list(), pk=pk)
    selectors.attach_health([run.account])
    return render_page(request, "inventory/syncs/detail.html", {
        "run": run, "outcome": selectors.explain_run(run), "can_manage": scopes.can_manage_account(request.user, run.account_id),
        "held_sample": run.held_external_ids[:20],
    }, partial="run")


@require_POST
def sync_run_confirm(request, pk: int):
    run = get_object_or_404(selectors.sync_run_list(), pk=pk)
    _managed_account(request, run.account_id)
    try:
        removed = confirm_held_removals(run, user=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{removed} numbers marked removed.")
    return redirect(run)


@permission_required(MANAGE, raise_exception=True)
@global_manager_required
def site_settings(request):
    settings_obj = SiteSettings.load()
    form = SiteSettingsForm(request.POST or None, instance=settings_obj)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit(request.user, "settings.update", "site settings", form.cleaned_data)
        messages.success(request, "Settings saved.")
        return redirect("site_settings")
    return render(request, "inventory/site_settings.html", {"form": form})

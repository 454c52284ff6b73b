"""Django admin: user management for admins, and the PhoneNumber changelist kept realistic on
purpose: it is the named peer in the list-page benchmark (tests/perf)."""

from django.contrib import admin

from .models import AccountScope, AuditLog, PhoneNumber, ProviderAccount, SyncRun
from .services import account_scopes


@admin.register(PhoneNumber)
class PhoneNumberAdmin(admin.ModelAdmin):
    list_display = ("e164", "provider", "account", "country", "city", "kind", "status", "trunk")
    list_filter = ("status", "kind", "country", "provider")
    search_fields = ("e164",)
    list_select_related = ("account", "trunk")
    list_per_page = 50

    def has_add_permission(self, request):
        return False  # provider data is written by syncs only

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProviderAccount)
class ProviderAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "base_url", "enabled", "sync_interval_minutes", "last_success_at")
    exclude = ("secrets_encrypted",)  # secrets are managed in the app's write-only form
    readonly_fields = ("provider", "last_success_at")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows only the app writes (sync runs, audit entries): viewable, never added or edited here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "state", "trigger", "started_at", "items_fetched", "error_class")
    list_filter = ("state", "account")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "username", "action", "target", "rows")
    list_filter = ("action",)


@admin.register(AccountScope)
class AccountScopeAdmin(admin.ModelAdmin):
    """Scopes (inventory/scopes.py); every change is audited like the in-app page's."""

    list_display = ("name", "can_manage", "updated_at")
    filter_horizontal = ("accounts", "groups", "users")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        account_scopes.audit_saved(form.instance, user=request.user, created=not change)

    def delete_model(self, request, obj):
        account_scopes.scope_delete(obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            account_scopes.scope_delete(obj, user=request.user)

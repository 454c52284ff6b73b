"""Provider accounts and sync runs: health for everyone; configuration, raw provider errors and
held ids for admins only (as on the web); never secrets (only which ones are set, for admins).
Admins can start a sync and confirm removals the breaker held."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from providers import registry

from .. import runner, scopes, selectors
from ..choices import AccountHealth, SyncTrigger
from ..models import ProviderAccount, SyncRun
from ..pagination import InvalidCursor, keyset_page
from ..services import accounts as account_services
from ..services.audit import audit
from ..services.sync import confirm_held_removals
from .auth import TokenScope, audited_as
from .lists import DETAIL, MAX_LIMIT, _fail, _json, _limit, _link

MANAGE = "inventory.manage_accounts"
ACCOUNT = inline_serializer("Account", {
    "id": serializers.IntegerField(), "name": serializers.CharField(), "provider": serializers.CharField(),
    "enabled": serializers.BooleanField(), "numbers": serializers.IntegerField(),
    "last_success_at": serializers.DateTimeField(allow_null=True), "stale": serializers.BooleanField(),
    "health": serializers.ChoiceField(AccountHealth.choices, help_text=(
        "The last sync attempt, not only the last success: failing = the last attempt failed")),
    "last_run": serializers.DictField(allow_null=True),
    "config": serializers.DictField(required=False, help_text="admins only"),
})
RUN = inline_serializer("SyncRun", {
    "id": serializers.IntegerField(), "account": serializers.IntegerField(), "trigger": serializers.CharField(),
    "state": serializers.CharField(), "error_class": serializers.CharField(),
    "created_at": serializers.DateTimeField(), "started_at": serializers.DateTimeField(allow_null=True),
    "finished_at": serializers.DateTimeField(allow_null=True), "items_fetched": serializers.IntegerField(),
    "added": serializers.IntegerField(), "changed": serializers.IntegerField(), "removed": serializers.IntegerField(),
    "held_removals": serializers.IntegerField(),
    "error_message": serializers.CharField(required=False, help_text="admins only"),
})
RUNS = inline_serializer("SyncRunPage", {"next": serializers.URLField(allow_null=True),
                                         "previous": serializers.URLField(allow_null=True),
                                         "results": serializers.ListField(child=serializers.DictField())})
ERRORS = {401: OpenApiResponse(DETAIL), 403: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)}


class CanManage(permissions.BasePermission):
    """Writes need the global permission or a managing scope (scopes.py); which account a scoped
    manager may touch is checked on the object (_managed_account)."""

    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or scopes.visibility(request.user).manages_any


class ManagesTheAccount(permissions.BasePermission):
    """Writes on one account: the view itself calls _managed_account, which answers 404 when the
    account is out of the user's scope (never revealing it) and 403 when it is seen but not managed."""

    def has_permission(self, request, view) -> bool:
        return True


class GlobalManager(CanManage):
    """Adding accounts and the audit log: a manager who sees every account (scopes.py)."""

    def has_permission(self, request, view) -> bool:
        return scopes.is_global_manager(request.user)


def _managed_account(request, pk: int) -> ProviderAccount:
    """The account, 404 when out of the user's scope, 403 when seen but not managed."""
    account = _get_account(pk)
    if not scopes.can_manage_account(request.user, account):
        raise PermissionDenied(CanManage.message)
    return account


def _run(run: SyncRun | None, admin: bool) -> dict | None:
    if run is None:
        return None
    data = {"id": run.pk, "account": run.account_id, "trigger": run.trigger, "state": run.state,
            "error_class": run.error_class, "created_at": _json(run.created_at), "started_at": _json(run.started_at),
            "finished_at": _json(run.finished_at), "items_fetched": run.items_fetched, "added": run.added,
            "changed": run.changed, "removed": run.removed, "held_removals": run.held_removals}
    if admin:
        data["error_message"] = run.error_message
    return data


def _account(account: ProviderAccount, last: SyncRun | None, admin: bool) -> dict:
    """``account.health`` comes from selectors.sync_overview (which also gives ``last``)."""
    data = {"id": account.pk, "name": account.name, "provider": account.provider, "enabled": account.enabled,
            "numbers": getattr(account, "number_count", None), "last_success_at": _json(account.last_success_at),
            "stale": account.is_stale(), "health": account.health.state, "last_run": _run(last, admin)}
    if admin:
        data["config"] = {"base_url": account.base_url, "settings": account.config,
                          "sync_interval_minutes": account.sync_interval_minutes,
                          "secrets_set": account.secret_keys_set()}
    return data


class AccountList(APIView):
    @extend_schema(operation_id="accounts_list", summary="Provider accounts and their health", tags=["Accounts"],
                   responses={200: inline_serializer("AccountList", {"results": serializers.ListField(
                       child=serializers.DictField())}), **ERRORS})
    def get(self, request):
        accounts = list(selectors.account_list())
        latest = selectors.sync_overview(accounts).latest_runs
        seen = scopes.visibility(request.user)
        return Response({"results": [_account(a, latest.get(a.pk), seen.manages(a.pk)) for a in accounts]})


def _get_account(pk: int) -> ProviderAccount:
    account = selectors.account_list(archived=None).filter(pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    return account


class AccountDetail(APIView):
    @extend_schema(operation_id="account_detail", summary="One provider account", tags=["Accounts"],
                   responses={200: ACCOUNT, **ERRORS})
    def get(self, request, pk: int):
        account = _get_account(pk)
        return Response(_account(account, selectors.sync_overview([account]).latest_runs.get(account.pk),
                                 scopes.can_manage_account(request.user, account)))


class AccountSync(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenScope, ManagesTheAccount]

    @extend_schema(operation_id="account_sync", summary="Sync now (joins a sync already queued or running)",
                   tags=["Accounts"], request=None,
                   responses={202: RUN, 200: RUN, **ERRORS})
    def post(self, request, pk: int):
        account = _managed_account(request, pk)
        with audited_as(request):
            run, created = runner.sync_now(account, trigger=SyncTrigger.MANUAL, user=request.user)
            audit(request.user, "sync.request", account, {"run": run.pk, "created": created})
        return Response(_run(run, True), status=202 if created else 200)


class SyncRunList(APIView):
    @extend_schema(operation_id="sync_runs_list", summary="Sync runs, newest first", tags=["Sync runs"],
                   parameters=[OpenApiParameter("account", {"type": "integer", "minimum": 1}),
                               OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                               OpenApiParameter("cursor", str)],
                   responses={200: RUNS, 400: OpenApiResponse(OpenApiTypes.OBJECT), **ERRORS})
    def get(self, request):
        params = request.query_params
        unknown = sorted(set(params) - {"account", "limit", "cursor"})
        if unknown:
            _fail(unknown[0][:50], "Unknown parameter.")
        account = params.get("account")
        if account not in (None, "") and not (account.isdigit() and 0 < int(account) < 2**63):
            _fail("account", "An account id.")
        qs = selectors.sync_run_list(int(account) if account else None)
        try:
            page = keyset_page(qs, field="created_at", descending=True, cursor=params.get("cursor"),
                               per_page=_limit(params.get("limit")))
        except InvalidCursor:
            _fail("cursor", "Invalid cursor (use the next/previous links as given).")
        seen = scopes.visibility(request.user)
        return Response({"next": _link(request, page.next_cursor), "previous": _link(request, page.prev_cursor),
                         "results": [_run(r, seen.manages(r.account_id)) for r in page.rows]})


class SyncRunConfirm(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenScope, ManagesTheAccount]

    @extend_schema(operation_id="sync_run_confirm_removals", summary="Confirm the removals a run held for review",
                   tags=["Sync runs"], request=None,
                   responses={200: RUN, 409: OpenApiResponse(DETAIL), **ERRORS})
    def post(self, request, pk: int):
        run = selectors.sync_run_list().filter(pk=pk).first()
        if run is None:
            raise Http404("No such sync run.")
        _managed_account(request, run.account_id)
        try:
            with audited_as(request):
                confirm_held_removals(run, user=request.user)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=409)
        run.refresh_from_db()
        return Response(_run(run, True))


# -- account writes (admins, read-write token) ------------------------------------------------------
ACCOUNT_WRITE = inline_serializer("AccountWrite", {
    "provider": serializers.ChoiceField(choices=registry.choices(), required=False, help_text="on create only"),
    "name": serializers.CharField(required=False), "base_url": serializers.CharField(required=False),
    "config": serializers.DictField(required=False), "enabled": serializers.BooleanField(required=False),
    "sync_interval_minutes": serializers.IntegerField(required=False, min_value=1),
    "secrets": serializers.DictField(child=serializers.CharField(), required=False,
                                     help_text="write-only; on update, only the ones sent change"),
})
UPDATABLE = {"name": str, "base_url": str, "config": dict, "enabled": bool, "sync_interval_minutes": int}
MAX_INTERVAL = 7 * 24 * 60


def _account_body(data, *, create: bool) -> dict:
    """Type checks before the services' validation (which owns the rules: URL, config keys, secrets)."""
    if not isinstance(data, dict) or not data:
        _fail("body", "Send a JSON object.")
    allowed = {*UPDATABLE, "secrets", *(("provider",) if create else ())}
    unknown = sorted(set(data) - allowed)
    if unknown:
        _fail(unknown[0][:50], f"Unknown field. Allowed: {', '.join(sorted(allowed))}.")
    for key, kind in (*UPDATABLE.items(), ("secrets", dict), ("provider", str)):
        if key in data and (not isinstance(data[key], kind) or (kind is int and isinstance(data[key], bool))):
            _fail(key, f"Must be {'an object' if kind is dict else kind.__name__}.")
    if "sync_interval_minutes" in data and not 1 <= data["sync_interval_minutes"] <= MAX_INTERVAL:
        _fail("sync_interval_minutes", f"From 1 to {MAX_INTERVAL} minutes.")
    if "secrets" in data and not all(isinstance(v, str) for v in data["secrets"].values()):
        _fail("secrets", "Secret values are strings.")
    if create:
        for key in ("provider", "name", "secrets"):
            if key not in data:
                _fail(key, "Required.")
    return data


def _precheck(provider: str, data: dict, *, create: bool) -> None:
    """Run the services' own checks for provider, base URL and secrets first, so each error names
    its field (the services raise field-less messages)."""
    if provider not in registry.PROVIDERS:
        _fail("provider", f"Unknown provider. Known: {', '.join(registry.PROVIDERS)}.")
    for key, check in (("base_url", lambda v: account_services.validate_base_url(provider, v)),
                       ("secrets", lambda v: account_services.clean_secrets(provider, v, partial=not create))):
        if key in data:
            try:
                check(data[key])
            except DjangoValidationError as exc:
                _fail(key, " ".join(exc.messages))


def _validation(exc: DjangoValidationError):
    detail = exc.message_dict if hasattr(exc, "error_dict") else {"body": exc.messages}
    raise ValidationError(detail) from None


class AccountCreate(AccountList):
    permission_classes = [permissions.IsAuthenticated, TokenScope, CanManage]

    def get_permissions(self):
        # Listing is for everyone (scoped); adding an account is for global managers only.
        if self.request.method == "POST":
            return [permissions.IsAuthenticated(), TokenScope(), GlobalManager()]
        return super().get_permissions()

    @extend_schema(operation_id="account_create", summary="Add a provider account", tags=["Accounts"],
                   request=ACCOUNT_WRITE, responses={201: ACCOUNT, 400: OpenApiResponse(OpenApiTypes.OBJECT), **ERRORS})
    def post(self, request):
        data = _account_body(request.data, create=True)
        _precheck(data["provider"], data, create=True)
        try:
            with audited_as(request):
                account = account_services.account_create(
                    provider=data["provider"], name=data["name"].strip(), base_url=data.get("base_url", ""),
                    config=data.get("config"), secrets=data["secrets"], enabled=data.get("enabled", True),
                    sync_interval_minutes=data.get("sync_interval_minutes"), user=request.user)
        except DjangoValidationError as exc:
            _validation(exc)
        account = _get_account(account.pk)
        return Response(_account(account, selectors.sync_overview([account]).latest_runs.get(account.pk), True),
                        status=201)


class AccountEdit(AccountDetail):
    permission_classes = [permissions.IsAuthenticated, TokenScope, ManagesTheAccount]

    @extend_schema(operation_id="account_update", summary="Change, disable or re-key a provider account",
                   tags=["Accounts"], request=ACCOUNT_WRITE,
                   responses={200: ACCOUNT, 400: OpenApiResponse(OpenApiTypes.OBJECT), **ERRORS})
    def patch(self, request, pk: int):
        account = _managed_account(request, pk)
        data = _account_body(request.data, create=False)
        _precheck(account.provider, data, create=False)
        fields = {k: v for k, v in data.items() if k in UPDATABLE}
        if "name" in fields:
            fields["name"] = fields["name"].strip()
            if ProviderAccount.objects.filter(name=fields["name"]).exclude(pk=pk).exists():
                _fail("name", "Another account has this name.")
        try:
            with audited_as(request):
                account_services.account_update(account, secrets=data.get("secrets"), user=request.user, **fields)
        except DjangoValidationError as exc:
            _validation(exc)
        account = _get_account(pk)
        return Response(_account(account, selectors.sync_overview([account]).latest_runs.get(pk), True))


# -- the audit log (admins) -------------------------------------------------------------------------
class AuditList(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenScope, CanManage]

    @extend_schema(operation_id="audit_list", summary="The audit log, newest first (admins)", tags=["Audit"],
                   parameters=[OpenApiParameter("action", str), OpenApiParameter("user", str),
                               OpenApiParameter("target", str),
                               OpenApiParameter("date_from", OpenApiTypes.DATE), OpenApiParameter("date_to", OpenApiTypes.DATE),
                               OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
                               OpenApiParameter("cursor", str)],
                   responses={200: RUNS, 400: OpenApiResponse(OpenApiTypes.OBJECT), **ERRORS})
    def get(self, request):
        if not scopes.is_global_manager(request.user):
            return Response({"detail": CanManage.message}, status=403)
        params = request.query_params.copy()
        for key in ("limit", "cursor"):
            params.pop(key, None)
        filterset = selectors.audit_log_list(params)
        unknown = sorted(set(params) - set(filterset.form.fields))
        if unknown:
            _fail(unknown[0][:50], "Unknown parameter.")
        if not filterset.is_valid():
            raise ValidationError({k: list(v) for k, v in filterset.form.errors.items()})
        try:
            page = keyset_page(filterset.qs.order_by(), field="at", descending=True,
                               cursor=request.query_params.get("cursor"),
                               per_page=_limit(request.query_params.get("limit")))
        except InvalidCursor:
            _fail("cursor", "Invalid cursor (use the next/previous links as given).")
        results = [{"id": e.pk, "at": _json(e.at), "user": e.username, "action": e.action, "target": e.target,
                    "detail": e.detail, "rows": e.rows} for e in page.rows]
        return Response({"next": _link(request, page.next_cursor), "previous": _link(request, page.prev_cursor),
                         "results": results})

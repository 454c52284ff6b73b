"""Provider accounts and sync runs: health for everyone; configuration, raw provider errors and
held ids for admins only (as on the web); never secrets (only which ones are set, for admins).
Admins can start a sync and confirm removals the breaker held."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import runner, selectors
from ..choices import SyncTrigger
from ..models import ProviderAccount, SyncRun
from ..pagination import InvalidCursor, keyset_page
from ..services.audit import acting, audit
from ..services.sync import confirm_held_removals
from .auth import TokenScope
from .lists import DETAIL, MAX_LIMIT, _fail, _json, _limit

MANAGE = "inventory.manage_accounts"
ACCOUNT = inline_serializer("Account", {
    "id": serializers.IntegerField(), "name": serializers.CharField(), "provider": serializers.CharField(),
    "enabled": serializers.BooleanField(), "numbers": serializers.IntegerField(),
    "last_success_at": serializers.DateTimeField(allow_null=True), "stale": serializers.BooleanField(),
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
    message = "Only admins can do this."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.has_perm(MANAGE)


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
    data = {"id": account.pk, "name": account.name, "provider": account.provider, "enabled": account.enabled,
            "numbers": getattr(account, "number_count", None), "last_success_at": _json(account.last_success_at),
            "stale": account.is_stale(), "last_run": _run(last, admin)}
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
        latest = selectors.latest_runs(accounts)
        admin = request.user.has_perm(MANAGE)
        return Response({"results": [_account(a, latest.get(a.pk), admin) for a in accounts]})


def _get_account(pk: int) -> ProviderAccount:
    account = selectors.account_list().filter(pk=pk).first()
    if account is None:
        raise Http404("No such account.")
    return account


class AccountDetail(APIView):
    @extend_schema(operation_id="account_detail", summary="One provider account", tags=["Accounts"],
                   responses={200: ACCOUNT, **ERRORS})
    def get(self, request, pk: int):
        account = _get_account(pk)
        return Response(_account(account, selectors.latest_runs([account]).get(account.pk),
                                 request.user.has_perm(MANAGE)))


class AccountSync(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenScope, CanManage]

    @extend_schema(operation_id="account_sync", summary="Sync now (joins a sync already queued or running)",
                   tags=["Accounts"], request=None,
                   responses={202: RUN, 200: RUN, **ERRORS})
    def post(self, request, pk: int):
        account = _get_account(pk)
        token = request.auth if hasattr(request.auth, "read_only") else None
        with acting(via="api", token=token.name if token else None):
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
        admin = request.user.has_perm(MANAGE)

        def link(cursor):
            if cursor is None:
                return None
            query = params.copy()
            query["cursor"] = cursor
            return request.build_absolute_uri(request.path) + "?" + query.urlencode()

        return Response({"next": link(page.next_cursor), "previous": link(page.prev_cursor),
                         "results": [_run(r, admin) for r in page.rows]})


class SyncRunConfirm(APIView):
    permission_classes = [permissions.IsAuthenticated, TokenScope, CanManage]

    @extend_schema(operation_id="sync_run_confirm_removals", summary="Confirm the removals a run held for review",
                   tags=["Sync runs"], request=None,
                   responses={200: RUN, 409: OpenApiResponse(DETAIL), **ERRORS})
    def post(self, request, pk: int):
        run = SyncRun.objects.select_related("account").filter(pk=pk).first()
        if run is None:
            raise Http404("No such sync run.")
        token = request.auth if hasattr(request.auth, "read_only") else None
        try:
            with acting(via="api", token=token.name if token else None):
                confirm_held_removals(run, user=request.user)
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=409)
        run.refresh_from_db()
        return Response(_run(run, True))

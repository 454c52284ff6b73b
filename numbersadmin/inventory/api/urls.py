"""/api/v1/: one endpoint per web list (same URL words as the pages), the schema and its docs."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView

from .. import lists
from . import accounts as api_accounts
from . import details as api_details
from . import exports as api_exports
from . import lists as api_lists
from . import numbers as api_numbers
from . import saved_views as api_saved_views
from .docs import schema_docs

# Web URL name -> API path: the same words as the pages (/numbers/, /caller-ids/, /trunk-groups/).
urlpatterns = [
    path(f"v1/{spec.name.replace('_', '-')}/", login_not_required(api_lists.endpoint(spec).as_view()), name=f"api_{spec.name}")
    for spec in lists.LISTS.values()
] + [
    path(f"v1/{spec.name.replace('_', '-')}/export.{fmt}", login_not_required(api_exports.export_endpoint(spec, fmt).as_view()),
         name=f"api_{spec.name}_export_{fmt}")
    for spec in lists.LISTS.values() for fmt in ("csv", "xlsx")
] + [
    path(f"v1/{spec.name.replace('_', '-')}/<int:pk>/", login_not_required(api_details.detail_endpoint(spec).as_view()),
         name=f"api_{spec.name}_detail")
    for spec in lists.LISTS.values() if spec.name != "numbers"
] + [
    path("v1/numbers/<int:pk>/", login_not_required(api_numbers.NumberDetail.as_view()), name="api_number"),
    path("v1/numbers/<int:pk>/history/", login_not_required(api_numbers.NumberHistory.as_view()),
         name="api_number_history"),
    path("v1/accounts/", login_not_required(api_accounts.AccountCreate.as_view()), name="api_accounts"),
    path("v1/accounts/<int:pk>/", login_not_required(api_accounts.AccountEdit.as_view()), name="api_account"),
    path("v1/saved-views/", login_not_required(api_saved_views.SavedViewList.as_view()), name="api_saved_views"),
    path("v1/saved-views/<int:pk>/", login_not_required(api_saved_views.SavedViewDetail.as_view()), name="api_saved_view"),
    path("v1/audit/", login_not_required(api_accounts.AuditList.as_view()), name="api_audit"),
    path("v1/accounts/<int:pk>/sync/", login_not_required(api_accounts.AccountSync.as_view()), name="api_account_sync"),
    path("v1/sync-runs/", login_not_required(api_accounts.SyncRunList.as_view()), name="api_sync_runs"),
    path("v1/sync-runs/<int:pk>/confirm-removals/", login_not_required(api_accounts.SyncRunConfirm.as_view()),
         name="api_sync_run_confirm"),
    path("v1/export-jobs/<int:pk>/", login_not_required(api_exports.ExportJobEndpoint.as_view()), name="api_export_job"),
    path("v1/export-jobs/<int:pk>/download/", login_not_required(api_exports.ExportJobDownload.as_view()),
         name="api_export_job_download"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api_schema"),
    path("docs/", schema_docs, name="api_docs"),
    # Anything else under /api/ is a JSON 404 (a client parsing JSON never gets the HTML page).
    re_path(r"^", csrf_exempt(login_not_required(lambda request: JsonResponse({"detail": "Not found."}, status=404)))),
]

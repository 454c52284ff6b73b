"""Exports through the API: the web's export plan (same rows, fields, manifest and CSV rule). CSV
streams; XLSX up to EXPORT_XLSX_SYNC_ROWS is the file, above it a queued job (202) whose state and
file are served below. Every export is audited with the token's name."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import export_jobs, lists, runner, scopes, selectors
from ..lists import ListSpec
from ..models import ExportJob
from ..services.audit import audit
from .auth import audited_as
from .lists import DETAIL, ListSchema, camel, _fail, _fields, _filter_params, effective_params

XLSX = lists.XLSX_TYPE
JOB = inline_serializer("ExportJob", {
    "id": serializers.IntegerField(), "list": serializers.CharField(), "state": serializers.CharField(),
    "rows_total": serializers.IntegerField(), "rows_written": serializers.IntegerField(),
    "file_name": serializers.CharField(), "error": serializers.CharField(),
    "download": serializers.URLField(allow_null=True),
})


def export_response(request, spec: ListSpec, fmt: str):
    params = effective_params(request, spec)
    _filter_params(spec, params, extra=("fields", "view"))
    sort, error = selectors.parse_sort(params.get("sort"), spec.sorts, spec.default_sort)
    if error:
        _fail("sort", f"Unknown sort key. Known: {', '.join(sorted(spec.sorts))} (prefix - for descending).")
    fields = _fields(spec, params.get("fields"))
    query = params.copy()
    query.pop("fields", None)
    query.pop("view", None)
    notices: list[str] = []
    plan = lists.export_plan(spec, query, visible=None, columns_mode="view" if params.get("fields") else "all",
                             selected=None, notices=notices, headers=[f.header for f in fields])
    rows = plan.qs.count()
    base = lists.export_file_name(spec)
    detail = {"format": fmt, "columns": plan.columns_mode, "column_names": [f.header for f in plan.fields],
              "query": plan.query, "filters": plan.filters, "selection": plan.selection}
    if fmt == "xlsx" and rows > settings.EXPORT_XLSX_SYNC_ROWS:
        try:
            with audited_as(request):
                job = export_jobs.request_job(request.user, plan, selected=None, rows=rows,
                                              file_name=f"{base}.xlsx", detail=detail)
        except export_jobs.TooManyJobs as exc:
            return Response({"detail": str(exc)}, status=429)
        runner.start_export(job.pk)
        return Response(job_data(request, job), status=202)
    with audited_as(request):
        audit(request.user, "export", spec.name, detail, rows=rows)
    return lists.export_file(plan, request.user, fmt, rows, base)


class ExportSchema(ListSchema):
    fmt: str

    def get_operation_id(self) -> str:
        return f"{self.spec.name}_export_{self.fmt}"

    def get_summary(self) -> str:
        return f"{self.spec.title}: export as {self.fmt.upper()}"

    def get_override_parameters(self):
        return [p for p in super().get_override_parameters() if p.name not in ("limit", "cursor")]

    def get_response_serializers(self):
        media = "text/csv" if self.fmt == "csv" else XLSX
        responses = {(200, media): OpenApiResponse(OpenApiTypes.BINARY, description="the file, manifest first"),
                     **{code: r for code, r in super().get_response_serializers().items() if code != 200}}
        if self.fmt == "xlsx":
            responses[202] = OpenApiResponse(JOB, description="too large to build now: a queued job")
        return responses


def export_endpoint(spec: ListSpec, fmt: str):
    class ExportEndpoint(APIView):
        schema = type(f"{spec.name}{fmt}ExportSchema", (ExportSchema,), {"spec": spec, "fmt": fmt})()

        def get(self, request):
            return export_response(request, spec, fmt)

    ExportEndpoint.__name__ = ExportEndpoint.__qualname__ = f"{camel(spec)}Export{fmt.title()}"
    return ExportEndpoint


def job_data(request, job: ExportJob) -> dict:
    ready = job.state == ExportJob.State.SUCCEEDED and bool(job.file_name)
    return {"id": job.pk, "list": job.list_name, "state": job.state, "rows_total": job.rows_total,
            "rows_written": job.rows_written, "file_name": job.file_name, "error": job.error_message,
            "download": request.build_absolute_uri(f"/api/v1/export-jobs/{job.pk}/download/") if ready else None}


def _job(request, pk: int) -> ExportJob:
    """Your own jobs only (another user's job is a 404, as on the web, except for managers who see
    every account: a job's rows are what its requester's scope showed)."""
    job = ExportJob.objects.filter(pk=pk).first()
    if job is None or (job.requested_by_id != request.user.pk and not scopes.is_global_manager(request.user)):
        raise Http404("No such export job.")
    return job


class ExportJobEndpoint(APIView):
    @extend_schema(operation_id="export_job", summary="A queued export's state", tags=["Exports"],
                   responses={200: JOB, 401: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)})
    def get(self, request, pk: int):
        return Response(job_data(request, _job(request, pk)))


class ExportJobDownload(APIView):
    @extend_schema(operation_id="export_job_download", summary="A finished export's file", tags=["Exports"],
                   responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY), 401: OpenApiResponse(DETAIL),
                              404: OpenApiResponse(DETAIL), 409: OpenApiResponse(DETAIL)})
    def get(self, request, pk: int):
        job = _job(request, pk)
        path = settings.EXPORT_DIR / f"{job.pk}.xlsx"
        if job.state != ExportJob.State.SUCCEEDED or not job.file_name or not path.exists():
            return Response({"detail": f"Not available: the job is {job.state}."}, status=409)
        return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name, content_type=XLSX)

"""Queued XLSX exports: requesting one (a row the runner hands to a worker), building the file,
and expiring old files. Above lists.py (a job rebuilds its plan from the list it exports)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from . import lists, scopes
from .models import ExportJob
from .services import exports
from .services.audit import audit

logger = logging.getLogger(__name__)


class TooManyJobs(Exception):
    pass


def request_job(user, plan: lists.ExportPlan, *, selected: list[int] | None, rows: int, file_name: str,
                detail: dict) -> ExportJob:
    """Record a queued job for ``plan`` (ids and names only, never data) and audit it. Raises
    ``TooManyJobs`` when the user already has EXPORT_JOBS_PER_USER jobs in flight."""
    cleanup_export_jobs()  # cheap; keeps the embedded mode (no beat) tidy too
    busy = ExportJob.objects.filter(requested_by=user, state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING]).count()
    if busy >= settings.EXPORT_JOBS_PER_USER:
        raise TooManyJobs(f"You already have {busy} Excel exports being prepared; wait for one to finish "
                          "(or export CSV, which streams right away).")
    job = ExportJob.objects.create(
        requested_by=user, list_name=plan.spec.name, params=plan.query, selected=selected or [],
        columns=[f.header for f in plan.fields], columns_mode=plan.columns_mode, file_format="xlsx",
        rows_total=rows, file_name=file_name)
    audit(user, "export", plan.spec.name, {**detail, "job": job.pk}, rows=rows)
    return job


def job_plan(job: ExportJob) -> lists.ExportPlan:
    """Rebuilds a queued export's plan from what the job stored (ids and names only)."""
    spec = lists.LISTS[job.list_name]
    return lists.export_plan(spec, QueryDict(job.params), visible=None, columns_mode=job.columns_mode,
                             selected=job.selected or None, notices=[], headers=job.columns)


def run_export_job(job_id) -> None:
    """Builds a queued XLSX export (a Celery task or the in-process runner). The file is written
    under a temporary name and renamed, so a half-written file is never offered for download."""
    job = ExportJob.objects.filter(pk=job_id).select_related("requested_by").first()
    if job is None or job.state != ExportJob.State.QUEUED:
        return
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.RUNNING)
    try:
        # The rows are read as the requester sees them (scopes.py); a deleted requester sees nothing.
        with scopes.acting_for(job.requested_by):
            plan = job_plan(job)
        folder = Path(settings.EXPORT_DIR)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{job.pk}.xlsx"
        partial = folder / f"{job.pk}.xlsx.part"

        def progress(done: int) -> None:
            ExportJob.objects.filter(pk=job.pk).update(rows_written=done)

        with partial.open("wb") as fh:
            rows = exports.write_xlsx(fh, plan.qs, plan.fields, plan.manifest(job.requested_by, job.rows_total), progress)
        partial.replace(final)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.SUCCEEDED, rows_written=rows,
                                                   finished_at=timezone.now())
    except Exception as exc:  # recorded on the job; the message names the class only (no data, no secrets)
        logger.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.FAILED, finished_at=timezone.now(),
                                                   error_message=f"Export failed ({type(exc).__name__}).")


def cleanup_export_jobs(now: dt.datetime | None = None) -> int:
    """Deletes job files older than EXPORT_RETENTION_HOURS (the job row stays, for the audit
    trail) and fails jobs whose worker died mid-run. Returns the number of files deleted."""
    now = now or timezone.now()
    deleted = 0
    expired = ExportJob.objects.filter(state=ExportJob.State.SUCCEEDED, finished_at__lt=now - dt.timedelta(
        hours=settings.EXPORT_RETENTION_HOURS)).exclude(file_name="")
    for job in expired:
        for suffix in (".xlsx", ".xlsx.part"):
            path = Path(settings.EXPORT_DIR) / f"{job.pk}{suffix}"
            if path.exists():
                path.unlink()
                deleted += 1
        ExportJob.objects.filter(pk=job.pk).update(file_name="")
    limit = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    ExportJob.objects.filter(state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING],
                             created_at__lt=now - limit).update(
        state=ExportJob.State.FAILED, finished_at=now, error_message="Export interrupted (worker stopped); start it again.")
    return deleted

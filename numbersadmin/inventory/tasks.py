"""Celery tasks: ids in, one call, nothing else (never secrets in arguments)."""

from celery import shared_task

from . import export_jobs, runner


@shared_task(name=runner.SYNC_TASK, acks_late=True)
def sync_account(run_id: int) -> None:
    runner.execute_sync(run_id)


@shared_task(name="inventory.dispatch_due_syncs")
def dispatch_due_syncs() -> None:
    runner.dispatch_due()


@shared_task(name="inventory.reap_sync_runs")
def reap_sync_runs() -> None:
    runner.reap()


@shared_task(name=runner.EXPORT_TASK, acks_late=True)
def run_export(job_id: int) -> None:
    export_jobs.run_export_job(job_id)


@shared_task(name="inventory.cleanup_exports")
def cleanup_exports() -> None:
    export_jobs.cleanup_export_jobs()

"""Celery tasks: ids in, service call, nothing else (never secrets in arguments)."""

from celery import shared_task


@shared_task(name="inventory.sync_account", acks_late=True)
def sync_account(run_id: int) -> None:
    from .services.sync import run_sync

    run_sync(run_id)


@shared_task(name="inventory.dispatch_due_syncs")
def dispatch_due_syncs() -> None:
    from .services.dispatch import dispatch_due_syncs as dispatch

    dispatch()


@shared_task(name="inventory.reap_sync_runs")
def reap_sync_runs() -> None:
    from .services.dispatch import reap_runs

    reap_runs()


@shared_task(name="inventory.run_export", acks_late=True)
def run_export(job_id: int) -> None:
    from .services.exports import run_export_job

    run_export_job(job_id)


@shared_task(name="inventory.cleanup_exports")
def cleanup_exports() -> None:
    from .services.exports import cleanup_export_jobs

    cleanup_export_jobs()

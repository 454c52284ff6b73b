"""Celery tasks: ids in, one call, nothing else."""

from celery import shared_task

from . import runner


@shared_task(name=runner.RUN_TASK)
def run_alerts() -> None:
    runner.run()


@shared_task(name=runner.DELIVER_TASK, acks_late=True)
def deliver(notification_id: int) -> None:
    runner.deliver_task(notification_id)

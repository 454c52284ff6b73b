"""Where alert work runs, like the inventory's runner: Celery tasks when a broker is configured,
the embedded thread pool otherwise, or right here (tests, ``manage.py alerts run``).

Each delivery is its own task, so a slow receiver holds one worker slot for at most
ALERT_HTTP_TIMEOUT and never the others. Retries are rows (``next_attempt_at``): Celery gets a
countdown; the embedded and inline runners leave them to the next ``run``."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from numbersadmin.celery import app as celery_app
from numbersadmin.inventory import runner as inventory_runner

from .models import DeliveryState
from .services import channels, digest

logger = logging.getLogger(__name__)
RUN_TASK = "alerts.run"
DELIVER_TASK = "alerts.deliver"
INLINE_CONCURRENCY = 4


def _deliver_in_thread(notification_id: int, now=None) -> None:
    close_old_connections()
    try:
        channels.deliver(notification_id, now)
    finally:
        close_old_connections()


def hand_over(ids: list[int], now=None) -> None:
    """Deliver these notifications on the configured runner (``now``: inline only, for tests)."""
    if not ids:
        return
    if settings.TASK_RUNNER == "celery":
        for pk in ids:
            transaction.on_commit(lambda pk=pk: celery_app.send_task(DELIVER_TASK, (pk,)))
    elif settings.TASK_RUNNER == "thread":
        for pk in ids:
            transaction.on_commit(lambda pk=pk: inventory_runner.pool_submit(channels.deliver, pk))
    elif connection.in_atomic_block:  # inside a test's transaction: other threads would not see the rows
        for pk in ids:
            channels.deliver(pk, now)
    else:
        with ThreadPoolExecutor(max_workers=INLINE_CONCURRENCY, thread_name_prefix="alerts") as pool:
            list(pool.map(lambda pk: _deliver_in_thread(pk, now), ids))


def deliver_task(notification_id: int) -> None:
    """The Celery task body: one attempt, and the retry's countdown when it failed."""
    state = channels.deliver(notification_id)
    if state == DeliveryState.RETRYING and settings.TASK_RUNNER == "celery":
        from .models import Notification

        due = Notification.objects.filter(pk=notification_id).values_list("next_attempt_at", flat=True).first()
        countdown = max(1.0, (due - timezone.now()).total_seconds()) if due else 1.0
        celery_app.send_task(DELIVER_TASK, (notification_id,), countdown=countdown)


def run(now=None) -> digest.RunSummary:
    """Evaluate every rule, build what is due, and deliver it (and any retries now due)."""
    now = now or timezone.now()
    summary = digest.run_alerts(now)
    channels.reap_stuck(now)
    hand_over(channels.due_notifications(now), now)
    return summary

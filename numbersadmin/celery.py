"""Celery app. Only used when REDIS_URL is set; without it tasks run in the web process
(see numbersadmin.inventory.runner)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "numbersadmin.settings")

app = Celery("numbersadmin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "numbersadmin.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from django.conf import settings

        from numbersadmin.inventory import runner as inventory_runner

        from . import runner

        # The embedded scheduler runs alerts on the same interval beat would.
        job = (settings.ALERTS_RUN_EVERY, runner.run)
        if job not in inventory_runner.PERIODIC_JOBS:
            inventory_runner.PERIODIC_JOBS.append(job)

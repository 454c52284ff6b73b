from django.apps import AppConfig
from django.db.models.signals import post_migrate


class InventoryConfig(AppConfig):
    name = "numbersadmin.inventory"
    label = "inventory"
    verbose_name = "Inventory"

    def ready(self):
        from .counts import ensure_triggers

        # A later migration that rebuilds the numbers table (SQLite) must not leave the counts unmaintained.
        post_migrate.connect(ensure_triggers, sender=self, dispatch_uid="inventory.ensure_count_triggers")

from django.apps import AppConfig


class ReconcileConfig(AppConfig):
    name = "numbersadmin.reconcile"
    label = "reconcile"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # The inventory app never imports this one: it offers a post-sync hook list and a list
        # registry (lists.LISTS), and this app plugs into both.
        from numbersadmin.inventory import lists as inventory_lists
        from numbersadmin.inventory.services import sync as inventory_sync

        from . import lists, services

        if services.after_sync not in inventory_sync.POST_SYNC_HOOKS:
            inventory_sync.POST_SYNC_HOOKS.append(services.after_sync)
        inventory_lists.LISTS.setdefault(lists.FINDINGS.name, lists.FINDINGS)

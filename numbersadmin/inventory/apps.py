from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "numbersadmin.inventory"
    label = "inventory"
    verbose_name = "Inventory"

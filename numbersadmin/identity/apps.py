from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "numbersadmin.identity"
    label = "identity"
    verbose_name = "Users and single sign-on"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the configuration checks)

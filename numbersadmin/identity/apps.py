from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "numbersadmin.identity"
    label = "identity"
    verbose_name = "Users and single sign-on"

    def ready(self) -> None:
        from django.core.checks import register

        from .checks import sso_settings

        register(sso_settings)

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from ...crypto import SecretsUnavailable, decrypt_secrets, rotate
from ...models import ProviderAccount
from ...services.audit import audit


class Command(BaseCommand):
    help = "Re-encrypt every account's secrets with the first key in FIELD_ENCRYPTION_KEYS."

    @transaction.atomic
    def handle(self, *args, **opts):
        count = 0
        for account in ProviderAccount.objects.select_for_update():
            try:
                decrypt_secrets(account.secrets_encrypted)
            except SecretsUnavailable:
                raise CommandError(f"{account.name}: secrets cannot be decrypted with the configured keys; nothing changed.")
            account.secrets_encrypted = rotate(account.secrets_encrypted)
            account.save(update_fields=["secrets_encrypted"])
            count += 1
        audit("cli", "secrets.rotate", "all accounts", rows=count)
        self.stdout.write(f"Re-encrypted secrets of {count} account(s).")

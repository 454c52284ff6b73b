from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from providers import registry

from ...services.accounts import account_create, find_duplicates
from ._cli import parse_pairs


class Command(BaseCommand):
    help = "Add a provider account. Secrets: --secret KEY=VALUE or KEY=@FILE (never echoed)."

    def add_arguments(self, parser):
        parser.add_argument("provider", choices=sorted(registry.PROVIDERS))
        parser.add_argument("name")
        parser.add_argument("--base-url", default="")
        parser.add_argument("--config", action="append", metavar="KEY=VALUE")
        parser.add_argument("--secret", action="append", metavar="KEY=VALUE|KEY=@FILE")
        parser.add_argument("--interval", type=int, default=None, help="sync interval in minutes")
        parser.add_argument("--disabled", action="store_true")

    def handle(self, *args, **opts):
        config = parse_pairs(opts["config"], what="config")
        secrets = parse_pairs(opts["secret"], allow_files=True, what="secret")
        try:
            duplicates = find_duplicates(opts["provider"], opts["base_url"], secrets, config)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        try:
            account = account_create(
                provider=opts["provider"], name=opts["name"], base_url=opts["base_url"],
                config=config, secrets=secrets,
                sync_interval_minutes=opts["interval"], enabled=not opts["disabled"], user="cli",
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Added {account.provider} account {account.name!r} (id {account.pk}) -> {account.base_url}")
        if duplicates:  # scripts keep working; people are told
            self.stderr.write(f"Warning: this looks like an account you already have: "
                              f"{', '.join(a.name for a in duplicates)} (same provider and the same credentials or "
                              "organisation). Syncing both shows every number twice; archive or delete one.")

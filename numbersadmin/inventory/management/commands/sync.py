from django.core.management.base import BaseCommand, CommandError

from ...choices import SyncState, SyncTrigger
from ...models import ProviderAccount, SyncRun
from ...services.sync import run_sync


class Command(BaseCommand):
    help = "Sync one account (or --all) now, in this process; exit code 1 when a run failed."

    def add_arguments(self, parser):
        parser.add_argument("account", nargs="?", help="account name")
        parser.add_argument("--all", action="store_true", help="every enabled account")

    def handle(self, *args, **opts):
        if opts["all"]:
            accounts = list(ProviderAccount.objects.filter(enabled=True))
        elif opts["account"]:
            accounts = list(ProviderAccount.objects.filter(name=opts["account"]))
            if not accounts:
                raise CommandError(f"No account named {opts['account']!r}.")
        else:
            raise CommandError("Give an account name or --all.")
        failed = 0
        for account in accounts:
            run = run_sync(SyncRun.objects.create(account=account, trigger=SyncTrigger.CLI).pk)
            line = (f"{account.name}: {run.get_state_display()} - {run.items_fetched} fetched in {run.pages_fetched} pages; "
                    f"{run.added} added, {run.changed} changed, {run.removed} removed, {run.unchanged} unchanged")
            if run.held_removals:
                line += f", {run.held_removals} removals held for review"
            if run.error_class:
                line += f" [{run.error_class}] {run.error_message}"
            if run.state in (SyncState.SUCCEEDED, SyncState.NEEDS_REVIEW):
                self.stdout.write(line)
            else:
                failed += 1
                self.stderr.write(line)
        if failed:
            raise SystemExit(1)

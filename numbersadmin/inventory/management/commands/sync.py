import time

from django.core.management.base import BaseCommand, CommandError

from ...choices import SyncState, SyncTrigger
from ...models import ProviderAccount, SyncRun
from ...runner import run_here, sync_now


class Command(BaseCommand):
    help = "Sync one account (or --all) now, in this process; exit code 1 when a run failed."

    def add_arguments(self, parser):
        parser.add_argument("account", nargs="?", help="account name")
        parser.add_argument("--all", action="store_true", help="every enabled account")
        parser.add_argument("--queue", action="store_true",
                            help="hand the run to the task runner (Celery worker) instead of running here")
        parser.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                            help="with --queue: wait up to SECONDS for the queued runs to finish")

    def handle(self, *args, **opts):
        if opts["all"]:
            accounts = list(ProviderAccount.objects.filter(enabled=True))
        elif opts["account"]:
            accounts = list(ProviderAccount.objects.filter(name=opts["account"]))
            if not accounts:
                raise CommandError(f"No account named {opts['account']!r}.")
        else:
            raise CommandError("Give an account name or --all.")
        if opts["queue"]:
            return self._queue(accounts, opts["wait"])
        failed = 0
        for account in accounts:
            run = run_here(account)
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

    def _queue(self, accounts, wait: float):
        runs = []
        for account in accounts:
            run, created = sync_now(account, trigger=SyncTrigger.CLI)
            runs.append(run)
            self.stdout.write(f"{account.name}: run #{run.pk} {'queued' if created else 'already ' + run.state}")
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            states = {r.pk: r.state for r in SyncRun.objects.filter(pk__in=[r.pk for r in runs])}
            if all(s not in (SyncState.QUEUED, SyncState.RUNNING) for s in states.values()):
                break
            time.sleep(0.5)
        if wait:
            failed = 0
            for run in SyncRun.objects.filter(pk__in=[r.pk for r in runs]).select_related("account"):
                self.stdout.write(f"{run.account.name}: run #{run.pk} {run.state} {run.items_fetched} fetched"
                                  + (f" [{run.error_class}] {run.error_message}" if run.error_class else ""))
                failed += run.state not in (SyncState.SUCCEEDED, SyncState.NEEDS_REVIEW)
            if failed:
                raise SystemExit(1)

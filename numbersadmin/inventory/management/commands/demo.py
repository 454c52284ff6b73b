"""Quick start: demo users, built-in simulators on 127.0.0.1, one account per provider, a first
sync, then the dashboard at http://127.0.0.1:8000 with an in-process scheduler."""

from __future__ import annotations

import secrets as _secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand

from providers import registry
from providers.simulators import registry as simulators

from ...models import ProviderAccount
from ...runner import Scheduler, run_here
from ...services.accounts import account_create, account_update
from ...services.dispatch import recover_interrupted_runs

DEMO_SIZES = {"didww": 600, "voximplant": 90, "webex": 160, "apifonica": 120, "plivo": 140}
DEMO_PORT_BASE = 18600  # stable ports keep the demo data identical across restarts


class Command(BaseCommand):
    help = "Start simulators, create demo accounts and users, sync, and serve the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set up and sync, then exit")
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--numbers", type=int, default=None, help="numbers per simulated account")

    def handle(self, *args, **opts):
        call_command("migrate", verbosity=0, interactive=False)
        if recover_interrupted_runs():
            self.stdout.write("Marked syncs interrupted by the previous run as lost.")
        logins = self._users()
        sims = []
        held: list[str] = []  # E.164 numbers the demo's DIDWW account owns
        for index, (slug, spec) in enumerate(registry.PROVIDERS.items()):
            extra = {"owned_numbers": held[:12]} if slug == "voximplant" else {}
            sim = simulators.simulator(slug, numbers=opts["numbers"] or DEMO_SIZES.get(slug, 300), seed=7, **extra)
            try:
                sim.start(port=DEMO_PORT_BASE + index)
            except OSError:  # port taken (another demo?): any free port, the account follows it
                sim.start()
            sims.append(sim)
            if slug == "didww":
                held = ["+" + d["number"] for d in sim.dids[::40]]  # some become Voximplant caller IDs
            account = self._account(slug, spec, sim.base_url)
            run = run_here(account)
            self.stdout.write(f"  {spec.name}: simulator {sim.base_url} -> {account.name}: {run.get_state_display()}, "
                              f"{run.added} added, {run.changed} changed, {run.unchanged} unchanged")
        for sim in sims:
            sim.latency = 0.3  # a little provider latency so "Sync now" shows live progress
        if opts["no_serve"]:
            for sim in sims:
                sim.stop()
            return
        self.stdout.write(self.style.SUCCESS(f"\nDashboard: http://{opts['addr']}/"))
        for username, password, role in logins:
            self.stdout.write(f"  login {username} / {password}  ({role})")
        self.stdout.write("Simulators stay up while this runs; 'Sync now' on the Accounts page talks to them.\n")
        scheduler = Scheduler(every=60)
        scheduler.start()
        try:
            call_command("runserver", opts["addr"], use_reloader=False, use_threading=True)
        finally:
            scheduler.stop()
            for sim in sims:
                sim.stop()

    def _users(self):
        User = get_user_model()
        admins, _ = Group.objects.get_or_create(name="admins")
        admins.permissions.add(Permission.objects.get(codename="manage_accounts"))
        Group.objects.get_or_create(name="ops")
        logins = []
        for username, role in (("admin", "admin: accounts and syncs"), ("ops", "ops: browse and export")):
            password = _secrets.token_urlsafe(9)
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.is_staff = user.is_superuser = username == "admin"
            user.save()
            user.groups.add(admins if username == "admin" else Group.objects.get(name="ops"))
            logins.append((username, password, role))
        return logins

    def _account(self, slug, spec, base_url):
        name = f"{spec.name} demo"
        account = ProviderAccount.objects.filter(name=name).first()
        if account is None:
            return account_create(provider=slug, name=name, base_url=base_url, secrets=simulators.demo_secrets(slug),
                                  sync_interval_minutes=15, user="demo")
        # Simulator ports change between runs: point the existing account at this run's port.
        return account_update(account, base_url=base_url, secrets=simulators.demo_secrets(slug), user="demo")

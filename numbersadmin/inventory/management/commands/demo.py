"""Quick start: demo users, built-in simulators on 127.0.0.1, one account per provider, a first
sync, then the dashboard at http://127.0.0.1:8000 (``--addr``) with an in-process scheduler.

Re-runs are quiet: the web address is checked before anything else (a busy port fails at once,
with what to do); the demo logins keep their passwords (kept in ``var/demo_logins.json``, mode
0600; ``--reset-passwords`` sets new ones); simulators keep their ports and seeds, so a second
sync the same day reports numbers unchanged. Demo data is dated relative to today: DIDWW and Plivo
renewals lie ahead (a few DIDWW ones overdue), and some Voximplant caller IDs are DIDWW numbers
of the demo, a few of them expiring soon, so the caller-ID page links them to their numbers."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets as _secrets
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from numbersadmin.portcheck import DEFAULT_ADDR, AddressError, check_free, parse_addr
from providers import registry
from providers.simulators import registry as simulators

from ...crypto import SecretsUnavailable
from ...models import ProviderAccount
from ...runner import Scheduler, run_here
from ...services.accounts import account_create, account_update
from ...services.dispatch import recover_interrupted_runs

DEMO_SIZES = {"didww": 600, "voximplant": 90, "webex": 160, "apifonica": 120, "plivo": 140}
DEMO_PORT_BASE = 18600  # stable ports keep the demo data identical across restarts
DEMO_USERS = (("admin", "admin: accounts and syncs"), ("ops", "ops: browse and export"))
# Caller IDs the demo's Voximplant account verifies for DIDWW numbers of the demo: days from
# today until the verification ends (negative = expired). Most far ahead, a few soon.
OWNED_CALLER_ID_DAYS = (6, 13, 24, -9, 120, 160, 200, 240, 280, 320, 350, 365)


def simulator_port_base(web_port: int) -> int:
    """Simulator ports follow the dashboard's port (8000 -> 18600-18604, 8001 -> 18610-...): the
    same address always gets the same simulators, whose links then match last run's data (a
    DIDWW payload names its host, so a moved simulator would report every number changed)."""
    return DEMO_PORT_BASE + (web_port - 8000) % 400 * 10


def _date_owned_caller_ids(sim, numbers: list[str], today: dt.date) -> None:
    """Verification dates of the caller IDs that are demo DIDWW numbers: a few expiring soon, one
    expired, the rest far ahead (OWNED_CALLER_ID_DAYS)."""
    days = dict(zip(("".join(ch for ch in n if ch.isdigit()) for n in numbers), OWNED_CALLER_ID_DAYS))
    for item in sim.caller_ids:
        offset = days.get(str(item["callerid_number"]).lstrip("+"))
        if offset is not None:
            item["verified_until"] = (today + dt.timedelta(days=offset)).isoformat()
            item["active"] = offset >= 0


class Command(BaseCommand):
    help = "Start simulators, create demo accounts and users, sync, and serve the dashboard."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="set up and sync, then exit")
        parser.add_argument("--addr", default=DEFAULT_ADDR,
                            help=f"where the dashboard listens: HOST:PORT or PORT (default {DEFAULT_ADDR}); "
                                 "checked before anything else")
        parser.add_argument("--numbers", type=int, default=None, help="numbers per simulated account")
        parser.add_argument("--reset-passwords", action="store_true",
                            help="give the demo logins new passwords (otherwise they are kept between runs)")

    def handle(self, *args, **opts):
        addr = opts["addr"]
        try:
            # Before migrations, syncs and passwords: a busy port fails at once, saying what to do.
            host, port = parse_addr(addr) if opts["no_serve"] else check_free(addr)
        except AddressError as exc:
            raise CommandError(str(exc)) from None
        sim_port_base = simulator_port_base(port)
        if not os.environ.get("SITE_URL"):
            settings.SITE_URL = f"http://{host}:{port}"  # links in the demo's alert email
        call_command("migrate", verbosity=0, interactive=False)
        if recover_interrupted_runs():
            self.stdout.write("Marked syncs interrupted by the previous run as lost.")
        logins = self._users(reset=opts["reset_passwords"])
        today = timezone.now().date()
        sims = []
        held: list[str] = []  # E.164 numbers the demo's DIDWW account owns
        for index, (slug, spec) in enumerate(registry.PROVIDERS.items()):
            extra = {"today": today} if slug in ("didww", "plivo", "voximplant") else {}
            if slug == "voximplant":
                extra["owned_numbers"] = held[:len(OWNED_CALLER_ID_DAYS)]  # some caller IDs are DIDWW numbers
            sim = simulators.simulator(slug, numbers=opts["numbers"] or DEMO_SIZES.get(slug, 300), seed=7, **extra)
            if slug == "voximplant":
                _date_owned_caller_ids(sim, extra["owned_numbers"], today)
            try:
                sim.start(port=sim_port_base + index)
            except OSError:  # port taken (another demo?): any free port, the account follows it
                sim.start()
            sims.append(sim)
            if slug == "didww":
                held = ["+" + d["number"] for d in sim.dids[::40]]
            account = self._account(slug, spec, sim.base_url)
            run = run_here(account)
            self.stdout.write(f"  {spec.name}: simulator {sim.base_url} -> {account.name}: {run.get_state_display()}, "
                              f"{run.added} added, {run.changed} changed, {run.unchanged} unchanged")
        if apps.is_installed("numbersadmin.alerts"):  # by name: inventory never imports the alerts app
            call_command("alerts", "demo", stdout=self.stdout)
        for sim in sims:
            sim.latency = 0.3  # a little provider latency so "Sync now" shows live progress
        if opts["no_serve"]:
            for sim in sims:
                sim.stop()
            self._print_logins(logins)
            return
        self.stdout.write(self.style.SUCCESS(f"\nDashboard: http://{addr}/"))
        self._print_logins(logins)
        self.stdout.write("Simulators stay up while this runs; 'Sync now' on the Accounts page talks to them.\n")
        scheduler = Scheduler(every=60)
        scheduler.start()
        try:
            call_command("runserver", addr, use_reloader=False, use_threading=True)
        finally:
            scheduler.stop()
            for sim in sims:
                sim.stop()

    def _print_logins(self, logins):
        for username, password, role, note in logins:
            shown = password if password else "(your own password)"
            self.stdout.write(f"  login {username} / {shown}  ({role}){note}")

    # -- demo users ---------------------------------------------------------------------------------
    @staticmethod
    def _logins_file() -> Path:
        return Path(settings.VAR_DIR) / "demo_logins.json"

    def _stored_passwords(self) -> dict[str, str]:
        try:
            data = json.loads(self._logins_file().read_text())
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}

    def _store_passwords(self, passwords: dict[str, str]) -> None:
        path = self._logins_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(passwords, fh)
        path.chmod(0o600)

    def _users(self, *, reset: bool) -> list[tuple[str, str, str, str]]:
        """The demo's ``admin`` and ``ops``: created when missing; their passwords are kept between
        runs (new only for a new user, one without a usable password, or ``--reset-passwords``).
        A password someone changed since is left alone and not shown."""
        User = get_user_model()
        admins, _ = Group.objects.get_or_create(name="admins")
        admins.permissions.add(Permission.objects.get(codename="manage_accounts"))
        ops, _ = Group.objects.get_or_create(name="ops")
        stored = self._stored_passwords()
        logins = []
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            known = stored.get(username)
            note = ""
            if reset or created or not user.has_usable_password() or known is None:
                known = _secrets.token_urlsafe(9)
                user.set_password(known)
                stored[username] = known
                note = "  new password" if not created else ""
            elif not user.check_password(known):
                known, note = "", "  password changed since the demo set it; --reset-passwords sets a new one"
            user.is_staff = user.is_superuser = username == "admin"
            user.save()
            user.groups.add(admins if username == "admin" else ops)
            logins.append((username, known, role, note))
        self._store_passwords(stored)
        return logins

    def _account(self, slug, spec, base_url):
        name = f"{spec.name} demo"
        account = ProviderAccount.objects.filter(name=name).first()
        if account is None:
            return account_create(provider=slug, name=name, base_url=base_url, secrets=simulators.demo_secrets(slug),
                                  sync_interval_minutes=15, user="demo")
        try:
            same_secrets = account.get_secrets() == simulators.demo_secrets(slug)
        except SecretsUnavailable:  # encrypted with a key this checkout no longer has
            same_secrets = False
        if account.base_url == base_url and same_secrets:
            return account  # as last time: nothing to change (no audit row, no re-encryption)
        # Simulator ports change between runs only when a port was taken: follow this run's port.
        return account_update(account, base_url=base_url, secrets=simulators.demo_secrets(slug), user="demo")

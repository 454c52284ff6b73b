from __future__ import annotations

from contextlib import contextmanager

from numbersadmin.inventory.choices import SyncTrigger
from numbersadmin.inventory.models import PhoneNumber, SyncRun
from numbersadmin.inventory.runner import run_here
from numbersadmin.inventory.services.accounts import account_create
from providers.simulators.registry import demo_secrets, simulator


def sync(account, trigger=SyncTrigger.CLI) -> SyncRun:
    """A sync run here, as the CLI does it: the runs it queues (rate-limit retries) follow inline."""
    return run_here(account, trigger=trigger)


@contextmanager
def simulated_account(provider: str, name: str, **sim_options):
    """(simulator, account): a running simulator of ``provider`` and an account on it with its
    demo secrets, synced once; the simulator stops on exit."""
    sim = simulator(provider, **sim_options)
    sim.start()
    try:
        account = account_create(provider=provider, name=name, base_url=sim.base_url, secrets=demo_secrets(provider))
        run = sync(account)
        assert run.state == "succeeded", run.error_message
        yield sim, account
    finally:
        sim.stop()


def snapshot(account) -> list[tuple]:
    """Everything a failed run must leave untouched."""
    return list(PhoneNumber.objects.filter(account=account).order_by("pk").values_list(
        "pk", "external_id", "e164", "status", "trunk_id", "trunk_group_id", "removed_at", "content_hash",
        "last_changed_at", "description",
    ))


def export_rows(source) -> list[dict]:
    """Rows of an exported CSV (a path, or the text): the manifest lines ("# ...") are skipped,
    as the README tells users to."""
    import csv
    import io
    from pathlib import Path

    text = Path(source).read_text(encoding="utf-8") if isinstance(source, Path) or (
        isinstance(source, str) and "\n" not in source and Path(source).exists()) else source
    lines = io.StringIO(text)
    body = [line for line in lines if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(body))))


def export_manifest(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        out[key] = value
    return out

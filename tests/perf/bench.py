"""Opt-in benchmark: our sync and list page side by side with the "usual Django" peer, in one run.

    .venv/bin/python tests/perf/bench.py [--numbers 100000] [--sync-dids 10000] [--runs 7] [--sync-memory]
    .venv/bin/python tests/perf/bench.py --sync-dids 100000 --sync-memory-only   # peak memory of a sync

Needs PostgreSQL: INTEGRATION_DATABASE_URL (a role that may CREATE DATABASE). A throwaway
database is created, migrated, used and dropped. Output: a Markdown report on stdout (progress
goes to stderr) and JSON in test-artifacts/bench.json (``--json`` to change).

What is compared (docs/reference/PERFORMANCE.md: ratios against a named peer, never absolute
budgets; nothing here asserts on time):

* Sync. ``run_sync`` on a SyncRun against a DIDWW simulator on loopback, initial and unchanged
  re-sync, beside the peer: the same DidwwClient fetch, then ``bulk_create(update_conflicts=True)``
  of every record in one transaction (into a second account). The peer maps records with the same helper our
  sync uses (``ingest._number_values``), so only the write strategy differs. Row versions written
  by an unchanged re-sync come from ``pg_stat_user_tables.n_tup_upd`` for inventory_phonenumber.
* List page. ``/numbers/`` (page 1, a keyset cursor at ~90% depth, country=US&status=active,
  each also as an htmx partial) beside the Django admin changelist for the same rows
  (page 1, ``?p=<same page>``, ``?country__exact=US&status__exact=active``), test client,
  median of ``--runs`` warm runs, interleaved; query counts and SQL time from one extra
  captured run per view.
* Filter + sort pairs the list offers (country/kind/status/provider with the city, kind, country
  and last-changed sorts) beside the admin with the same filters (``o=`` where the admin can sort
  by that column, else its default order), the text search ("hotline": description, number,
  owner, location, city, trunk, note, application) beside the admin searching the same fields,
  and the caller IDs (``--caller-ids``), owners and locations lists beside admin changelists of
  the same rows with the same columns (number counts included). These peer admins are registered
  by this process only (``register_peer_admins``); the project's admin stays as it is.
* Dashboard. ``/`` (every figure counted; the total must read ``--numbers``) beside the admin
  changelist with facet counts (``?_facets=True``), same timing.
* Embedded SQLite (``--sqlite-numbers``, 0 to skip): bench_sqlite.py in a subprocess, our page 1,
  a filtered page and the dashboard beside the admin on one SQLite file.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "bench-didww-key-0123456789"
PER_PAGE = 50  # ours (DEFAULT_PER_PAGE) and the admin's list_per_page


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- database + Django setup ---------------------------------------------------------------------
def create_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"na_perf_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return name, urlunsplit(parts._replace(path="/" + name))


def drop_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_django(admin_url: str):
    """A new PostgreSQL database, migrated, with Django set up on it (yields its URL); dropped
    afterwards whatever happens."""
    name, db_url = create_database(admin_url)
    log(f"created database {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="na-perf-") as var_dir:
            setup_django(db_url, var_dir)
            yield db_url
    finally:
        drop_database(admin_url, name)
        log(f"dropped database {name}")


def setup_django(db_url: str, var_dir: str, migrate: bool = True) -> None:
    from cryptography.fernet import Fernet

    for key in [k for k in os.environ if k.startswith("DJANGO_")] + ["REDIS_URL", "TASK_RUNNER"]:
        os.environ.pop(key, None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "numbersadmin.settings",
        "DATABASE_URL": db_url,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PROVIDER_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "NUMBERSADMIN_VAR_DIR": var_dir,
        "STATIC_MANIFEST": "0",  # no collectstatic needed; identical for both sides
        "TASK_RUNNER": "inline",
        "LOG_LEVEL": "WARNING",
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if not migrate:  # e.g. a measuring subprocess on a database another process migrated
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def pg_table_stats(table: str = "inventory_phonenumber") -> dict[str, int]:
    """Cumulative tuple counters of ``table``, with this backend's pending stats flushed first
    (PostgreSQL >= 15 flushes lazily; the writes under test ran on this same connection)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")  # flushed when this statement ends
    last = None
    for _ in range(20):
        with connection.cursor() as cur:
            cur.execute("SELECT pg_stat_clear_snapshot()")
            cur.execute("SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del FROM pg_stat_user_tables "
                        "WHERE relname = %s", [table])
            row = cur.fetchone()
        if row == last:
            break
        last = row
        time.sleep(0.05)
    return dict(zip(("ins", "upd", "hot_upd", "del"), last))


def delta(after: dict, before: dict) -> dict:
    return {k: after[k] - before[k] for k in after}


def ratio(peer: float, ours: float) -> float | None:
    return round(peer / ours, 2) if ours else None


# -- sync benchmark ------------------------------------------------------------------------------
def peer_sync(account) -> dict:
    """The usual Django approach: fetch, then ``bulk_create(update_conflicts=True)`` of every listed number
    in one transaction (reference rows, a handful, by ``update_or_create``)."""
    from django.db import transaction
    from django.utils import timezone

    from numbersadmin.inventory.models import Location, NumberGroup, PhoneNumber, Trunk, TrunkGroup
    from numbersadmin.inventory.services import ingest
    from numbersadmin.inventory.services.accounts import build_client

    t0 = time.perf_counter()
    client = build_client(account)  # DidwwClient, same settings as run_sync uses
    try:
        inventory = client.fetch_inventory()
    finally:
        client.close()
    t1 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        def upsert(model, ext, **values):
            return model.objects.update_or_create(
                account=account, external_id=ext, defaults={**values, "last_seen": now, "removed_at": None},
                create_defaults={**values, "first_seen": now, "last_seen": now},
            )[0]

        locations = {r.external_id: upsert(Location, r.external_id, kind=r.kind, name=r.name[:200],
                                           country_code=r.country_code, country_name=r.country_name,
                                           region=r.region, city=r.city, raw=r.raw)
                     for r in inventory.locations}
        tgs = {r.external_id: upsert(TrunkGroup, r.external_id, name=r.name[:200], capacity_limit=r.capacity_limit,
                                     raw=r.raw).pk for r in inventory.trunk_groups}
        trunks = {r.external_id: upsert(Trunk, r.external_id, name=r.name[:200], kind=r.kind,
                                        description=r.description or "", raw=r.raw,
                                        trunk_group_id=tgs.get(r.trunk_group_id) if r.trunk_group_id else None).pk
                  for r in inventory.trunks}
        groups = {r.external_id: upsert(NumberGroup, r.external_id, name=r.name[:200], prefix=r.prefix,
                                        group_type=r.group_type, features=list(r.features), raw=r.raw,
                                        location_id=locations[r.location_id].pk if r.location_id in locations else None).pk
                  for r in inventory.groups}
        refs = {"trunk": trunks, "trunk_group": tgs, "group": groups}
        # The numbers: Django's own bulk upsert (issue 18's peer), every listed row written.
        created_only = {"first_seen"}
        rows = [PhoneNumber(account=account, external_id=rec.external_id, provider=account.provider, first_seen=now,
                            last_seen=now, last_changed_at=now, removed_at=None,
                            **ingest._number_values(rec, refs, locations, account.spec.raw_redaction))
                for rec in inventory.numbers]
        update_fields = [f.attname for f in PhoneNumber._meta.concrete_fields
                         if not f.primary_key and f.attname not in created_only | {"account_id", "external_id"}]
        PhoneNumber.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                        unique_fields=["account", "external_id"], update_fields=update_fields)
        seen = [rec.external_id for rec in inventory.numbers]
        PhoneNumber.objects.filter(account=account, removed_at__isnull=True).exclude(external_id__in=seen).update(
            removed_at=now, status="removed", last_changed_at=now)
    t2 = time.perf_counter()
    return {"total_s": t2 - t0, "fetch_s": t1 - t0, "apply_s": t2 - t1, "numbers": len(inventory.numbers)}


def sync_memory(ours_sync, base_url: str, trace: bool = True) -> dict:
    """Peak memory of one more initial sync (a fresh account). ``trace``: tracemalloc's peak of
    Python allocations during it (the in-process simulator's page serving included, so an upper
    bound; slow). Otherwise (a cold process whose first sync this is) the growth of ru_maxrss over
    the sync: the process high-water mark before vs after."""
    import resource
    import tracemalloc

    from numbersadmin.inventory.services.accounts import account_create

    def maxrss_mib() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux

    acct = account_create(provider="didww", name="bench memory", base_url=base_url, secrets={"api_key": API_KEY})
    before = maxrss_mib()
    if trace:
        tracemalloc.start()
    try:
        r = ours_sync(acct)
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    finally:
        tracemalloc.stop()
    result = {"numbers": r["numbers"], "traced_peak_mib": round(peak, 1) if trace else None,
              "ru_maxrss_before_mib": before, "ru_maxrss_mib": maxrss_mib()}
    result["ru_maxrss_growth_mib"] = round(result["ru_maxrss_mib"] - before, 1)
    log(f"sync: memory run {r['numbers']:,} numbers: {result}")
    return result


def bench_sync(n_dids: int, resync_runs: int, memory: bool = False, memory_only: bool = False) -> dict:
    from numbersadmin.inventory.choices import SyncState, SyncTrigger
    from numbersadmin.inventory.models import PhoneNumber, SyncRun
    from numbersadmin.inventory.services import ingest, sync
    from numbersadmin.inventory.services.accounts import account_create, build_client
    from providers.simulators.didww import DidwwSimulator

    # Time our apply step separately (sync.py calls ingest.apply_inventory through the module).
    apply_times: list[float] = []
    original_apply = ingest.apply_inventory

    def timed_apply(*args, **kwargs):
        t = time.perf_counter()
        try:
            return original_apply(*args, **kwargs)
        finally:
            apply_times.append(time.perf_counter() - t)

    ingest.apply_inventory = timed_apply

    def ours_sync(account) -> dict:
        apply_times.clear()
        t0 = time.perf_counter()
        run = sync.run_sync(SyncRun.objects.create(account=account, trigger=SyncTrigger.CLI).pk)
        total = time.perf_counter() - t0
        if run.state != SyncState.SUCCEEDED:
            raise RuntimeError(f"our sync ended {run.state}: {run.error_class} {run.error_message}")
        apply_s = apply_times[-1]
        return {"total_s": total, "fetch_s": total - apply_s, "apply_s": apply_s, "numbers": run.items_fetched,
                "added": run.added, "changed": run.changed, "unchanged": run.unchanged}

    log(f"sync: seeding DIDWW simulator with {n_dids:,} DIDs")
    sim = DidwwSimulator(api_key=API_KEY, dids=n_dids, trunks=6, trunk_groups=2, seed=7)
    sim.start()
    try:
        ours_acct = account_create(provider="didww", name="bench ours", base_url=sim.base_url,
                                   secrets={"api_key": API_KEY})
        peer_acct = account_create(provider="didww", name="bench peer (bulk_create update_conflicts)", base_url=sim.base_url,
                                   secrets={"api_key": API_KEY})
        if memory_only:  # a cold worker: phonenumbers metadata loading counts too
            return {"dids": n_dids, "memory": sync_memory(ours_sync, sim.base_url, trace=False)}
        # Warm-up (untimed): HTTP stack, simulator, phonenumbers metadata for every region.
        client = build_client(ours_acct)
        try:
            warm = client.fetch_inventory()
        finally:
            client.close()
        for rec in warm.numbers:
            ingest.national_digits(rec.e164)
        del warm

        result: dict = {"dids": n_dids, "ours": {}, "peer": {}}
        for side, fn, acct in (("ours", ours_sync, ours_acct), ("peer", peer_sync, peer_acct)):
            log(f"sync: {side} initial")
            before = pg_table_stats()
            r = fn(acct)
            r["rows"] = delta(pg_table_stats(), before)
            result[side]["initial"] = r
            log(f"sync: {side} initial {r['total_s']:.2f} s (apply {r['apply_s']:.2f} s)")
        counts = {s: PhoneNumber.objects.filter(account=a).count() for s, a in (("ours", ours_acct), ("peer", peer_acct))}
        if counts["ours"] != counts["peer"] or counts["ours"] != len(sim.dids):
            raise RuntimeError(f"row counts differ after the initial syncs: {counts}, simulator {len(sim.dids)}")

        resync: dict[str, list] = {"ours": [], "peer": []}
        for i in range(resync_runs):  # interleaved so drift hits both sides alike
            for side, fn, acct in (("ours", ours_sync, ours_acct), ("peer", peer_sync, peer_acct)):
                before = pg_table_stats()
                r = fn(acct)
                r["rows"] = delta(pg_table_stats(), before)
                resync[side].append(r)
                log(f"sync: {side} unchanged re-sync {i + 1}/{resync_runs} {r['total_s']:.2f} s, "
                    f"{r['rows']['upd']} rows updated")
        for side, runs in resync.items():
            result[side]["resync"] = {
                "total_s": statistics.median(r["total_s"] for r in runs),
                "fetch_s": statistics.median(r["fetch_s"] for r in runs),
                "apply_s": statistics.median(r["apply_s"] for r in runs),
                "rows": runs[0]["rows"],
                "runs": runs,
            }
        if resync["ours"][0].get("unchanged") != n_dids:
            raise RuntimeError(f"our re-sync did not see every DID unchanged: {resync['ours'][0]}")
        if memory:
            result["memory"] = sync_memory(ours_sync, sim.base_url)
        result["ratios_peer_over_ours"] = {
            f"{phase}_{part}": ratio(result["peer"][phase][f"{part}_s"], result["ours"][phase][f"{part}_s"])
            for phase in ("initial", "resync") for part in ("total", "apply")
        }
        return result
    finally:
        ingest.apply_inventory = original_apply
        sim.stop()


def time_views(client, views: list[tuple], runs: int) -> list[dict]:
    """Each view (name, side, url, headers, peer view name, text the page must contain): checked
    (and warmed) twice, then timed ``runs`` times interleaved, then once more with its queries
    captured. Rows carry the median and, for ours, the peer's median over ours."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get(url, headers):
        response = client.get(url, headers=headers)
        body = response.content
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} -> {response.status_code}")
        return body

    # Sanity (and warm-up): every page shows the expected first row and no ignored filters.
    for name, _, url, headers, _, must in views:
        for _ in range(2):
            body = get(url, headers).decode()
        if must is not None and must not in body:
            raise RuntimeError(f"{name}: expected row {must} not in the page")
        if "Ignored filter" in body or "That page link is not valid" in body:
            raise RuntimeError(f"{name}: the page reports an ignored filter or invalid cursor")

    times: dict[str, list[float]] = {v[0]: [] for v in views}
    sizes: dict[str, int] = {}
    for _ in range(runs):  # interleaved: each round times every view once
        for name, _, url, headers, _, _ in views:
            t = time.perf_counter()
            body = get(url, headers)
            times[name].append((time.perf_counter() - t) * 1000)
            sizes[name] = len(body)
    rows = []
    for name, side, url, headers, peer, _ in views:
        with CaptureQueriesContext(connection) as ctx:
            get(url, headers)
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]), default=None)
        rows.append({
            "view": name, "side": side, "url": url, "htmx": bool(headers), "peer": peer,
            "median_ms": round(statistics.median(times[name]), 1),
            "min_ms": round(min(times[name]), 1), "max_ms": round(max(times[name]), 1),
            "queries": len(ctx.captured_queries), "sql_ms": round(sql_ms, 1), "bytes": sizes[name],
            "slowest_sql": (slowest["sql"][:160], round(float(slowest["time"]) * 1000, 1)) if slowest else None,
        })
    by_name = {r["view"]: r for r in rows}
    for r in rows:
        r["ratio_admin_over_ours"] = ratio(by_name[r["peer"]]["median_ms"], r["median_ms"]) if r["peer"] else None
    return rows


# -- list benchmark ------------------------------------------------------------------------------
# (ours, admin) query strings: a filter + sort pair the list offers and the admin's nearest view
# (``o=<list_display position>`` where the admin can sort by the column; else its default order).
# (our query, the admin's filters, the admin column it sorts by ("-" first: descending) or "").
# The admin's ``o=`` is an index into its list_display, so it is looked up (admin_sort), never
# written by hand: hand-written indices had sorted three peers by the wrong column.
FILTER_SORT_PAIRS = [
    ("country=US&status=active&sort=-last_changed", "country__exact=US&status__exact=active", ""),
    ("country=GB&kind=local&sort=city", "country__exact=GB&kind__exact=local", "city"),
    ("provider=didww&sort=-country", "provider__exact=didww", "-country"),
    ("status=suspended&sort=kind", "status__exact=suspended", "kind"),
    # Sorts through a relation: the admin sorts by the related model's ordering (name, id).
    ("sort=trunk", "", "trunk"),
    ("sort=account", "", "account"),
]


def admin_sort(column: str) -> str:
    """``o=`` for the numbers admin sorted by ``column`` (a list_display name, "-" for descending)."""
    from django.contrib import admin

    from numbersadmin.inventory.models import PhoneNumber

    if not column:
        return ""
    display = list(admin.site._registry[PhoneNumber].list_display)
    index = display.index(column.lstrip("-"))  # raises if the admin no longer shows it
    return f"o={'-' if column.startswith('-') else ''}{index}"


SEARCH_WORD = "hotline"  # in 1 description of 20 (bench_export.seed)
# Two words: "support line" come together (every "Support hotline"), "sales reception" never do.
SEARCH_WORDS = ("support+line", "sales+reception")


def register_peer_admins() -> None:
    """Bench-only admin changelists for the related lists, and the numbers admin searching the
    fields our search reads, then the URLconf reloaded so the admin serves them."""
    import importlib

    from django.conf import settings
    from django.contrib import admin
    from django.db.models import Count, Q
    from django.urls import clear_url_caches

    from numbersadmin.inventory.filters import NUMBER_TEXT_FIELDS
    from numbersadmin.inventory.models import CallerId, Location, Owner, PhoneNumber

    admin.site._registry[PhoneNumber].search_fields = NUMBER_TEXT_FIELDS
    live = Q(numbers__removed_at__isnull=True)

    class CountingAdmin(admin.ModelAdmin):
        list_per_page = PER_PAGE

        def get_queryset(self, request):
            return super().get_queryset(request).filter(removed_at__isnull=True).annotate(
                number_count=Count("numbers", filter=live))

        @admin.display(description="Numbers", ordering="number_count")
        def numbers(self, obj):
            return obj.number_count

    class CallerIdPeer(admin.ModelAdmin):
        list_display = ("e164", "account", "kind", "verified_until", "active", "code_entering_attempts_left",
                        "verification_call_attempts_left", "external_id")
        list_select_related = ("account",)
        list_filter = ("active",)
        ordering = ("verified_until", "id")
        list_per_page = PER_PAGE

    class OwnerPeer(CountingAdmin):
        list_display = ("name", "owner_type", "account", "location", "numbers")
        list_select_related = ("account", "location")
        ordering = ("name", "id")

    class LocationPeer(CountingAdmin):
        list_display = ("name", "kind", "account", "country_code", "region", "city", "main_number", "numbers")
        list_select_related = ("account",)
        ordering = ("name", "id")

    for model, peer in ((CallerId, CallerIdPeer), (Owner, OwnerPeer), (Location, LocationPeer)):
        if not admin.site.is_registered(model):
            admin.site.register(model, peer)
    clear_url_caches()
    module = sys.modules.get(settings.ROOT_URLCONF)
    if module is not None:
        importlib.reload(module)


def seed_caller_ids(n: int) -> None:
    """``n`` caller IDs of the APAC account: every other one a number we hold (the "owned by"
    column finds it), verified until dates spread over a year."""
    from django.utils import timezone

    from numbersadmin.inventory.models import CallerId, PhoneNumber, ProviderAccount

    account = ProviderAccount.objects.get(name="Voximplant APAC")
    held = list(PhoneNumber.objects.filter(account=account).order_by("id").values_list("e164", "digits", "national_digits",
                                                                                        "country")[: n // 2])
    today = timezone.localdate()
    rows = []
    for i in range(n):
        if i % 2 == 0 and i // 2 < len(held):
            e164, digits, national, country = held[i // 2]
        else:
            national = f"29{i:07d}"
            e164, digits, country = f"+61{national}", f"61{national}", "AU"
        rows.append(CallerId(account=account, external_id=f"cid-{i}", number_raw=e164, e164=e164, digits=digits,
                             national_digits=national, country=country, active=i % 7 != 0,
                             verified_until=None if i % 11 == 0 else today + dt.timedelta(days=i % 365 - 30),
                             code_entering_attempts_left=i % 4, verification_call_attempts_left=i % 3))
    CallerId.objects.bulk_create(rows, batch_size=2000)


def bench_list(n: int, runs: int, caller_ids: int = 5000) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from numbersadmin.inventory.models import PhoneNumber
    from numbersadmin.inventory.pagination import _encode

    from bench_export import seed  # one generator for every benchmark (INSERT ... SELECT, indexes rebuilt)

    log(f"list: bulk-loading {n:,} numbers")
    load = seed(n, removed=False)  # live rows only: the admin changelist pages over every row
    log(f"list: loaded in {load['load_s']} s ({load['rows_per_s']:,} rows/s), VACUUM ANALYZE {load['analyze_s']} s")
    seed_caller_ids(caller_ids)
    with connection.cursor() as cur:
        # As autovacuum leaves a table after a load (its visibility map set): index-only counts.
        cur.execute("VACUUM ANALYZE inventory_callerid")
        cur.execute("ANALYZE")
    register_peer_admins()

    # Deep page: admin ?p=<page> (1-based) shows rows (page-1)*50+1 ..; our cursor names the row
    # just before that, direction "n", so both pages show exactly the same 50 rows.
    deep_page = max(2, int(n * 0.9) // PER_PAGE)
    boundary_pos = (deep_page - 1) * PER_PAGE
    ordered = PhoneNumber.objects.filter(removed_at__isnull=True).order_by("e164", "id")
    b_e164, b_id = ordered.values_list("e164", "id")[boundary_pos - 1]
    first_deep = ordered.values_list("e164", flat=True)[boundary_pos]
    cursor = _encode({"v": b_e164, "i": b_id, "d": "n", "p": boundary_pos})
    first_p1 = ordered.values_list("e164", flat=True)[0]
    first_us = ordered.filter(country="US", status="active").values_list("e164", flat=True)[0]

    from numbersadmin.inventory.models import Location, Owner

    owners = Owner.objects.filter(removed_at__isnull=True).count()
    locations = Location.objects.filter(removed_at__isnull=True).count()
    pair_views, admin_pair_views = [], []
    for ours_q, admin_filters, admin_column in FILTER_SORT_PAIRS:
        admin_q = "&".join(p for p in (admin_filters, admin_sort(admin_column)) if p)
        peer = f"admin: {admin_q}"
        pair_views.append((f"ours: {ours_q}", "ours", f"/numbers/?{ours_q}", {}, peer, None))
        if all(v[0] != peer for v in admin_pair_views):
            admin_pair_views.append((peer, "admin", f"/django-admin/inventory/phonenumber/?{admin_q}", {}, None, None))

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(16))
    client = Client()
    client.force_login(user)
    admin = "/django-admin/inventory/phonenumber/"
    hx = {"HX-Request": "true"}
    # (name, side, url, headers, admin peer view, text the page must contain)
    views = [
        ("ours: page 1", "ours", "/numbers/", {}, "admin: page 1", first_p1),
        ("ours: page 1 (htmx partial)", "ours", "/numbers/", hx, "admin: page 1", first_p1),
        (f"ours: row {boundary_pos + 1:,} (keyset cursor)", "ours", f"/numbers/?cursor={cursor}", {},
         f"admin: ?p={deep_page}", first_deep),
        (f"ours: row {boundary_pos + 1:,} (htmx partial)", "ours", f"/numbers/?cursor={cursor}", hx,
         f"admin: ?p={deep_page}", first_deep),
        ("ours: country=US&status=active", "ours", "/numbers/?country=US&status=active", {},
         "admin: country=US, status=active", first_us),
        ("ours: country=US&status=active (htmx partial)", "ours", "/numbers/?country=US&status=active", hx,
         "admin: country=US, status=active", first_us),
        *pair_views,
        (f"ours: q={SEARCH_WORD}", "ours", f"/numbers/?q={SEARCH_WORD}", {}, f"admin: q={SEARCH_WORD} (same fields)", None),
        (f"ours: q={SEARCH_WORD} (htmx partial)", "ours", f"/numbers/?q={SEARCH_WORD}", hx,
         f"admin: q={SEARCH_WORD} (same fields)", None),
        *((f"ours: q={q}", "ours", f"/numbers/?q={q}", {}, f"admin: q={q} (same fields)", None) for q in SEARCH_WORDS),
        (f"ours: caller IDs ({caller_ids:,})", "ours", "/caller-ids/", {}, "admin: caller IDs", None),
        (f"ours: owners ({owners:,})", "ours", "/owners/", {}, "admin: owners", None),
        (f"ours: locations ({locations:,})", "ours", "/locations/", {}, "admin: locations", None),
        # Dashboard: every figure counted (all n rows are live, so the total must read n) beside the
        # admin changelist with its facet counts (?_facets=True: a count per filter choice).
        ("ours: dashboard", "ours", "/", {}, "admin: page 1 with facets", f"{n:,}"),
        ("admin: page 1", "admin", admin, {}, None, first_p1),
        ("admin: page 1 with facets", "admin", f"{admin}?_facets=True", {}, None, first_p1),
        *admin_pair_views,
        (f"admin: q={SEARCH_WORD} (same fields)", "admin", f"{admin}?q={SEARCH_WORD}", {}, None, None),
        *((f"admin: q={q} (same fields)", "admin", f"{admin}?q={q}", {}, None, None) for q in SEARCH_WORDS),
        ("admin: caller IDs", "admin", "/django-admin/inventory/callerid/", {}, None, None),
        ("admin: owners", "admin", "/django-admin/inventory/owner/", {}, None, None),
        ("admin: locations", "admin", "/django-admin/inventory/location/", {}, None, None),
        (f"admin: ?p={deep_page}", "admin", f"{admin}?p={deep_page}", {}, None, first_deep),
        ("admin: country=US, status=active", "admin", f"{admin}?country__exact=US&status__exact=active", {}, None,
         first_us),
    ]

    rows = time_views(client, views, runs)
    return {"numbers": n, "runs": runs, "per_page": PER_PAGE, "deep_row": boundary_pos + 1, "deep_admin_page": deep_page,
            "caller_ids": caller_ids, "load": load, "views": rows}


# -- report --------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    m, s, li = report["meta"], report["sync"], report["list"]
    out = [
        f"# numbersadmin benchmark ({m['started_at']})",
        "",
        f"PostgreSQL {m['postgres']}, Python {m['python']}, Django {m['django']}, {m['cpus']} CPUs. "
        f"Total {m['elapsed_s']:.0f} s.",
        "",
        f"## Sync: {s['dids']:,} DIDs from the DIDWW simulator (loopback)",
        "",
        "Ours = `run_sync` (fetch, then hash-skip + bulk writes). Peer = same DidwwClient fetch, then "
        "`bulk_create(update_conflicts=True)` of every record in one transaction. Re-sync: median of "
        f"{len(s['ours']['resync']['runs'])} unchanged re-syncs.",
        "",
        "| Phase | Ours s (apply s) | Peer s (apply s) | Peer/ours total | Peer/ours apply "
        "| Rows updated (n_tup_upd) ours / peer | Rows inserted ours / peer |",
        "|---|---|---|---|---|---|---|",
    ]
    r = s["ratios_peer_over_ours"]
    for phase, label in (("initial", "Initial sync"), ("resync", "Unchanged re-sync")):
        o, p = s["ours"][phase], s["peer"][phase]
        out.append(f"| {label} | {o['total_s']:.2f} ({o['apply_s']:.2f}) | {p['total_s']:.2f} ({p['apply_s']:.2f}) "
                   f"| {r[phase + '_total']}× | {r[phase + '_apply']}× | {o['rows']['upd']:,} / {p['rows']['upd']:,} "
                   f"| {o['rows']['ins']:,} / {p['rows']['ins']:,} |")
    out += [
        "",
        f"Fetch alone (same client, both sides): ~{s['peer']['initial']['fetch_s']:.2f} s, so end-to-end ratios are "
        "capped by the fetch; the apply column is the write strategy alone.",
        *([""] + [f"Peak memory of our initial sync of {s['memory']['numbers']:,} numbers (fresh account): "
                  f"{s['memory']['traced_peak_mib']} MiB traced by tracemalloc (simulator included); "
                  f"process ru_maxrss after the whole sync benchmark {s['memory']['ru_maxrss_mib']} MiB."]
          if "memory" in s else []),
        "",
        f"## List page: {li['numbers']:,} numbers, median of {li['runs']} warm runs (test client)",
        "",
        f"Loaded with one INSERT ... SELECT (indexes rebuilt after) at {li['load']['rows_per_s']:,} rows/s, then VACUUM ANALYZE. Deep = row "
        f"{li['deep_row']:,} (admin `?p={li['deep_admin_page']}`, ours a keyset cursor to the same rows). "
        "Partials are compared with the admin's full page for the same rows (the admin has no partial). "
        "Filter + sort pairs: the admin with the same filters, sorted by the same column where it can (`o=`). "
        f"Search: the admin with `search_fields` set to the fields ours reads. Caller IDs ({li.get('caller_ids', 0):,}), "
        "owners and locations: admin changelists of the same rows and columns, number counts included.",
        "",
    ]
    out += view_rows(li["views"])
    dash = next((v for v in li["views"] if v["view"] == "ours: dashboard"), None)
    if dash:
        out += ["", f"Dashboard: {dash['ratio_admin_over_ours']}× the admin changelist with facet counts."]
    out.append("")
    return "\n".join(out)


def view_rows(views: list[dict]) -> list[str]:
    """The Markdown table of time_views rows (bench_sqlite.py prints the same)."""
    out = ["| View | Median ms | SQL ms | Queries | KiB | Admin/ours |", "|---|---|---|---|---|---|"]
    for v in views:
        rat = f"{v['ratio_admin_over_ours']}×" if v["ratio_admin_over_ours"] is not None else "—"
        out.append(f"| {v['view']} | {v['median_ms']:.1f} | {v['sql_ms']:.1f} | {v['queries']} | {v['bytes'] / 1024:.0f} "
                   f"| {rat} |")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000, help="rows in the list-page table")
    parser.add_argument("--sync-dids", type=int, default=10_000, help="DIDs in the simulator for the sync benchmark")
    parser.add_argument("--runs", type=int, default=7, help="warm runs per list view (median reported)")
    parser.add_argument("--sync-runs", type=int, default=3, help="unchanged re-syncs per side (median reported)")
    parser.add_argument("--caller-ids", type=int, default=5000, help="caller IDs in the caller-ID list")
    parser.add_argument("--sqlite-numbers", type=int, default=100_000,
                        help="rows for the embedded SQLite comparison (bench_sqlite.py); 0 skips it")
    parser.add_argument("--sync-memory", action="store_true",
                        help="also report the peak memory of one more initial sync (tracemalloc: slow)")
    parser.add_argument("--sync-memory-only", action="store_true",
                        help="only the peak memory of one initial sync of --sync-dids numbers (no timings, no list)")
    parser.add_argument("--json", default=str(ROOT / "test-artifacts" / "bench.json"), help="where to write JSON")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATION_DATABASE_URL", ""),
                        help="PostgreSQL URL of a role that may CREATE DATABASE (default: $INTEGRATION_DATABASE_URL)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set INTEGRATION_DATABASE_URL (or --database-url) to a PostgreSQL server")
    if args.numbers < 2 * PER_PAGE or args.sync_dids < 1 or args.runs < 1 or args.sync_runs < 1:
        parser.error(f"need --numbers >= {2 * PER_PAGE} and positive --sync-dids/--runs/--sync-runs")

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with throwaway_django(args.database_url):
        import django
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            pg_version = cur.fetchone()[0]
        if args.sync_memory_only:
            memory = bench_sync(args.sync_dids, args.sync_runs, memory_only=True)
            connection.close()
            m = memory["memory"]
            write_report({"sync": memory}, args.json,
                         f"Peak memory of our initial sync of {m['numbers']:,} numbers (cold process, DIDWW simulator "
                         f"in process): ru_maxrss {m['ru_maxrss_before_mib']} MiB before, {m['ru_maxrss_mib']} MiB "
                         f"after: +{m['ru_maxrss_growth_mib']} MiB for the sync.")
            return 0
        sync_result = bench_sync(args.sync_dids, args.sync_runs, memory=args.sync_memory)
        # The list table holds only the bulk-loaded rows.
        with connection.cursor() as cur:
            cur.execute("TRUNCATE inventory_phonenumber CASCADE")
        list_result = bench_list(args.numbers, args.runs, args.caller_ids)
        report = {
            "meta": {"started_at": started_at, "postgres": pg_version, "python": platform.python_version(),
                     "django": django.get_version(), "cpus": os.cpu_count(), "args": vars(args) | {"database_url": None},
                     "elapsed_s": round(time.perf_counter() - started, 1)},
            "sync": sync_result,
            "list": list_result,
        }
        connection.close()
    text = markdown(report)
    if args.sqlite_numbers:
        report["sqlite"], sqlite_text = run_sqlite(args.sqlite_numbers, args.runs)
        text += "\n" + sqlite_text
    write_report(report, args.json, text)
    return 0


def run_sqlite(numbers: int, runs: int) -> tuple[dict, str]:
    """bench_sqlite.py in its own process (Django is set up once per process, here on PostgreSQL):
    (its JSON, its Markdown)."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="na-perf-") as tmp:
        out = Path(tmp) / "sqlite.json"
        log(f"sqlite: {numbers:,} numbers in a subprocess")
        done = subprocess.run([sys.executable, str(Path(__file__).with_name("bench_sqlite.py")), "--numbers",
                               str(numbers), "--runs", str(runs), "--json", str(out)],
                              check=True, stdout=subprocess.PIPE, text=True)
        return json.loads(out.read_text()), done.stdout


def write_report(report: dict, json_path: str, text: str) -> None:
    """JSON to ``json_path``, Markdown to stdout (both benchmarks)."""
    out = Path(json_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(text)
    log(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())

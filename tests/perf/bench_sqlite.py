"""Opt-in benchmark: embedded SQLite. Our numbers page 1, a filtered page and the dashboard beside
the Django admin changelist on the same SQLite file.

    .venv/bin/python tests/perf/bench_sqlite.py [--numbers 100000] [--runs 7]

No server needed: a throwaway SQLite file (WAL, the embedded settings) is migrated, loaded with
``--numbers`` live numbers (plain INSERTs, so NumberCount's triggers fire as in a sync), ANALYZEd,
measured with the test client (median of interleaved warm runs, bench.time_views) and deleted.
bench.py runs this in a subprocess (``--sqlite-numbers``) and folds its table into its report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (this folder, not a package on the path)
from bench_export import ACCOUNTS  # noqa: E402

STATUSES = ((0.85, "active"), (0.90, "pending"), (0.94, "suspended"), (0.97, "cancelling"), (1.0, "inactive"))
KINDS = ((0.85, "local"), (0.93, "mobile"), (0.98, "toll_free"), (1.0, "national"))


def _pick(table, r: float) -> str:
    return next(value for bound, value in table if r < bound)


def load(n: int) -> dict:
    """Accounts, locations and trunks as bench_export.seed makes them, then ``n`` live numbers
    (same account shares, status / kind mix and renewal dates)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from numbersadmin.inventory.models import Location, PhoneNumber, ProviderAccount, Trunk

    rng = random.Random(42)
    t0 = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        accounts = []
        for a, (name, provider, locations) in enumerate(ACCOUNTS):
            account = ProviderAccount.objects.create(provider=provider, name=name, config={},
                                                     base_url="https://api.example.com",
                                                     last_success_at=now - dt.timedelta(minutes=20))
            locs = [(Location.objects.create(account=account, external_id=f"loc-{a}-{j}", name=city, country_code=iso,
                                             country_name=cname, region=region, city=city), iso, region, city, cc, area)
                    for j, (iso, cname, region, city, cc, area) in enumerate(locations)]
            trunks = [Trunk.objects.create(account=account, external_id=f"tr-{a}-{j}", name=f"{name} trunk {j}",
                                           kind="sip") for j in range(3)]
            accounts.append((account, locs, trunks))
        # Raw executemany of prepared rows: ~20x faster than bulk_create's per-value preparation.
        # Every column starts from one model instance's prepared values; the varying ones follow.
        fields = [f for f in PhoneNumber._meta.concrete_fields if not f.primary_key]
        template = PhoneNumber(first_seen=now, last_seen=now, last_changed_at=now, raw={})
        base = {f.column: f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields}
        columns = list(base)
        sql = (f"INSERT INTO inventory_phonenumber ({', '.join(columns)}) "
               f"VALUES ({', '.join(['%s'] * len(columns))})")
        rows = []
        for i in range(1, n + 1):
            a = 3 if i <= 100 else 2 if i % 10 == 0 else 0 if i % 10 < 6 else 1  # bench_export's shares
            account, locs, trunks = accounts[a]
            k = (i * 2654435761) % 10_000_000
            loc, iso, region, city, cc, area = locs[k % len(locs)]
            national = f"{area}{k:07d}"
            row = base | {
                "account_id": account.pk, "provider": account.provider, "external_id": f"n{i}",
                "number_raw": cc + national, "e164": f"+{cc}{national}", "digits": cc + national,
                "national_digits": national, "country": iso, "region": region, "city": city,
                "kind": _pick(KINDS, rng.random()), "status": _pick(STATUSES, rng.random()),
                "raw": f'{{"id": "n{i}", "number": "{cc}{national}"}}',
                "acquired_at": now - dt.timedelta(days=k % 1000), "expires_at": now + dt.timedelta(days=1 + k % 31),
                "location_id": loc.pk, "trunk_id": trunks[k % 3].pk if rng.random() < 0.7 else None,
                "content_hash": f"h{i}"}
            rows.append([row[c] for c in columns])
        with connection.cursor() as cur:
            cur.executemany(sql, rows)
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"load_s": round(load_s, 1), "rows_per_s": int(n / load_s)}


def bench_sqlite(n: int, runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from numbersadmin.inventory.models import PhoneNumber

    bench.log(f"sqlite: loading {n:,} numbers")
    loaded = load(n)
    bench.log(f"sqlite: loaded in {loaded['load_s']} s")
    ordered = PhoneNumber.objects.order_by("e164", "id")
    first_p1 = ordered.values_list("e164", flat=True)[0]
    first_us = ordered.filter(country="US", status="active").values_list("e164", flat=True)[0]
    user = get_user_model().objects.create_superuser("bench", "bench@example.com", secrets.token_urlsafe(16))
    client = Client()
    client.force_login(user)
    admin = "/django-admin/inventory/phonenumber/"
    views = [
        ("ours: page 1", "ours", "/numbers/", {}, "admin: page 1", first_p1),
        ("ours: country=US&status=active", "ours", "/numbers/?country=US&status=active", {},
         "admin: country=US, status=active", first_us),
        ("ours: dashboard", "ours", "/", {}, "admin: page 1 with facets", f"{n:,}"),
        ("admin: page 1", "admin", admin, {}, None, first_p1),
        ("admin: country=US, status=active", "admin", f"{admin}?country__exact=US&status__exact=active", {}, None,
         first_us),
        ("admin: page 1 with facets", "admin", f"{admin}?_facets=True", {}, None, first_p1),
    ]
    return {"numbers": n, "runs": runs, "load": loaded, "views": bench.time_views(client, views, runs)}


def markdown(result: dict) -> str:
    out = [f"## Embedded SQLite {result['sqlite']}: {result['numbers']:,} numbers, median of {result['runs']} warm runs",
           "", "Same SQLite file (WAL) for both sides, then ANALYZE.", ""] + bench.view_rows(result["views"])
    return "\n".join(out + [""])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", default=str(bench.ROOT / "test-artifacts" / "bench-sqlite.json"))
    args = parser.parse_args(argv)
    if args.numbers < 2 * bench.PER_PAGE or args.runs < 1:
        parser.error(f"need --numbers >= {2 * bench.PER_PAGE} and --runs >= 1")
    with tempfile.TemporaryDirectory(prefix="na-perf-sqlite-") as var_dir:
        bench.setup_django(f"sqlite:///{Path(var_dir) / 'bench.sqlite3'}", var_dir)
        import sqlite3

        result = bench_sqlite(args.numbers, args.runs) | {"sqlite": sqlite3.sqlite_version,
                                                          "python": platform.python_version()}
        from django.db import connection

        connection.close()
    bench.write_report(result, args.json, markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

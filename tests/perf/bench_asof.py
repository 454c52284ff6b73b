"""Benchmark: the numbers list "as of" a past moment against the live list, same rows, same
database (issue 16: an as-of page costs at most 3x the live page at 1,000,000 numbers with
10,000,000 history rows).

Needs PostgreSQL: INTEGRATION_DATABASE_URL (a role that may CREATE DATABASE); a throwaway
database is created and dropped.

    INTEGRATION_DATABASE_URL=postgres://app:app@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/perf/bench_asof.py --numbers 1000000 --history 10000000

History rows are spread over the last 365 days; each changes one of the fields people filter and
sort on (description, trunk, owner, status, monthly cost, provider status). Full pages, medians of
interleaved runs; the report is as-of / live (lower is better; the goal is <= 3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import ROOT, log, throwaway_django  # noqa: E402

INSERT_HISTORY = """
INSERT INTO inventory_numberchange (number_id, kind, field, old_value, new_value, at)
SELECT n_id, 'changed', f,
       CASE f WHEN 'description' THEN 'before ' || g WHEN 'status' THEN (ARRAY['active','suspended','pending'])[1 + g %% 3]
              WHEN 'raw_status' THEN 'raw ' || (g %% 7) WHEN 'monthly_cost' THEN ((g %% 500) / 100.0)::text
              WHEN 'trunk_id' THEN %(trunk)s::text ELSE '' END,
       '', now() - (random() * interval '365 days')
FROM (SELECT g, %(lo)s + (random() * (%(hi)s - %(lo)s))::bigint AS n_id,
             (ARRAY['description','trunk_id','owner_id','status','monthly_cost','raw_status'])[1 + (g %% 6)] AS f
      FROM generate_series(1, %(rows)s) g) s
"""


def seed_history(rows: int) -> dict:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT min(id), max(id) FROM inventory_phonenumber")
        lo, hi = cur.fetchone()
        cur.execute("SELECT min(id) FROM inventory_trunk")
        trunk = cur.fetchone()[0]
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'inventory_numberchange' "
                    "AND indexname NOT LIKE '%%pkey'")
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("SET maintenance_work_mem = '256MB'")
        cur.execute("SELECT setseed(0.16)")
        for start in range(0, rows, 1_000_000):
            cur.execute(INSERT_HISTORY, {"lo": lo, "hi": hi, "rows": min(1_000_000, rows - start), "trunk": trunk})
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("VACUUM (ANALYZE) inventory_numberchange")
    return {"history_rows": rows, "load_s": round(time.perf_counter() - t0, 1)}


def bench(n: int, history: int, runs: int, seeded: bool = False) -> dict:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench_export import seed

    if seeded:  # --reuse: a database an earlier --keep run loaded
        load, hist = {"reused": True}, {"history_rows": history, "reused": True}
    else:
        log(f"loading {n:,} numbers")
        load = seed(n, removed=False)
        log(f"numbers loaded in {load['load_s']} s; loading {history:,} history rows")
        hist = seed_history(history)
        log(f"history loaded in {hist['load_s']} s")
    user = get_user_model().objects.filter(username="bench").first() or \
        get_user_model().objects.create_superuser("bench", "bench@example.com", "x-bench-password-0")
    client = Client()
    client.force_login(user)
    now = timezone.now()
    recent = (now - dt.timedelta(days=30)).isoformat()
    middle = (now - dt.timedelta(days=180)).isoformat()
    pairs = [  # (name, live query, as-of query)
        ("page 1 (number order), as of 30 days ago", {}, {"as_of": recent}),
        ("page 1 (number order), as of 180 days ago", {}, {"as_of": middle}),
        ("sorted by status, as of 30 days ago", {"sort": "status"}, {"sort": "status", "as_of": recent}),
        ("sorted by trunk, as of 180 days ago", {"sort": "trunk"}, {"sort": "trunk", "as_of": middle}),
        ("country=US&status=active, as of 30 days ago", {"country": "US", "status": "active"},
         {"country": "US", "status": "active", "as_of": recent}),
        ("search 'hotline', as of 30 days ago", {"q": "hotline"}, {"q": "hotline", "as_of": recent}),
    ]

    def get(params):
        response = client.get("/numbers/", params)
        if response.status_code != 200 or b"Ignored filter" in response.content:
            raise RuntimeError(f"/numbers/ {params} -> {response.status_code}")
        return response

    for _, live, past in pairs:  # warm-up
        get(live), get(past)
    times: dict[str, list[float]] = {}
    for _ in range(runs):
        for name, live, past in pairs:
            for side, params in (("live", live), ("as_of", past)):
                t = time.perf_counter()
                get(params)
                times.setdefault(f"{name}|{side}", []).append((time.perf_counter() - t) * 1000)
    rows = []
    for name, live, past in pairs:
        with CaptureQueriesContext(connection) as ctx:
            get(past)
        live_ms = statistics.median(times[f"{name}|live"])
        past_ms = statistics.median(times[f"{name}|as_of"])
        rows.append({"view": name, "live_ms": round(live_ms, 1), "as_of_ms": round(past_ms, 1),
                     "as_of_over_live": round(past_ms / live_ms, 2), "as_of_queries": len(ctx.captured_queries)})
    return {"numbers": n, "history": hist, "load": load, "runs": runs, "views": rows}


def markdown(report: dict) -> str:
    lines = [f"As-of vs live numbers list, {report['numbers']:,} numbers, {report['history']['history_rows']:,} "
             f"history rows, PostgreSQL, full pages, medians of {report['runs']} interleaved runs", "",
             "| view | live ms | as-of ms | as-of / live |", "|---|---|---|---|"]
    for r in report["views"]:
        lines.append(f"| {r['view']} | {r['live_ms']} | {r['as_of_ms']} | {r['as_of_over_live']}× |")
    return "\n".join(lines)


def main(argv=None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", default=str(ROOT / "test-artifacts" / "bench-asof.json"))
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATION_DATABASE_URL", ""))
    parser.add_argument("--keep", metavar="NAME", help="load into database NAME and keep it (for --reuse)")
    parser.add_argument("--reuse", metavar="NAME", help="time against database NAME loaded by --keep")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set INTEGRATION_DATABASE_URL (or --database-url) to a PostgreSQL server")
    if args.keep or args.reuse:
        import tempfile
        from urllib.parse import urlsplit, urlunsplit

        import psycopg

        from bench import setup_django

        name = args.keep or args.reuse
        if args.keep:
            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        setup_django(urlunsplit(urlsplit(args.database_url)._replace(path="/" + name)), tempfile.mkdtemp(),
                     migrate=bool(args.keep))
        report = bench(args.numbers, args.history, args.runs, seeded=bool(args.reuse))
    else:
        with throwaway_django(args.database_url):
            report = bench(args.numbers, args.history, args.runs)
    text = markdown(report)
    print(text)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Opt-in benchmark (issue 18): five providers synced in parallel by a real Celery worker, against
the parallel fetch-only lower bound, one page at a time and with bounded-concurrency paging.

    .venv/bin/python tests/perf/bench_fleet.py [--numbers 20000] [--concurrency 1,4] [--latency 0.02]

Needs PostgreSQL (INTEGRATION_DATABASE_URL or --database-url: a role that may CREATE DATABASE; a
throwaway database is created, migrated and dropped) and Redis (--redis-url, default db 7, flushed
before and after). Output: a Markdown table on stdout (progress on stderr) and JSON in
test-artifacts/bench_fleet.json. Nothing asserts on time.

Set-up: one simulator per provider (Voximplant, DIDWW, Webex, Apifonica, Plivo), each in its own
process on loopback, seeded with ``--numbers`` numbers, answering every request after
``--latency`` seconds (a provider's round trip; 0 leaves only loopback and CPU). For every
``--concurrency`` value (the accounts' ``fetch_concurrency``; Apifonica and Webex page by cursor
and are always one page at a time):

* (a) fetch-only lower bound: the five adapters' ``fetch_inventory`` at once, each in its own
  process (like the worker's prefork children); wall time = the slowest of the five.
* (b) sync: five fresh accounts (initial sync, every number new), "Sync now" on all five, run by a
  real ``celery worker`` (prefork, ``--worker-concurrency`` children, default 5) against the same
  Redis and PostgreSQL; wall time from the dispatch until all five SyncRuns have finished.
  Per run: queue wait, fetch (until the run reported the ``applying`` stage, polled every
  0.1 s) and apply.

Reported: (b)/(a) per concurrency value (the issue's goal: within 1.25x).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, create_database, drop_database, log, write_report  # noqa: E402

PROVIDERS = ("voximplant", "didww", "webex", "apifonica", "plivo")
COUNTED = {"voximplant", "didww", "plivo"}  # the listings that state their size (fetch_concurrency applies)


# -- simulators, one process each ------------------------------------------------------------------
def _serve(slug: str, numbers: int, seed: int, latency: float, conn) -> None:
    sys.path.insert(0, str(ROOT))
    import threading

    from providers.simulators.registry import simulator

    sim = simulator(slug, numbers=numbers, seed=seed)
    sim.latency = latency
    sim.start()
    conn.send(sim.base_url)
    threading.Event().wait()


def start_simulators(numbers: int, latency: float) -> tuple[dict[str, str], list]:
    ctx = mp.get_context("spawn")
    procs, pipes = [], {}
    for i, slug in enumerate(PROVIDERS):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(slug, numbers, 100 + i, latency, child), daemon=True)
        proc.start()
        procs.append(proc)
        pipes[slug] = parent
    urls = {slug: pipe.recv() for slug, pipe in pipes.items()}  # blocks until each is seeded
    return urls, procs


def config_for(slug: str, concurrency: int) -> dict:
    return {"fetch_concurrency": concurrency} if slug in COUNTED else {}


# -- (a) fetch-only lower bound ------------------------------------------------------------------
def _fetch(slug: str, base_url: str, config: dict, start, out) -> None:
    sys.path.insert(0, str(ROOT))
    from providers import registry
    from providers.simulators.registry import demo_secrets

    client = registry.get(slug).client(base_url=base_url, secrets=demo_secrets(slug), config=config)
    start.wait()
    t0 = time.perf_counter()
    try:
        inventory = client.fetch_inventory()
    finally:
        client.close()
    out.put((slug, time.perf_counter() - t0, len(inventory.numbers), inventory.pages_fetched))


def fetch_bound(urls: dict[str, str], concurrency: int) -> dict:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_fetch, args=(slug, url, config_for(slug, concurrency), start, out))
             for slug, url in urls.items()]
    for proc in procs:
        proc.start()
    time.sleep(3)  # every child imported and built its client before the start signal
    t0 = time.perf_counter()
    start.set()
    results = [out.get(timeout=1800) for _ in procs]
    wall = time.perf_counter() - t0
    for proc in procs:
        proc.join()
    per = {slug: {"s": round(s, 2), "numbers": n, "pages": pages} for slug, s, n, pages in results}
    return {"wall_s": round(wall, 2), "max_s": round(max(r["s"] for r in per.values()), 2), "providers": per}


# -- (b) syncs through a real worker -----------------------------------------------------------------
def django_env(db_url: str, redis_url: str, var_dir: str) -> dict:
    from cryptography.fernet import Fernet

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "numbersadmin.settings",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "TASK_RUNNER": "celery",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PROVIDER_ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_MANIFEST": "0",
        "NUMBERSADMIN_VAR_DIR": var_dir,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    return env


class Worker:
    def __init__(self, env: dict, concurrency: int, log_path: Path):
        self.log_path = log_path
        self.fh = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "numbersadmin", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--pool=prefork", "-n", f"bench-fleet-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if "ready" in log_path.read_text():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.fh.close()


def fleet_sync(urls: dict[str, str], concurrency: int, label: str) -> dict:
    from django.utils import timezone

    from numbersadmin.inventory.choices import SyncState
    from numbersadmin.inventory.models import SyncRun
    from numbersadmin.inventory.runner import sync_now
    from numbersadmin.inventory.services.accounts import account_create
    from providers.simulators.registry import demo_secrets

    accounts = [account_create(provider=slug, name=f"{slug} {label}", base_url=url, secrets=demo_secrets(slug),
                               config=config_for(slug, concurrency))
                for slug, url in urls.items()]
    dispatched = timezone.now()
    t0 = time.perf_counter()
    runs = [sync_now(account)[0].pk for account in accounts]
    applying_at: dict[int, float] = {}
    finished = {SyncState.SUCCEEDED, SyncState.FAILED, SyncState.NEEDS_REVIEW, SyncState.RETRY_SCHEDULED}
    while True:
        rows = list(SyncRun.objects.filter(pk__in=runs).values("pk", "state", "stage"))
        now = time.perf_counter() - t0
        for row in rows:
            if row["stage"] == "applying" and row["pk"] not in applying_at:
                applying_at[row["pk"]] = now
        if all(row["state"] in finished for row in rows):
            break
        if now > 3600:
            raise RuntimeError("syncs did not finish within an hour")
        time.sleep(0.1)
    per = {}
    for run in SyncRun.objects.filter(pk__in=runs).select_related("account"):
        if run.state != SyncState.SUCCEEDED:
            raise RuntimeError(f"{run.account.provider} sync ended {run.state}: {run.error_class} {run.error_message}")
        queued = (run.started_at - dispatched).total_seconds()
        done = (run.finished_at - dispatched).total_seconds()
        fetched = applying_at.get(run.pk)
        per[run.account.provider] = {
            "queue_s": round(queued, 2), "done_s": round(done, 2), "numbers": run.items_fetched, "added": run.added,
            "fetch_s": round(fetched - queued, 2) if fetched is not None else None,
            "apply_s": round(done - fetched, 2) if fetched is not None else None,
        }
    wall = max((r.finished_at for r in SyncRun.objects.filter(pk__in=runs))) - dispatched
    return {"wall_s": round(wall.total_seconds(), 2), "providers": per}


# -- report ---------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    m = report["meta"]
    out = [
        f"# Five providers in parallel: sync vs fetch-only ({m['started_at']})",
        "",
        f"{m['numbers']:,} numbers per provider, simulator latency {m['latency'] * 1000:.0f} ms per response, "
        f"celery worker prefork x{m['worker_concurrency']}, PostgreSQL {m['postgres']}, Python {m['python']}, "
        f"{m['cpus']} CPUs (shared). Total {m['elapsed_s']:.0f} s.",
        "",
        "| fetch_concurrency | (a) fetch-only, parallel: slowest s | (b) sync through the worker s | (b)/(a) |",
        "|---|---|---|---|",
    ]
    for row in report["runs"]:
        out.append(f"| {row['concurrency']} | {row['fetch']['max_s']:.2f} | {row['sync']['wall_s']:.2f} "
                   f"| {row['ratio']}x |")
    for row in report["runs"]:
        out += ["", f"### fetch_concurrency {row['concurrency']}", "",
                "| provider | fetch-only s (pages) | sync: queue s | fetch s | apply s | done at s |",
                "|---|---|---|---|---|---|"]
        for slug in PROVIDERS:
            f, s = row["fetch"]["providers"][slug], row["sync"]["providers"][slug]
            out.append(f"| {slug} | {f['s']:.2f} ({f['pages']}) | {s['queue_s']:.2f} | {s['fetch_s']} | {s['apply_s']} "
                       f"| {s['done_s']:.2f} |")
    out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=20_000, help="numbers per provider simulator")
    parser.add_argument("--concurrency", default="1,4", help="fetch_concurrency values to compare (comma list)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds each simulator response is delayed")
    parser.add_argument("--worker-concurrency", type=int, default=5, help="celery worker prefork children")
    parser.add_argument("--json", default=str(ROOT / "test-artifacts" / "bench_fleet.json"), help="where to write JSON")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATION_DATABASE_URL", ""),
                        help="PostgreSQL URL of a role that may CREATE DATABASE (default: $INTEGRATION_DATABASE_URL)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="Redis db for the broker (flushed)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set INTEGRATION_DATABASE_URL (or --database-url) to a PostgreSQL server")
    try:
        levels = [int(v) for v in args.concurrency.split(",") if v.strip()]
    except ValueError:
        parser.error("--concurrency takes whole numbers, e.g. 1,4")
    if args.numbers < 1 or not levels or min(levels) < 1:
        parser.error("need --numbers >= 1 and --concurrency values >= 1")

    import redis

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    log(f"seeding five simulators with {args.numbers:,} numbers each")
    urls, sims = start_simulators(args.numbers, args.latency)
    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    name, db_url = create_database(args.database_url)
    worker = None
    try:
        with tempfile.TemporaryDirectory(prefix="na-fleet-") as var_dir:
            env = django_env(db_url, args.redis_url, var_dir)
            os.environ.update(env)
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
            sys.path.insert(0, str(ROOT))
            import django

            django.setup()
            from django.db import connection

            with connection.cursor() as cur:
                cur.execute("SHOW server_version")
                pg_version = cur.fetchone()[0]
            worker = Worker(env, args.worker_concurrency, Path(var_dir) / "worker.log")
            runs = []
            for level in levels:
                log(f"fetch_concurrency {level}: (a) fetch-only, five in parallel")
                fetch = fetch_bound(urls, level)
                log(f"  (a) slowest {fetch['max_s']:.2f} s: {fetch['providers']}")
                log(f"fetch_concurrency {level}: (b) five syncs through the worker")
                result = fleet_sync(urls, level, f"c{level}")
                log(f"  (b) {result['wall_s']:.2f} s: {result['providers']}")
                runs.append({"concurrency": level, "fetch": fetch, "sync": result,
                             "ratio": round(result["wall_s"] / fetch["max_s"], 2)})
            connection.close()
    finally:
        if worker is not None:
            worker.stop()
        drop_database(args.database_url, name)
        broker.flushdb()
        for proc in sims:
            proc.terminate()
    report = {
        "meta": {"started_at": started_at, "numbers": args.numbers, "latency": args.latency,
                 "worker_concurrency": args.worker_concurrency, "postgres": pg_version,
                 "python": platform.python_version(), "cpus": os.cpu_count(),
                 "elapsed_s": round(time.perf_counter() - started, 1)},
        "runs": runs,
    }
    write_report(report, args.json, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

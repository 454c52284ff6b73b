#!/usr/bin/env python
"""Web under load during a sync: latency of ``/numbers/`` (with filters, through gunicorn) while
the Celery worker applies a big DIDWW sync, beside the same load when nothing syncs.

Standalone (not collected by pytest)::

    .venv/bin/python tests/faults/load_during_sync.py                    # 50,000 numbers
    .venv/bin/python tests/faults/load_during_sync.py --numbers 2000 --requests-per-client 5   # smoke

What it starts, each in its own process group (all killed in ``finally``):

* a fresh PostgreSQL database ``na_load_<hex>`` on INTEGRATION_DATABASE_URL (dropped WITH (FORCE)
  at the end) and Redis db INTEGRATION_REDIS_URL (default db 13, flushed at start and end);
* ``manage.py simulate didww`` with N DIDs (seed 1), an account ``load`` pointing at it, a user;
* ``gunicorn numbersadmin.wsgi:application`` (2 gthread workers x 4 threads) and
  ``celery worker --concurrency=1``;
* the load itself: a separate process (this file with ``--load-worker``) running C client
  threads with httpx; every client logs in through /login/ (CSRF form), warms up (each URL once,
  untimed), then on "GO" requests a fixed count of ``/numbers/`` URLs rotating through LOAD_URLS.

Sequence: sync #1 (seed 1, so there is data) -> VACUUM ANALYZE -> restart the simulator with
``--seed 2`` (every DID, group and trunk is new: sync #2 inserts N numbers and marks the N old
ones "missing", plus history rows; ``--mutation none`` keeps seed 1 = an unchanged re-sync) ->
phase A "idle" (load, nothing syncing) -> phase B: queue sync #2, poll ``inventory_syncrun.stage``
until 'applying', then send "GO" to the already logged-in load process. The apply window is
[first poll that saw 'applying', the run's finished_at]; requests whose [start, end] intersect
it are the "overlapping" subset.

Output: a Markdown table (requests, responses >= 500, other non-200, transport errors, median /
p95 / p99 ms, p95 ratio to idle) on stdout, JSON to --json, process logs under --log-dir.
Exit code 1 when any response is >= 500 or a request failed at the transport level (e.g. a
gunicorn worker killed by its timeout), 2 when the rig itself failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
PG = os.environ.get("INTEGRATION_DATABASE_URL") or "postgres://app:app@127.0.0.1:5432/app"
REDIS = os.environ.get("INTEGRATION_REDIS_URL") or "redis://127.0.0.1:6379/13"
ACCOUNT = "load"
USERNAME = "loaduser"

# Filters / sorts checked against NumberFilterSet and selectors.NUMBER_SORTS; every one must render
# without a "msg-warning" notice (the warm-up checks it).
LOAD_URLS = (
    "/numbers/?country=US",
    "/numbers/?status=active&sort=-last_changed",
    "/numbers/?q=415",
    "/numbers/?provider=didww&kind=local",
    "/numbers/?page=last",
    "/numbers/?country=GB&kind=mobile&per_page=100",
    "/numbers/?q=Support",
    "/numbers/?sort=-first_seen&per_page=100",
    "/numbers/?missing=yes",
    "/numbers/?country=DE&status=active&sort=city",
)


# -- the load process -------------------------------------------------------------------------------
def load_worker(config_path: str) -> int:
    """Runs in its own process. stdout protocol: "READY" after login + warm-up, then waits for
    "GO" on stdin, runs, writes results to config["out"], prints "DONE"."""
    import httpx

    cfg = json.loads(Path(config_path).read_text())
    base, clients, count, urls = cfg["base_url"], cfg["clients"], cfg["requests_per_client"], cfg["urls"]
    sessions: list[httpx.Client] = []
    warmup: list[dict] = []
    notices: dict[str, str] = {}

    def login(i: int) -> httpx.Client:
        # keepalive_expiry below gunicorn's --keep-alive (2 s): a connection that sat idle (warm-up ->
        # GO, which in phase B waits for the sync's fetch) is not reused after the server closed
        # it, which httpx would report as "Server disconnected without sending a response".
        c = httpx.Client(base_url=base, follow_redirects=False, timeout=cfg.get("timeout", 120),
                         limits=httpx.Limits(keepalive_expiry=1.0))
        r = c.get("/login/")
        r.raise_for_status()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.text).group(1)
        r = c.post("/login/", data={"username": cfg["username"], "password": cfg["password"],
                                    "csrfmiddlewaretoken": token, "next": "/numbers/"},
                   headers={"Referer": base + "/login/"})
        if r.status_code != 302 or "sessionid" not in c.cookies:
            raise RuntimeError(f"client {i}: login failed ({r.status_code}): {r.text[:300]}")
        return c

    errors: list[str] = []

    def prepare(i: int) -> None:
        try:
            c = login(i)
            sessions[i] = c
            for k in range(len(urls)):
                url = urls[(i + k) % len(urls)]
                t0 = time.perf_counter()
                try:
                    r = c.get(url)
                    warmup.append({"url": url, "status": r.status_code, "ms": (time.perf_counter() - t0) * 1000})
                    m = re.search(r'class="msg msg-warning">([^<]*)<', r.text)
                    if m:
                        notices[url] = m.group(1)
                except httpx.HTTPError as exc:
                    warmup.append({"url": url, "status": None, "error": repr(exc)})
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            errors.append(f"client {i}: {exc!r}")

    sessions.extend([None] * clients)  # type: ignore[list-item]
    threads = [threading.Thread(target=prepare, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("ERROR " + "; ".join(errors), flush=True)
        return 2
    print("READY", flush=True)
    if sys.stdin.readline().strip() != "GO":
        return 2

    results: list[dict] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def run(i: int) -> None:
        c = sessions[i]
        mine = []
        barrier.wait()
        for k in range(count):
            url = urls[(i + k) % len(urls)]
            start_wall, t0 = time.time(), time.perf_counter()
            status, error, size = None, None, 0
            try:
                r = c.get(url)
                status, size = r.status_code, len(r.content)
            except httpx.HTTPError as exc:
                error = repr(exc)
            ms = (time.perf_counter() - t0) * 1000
            mine.append({"client": i, "url": url, "start": start_wall, "end": start_wall + ms / 1000, "ms": ms,
                         "status": status, "error": error, "bytes": size})
        with lock:
            results.extend(mine)

    go = time.time()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = time.time()
    for c in sessions:
        c.close()
    Path(cfg["out"]).write_text(json.dumps({"go": go, "done": done, "requests": results, "warmup": warmup,
                                            "notices": notices}))
    print("DONE", flush=True)
    return 0


# -- the rig ----------------------------------------------------------------------------------------
class Rig:
    def __init__(self, args) -> None:
        self.args = args
        self.procs: dict[str, subprocess.Popen] = {}
        self.files: list = []
        self.db_name = f"na_load_{secrets.token_hex(4)}"
        self.db_created = False
        self.log_dir = Path(args.log_dir).resolve()
        self.tmp = Path(tempfile.mkdtemp(prefix="na_load_"))
        self.steps: dict[str, float] = {}
        self.api_key = "load-didww-key-" + secrets.token_hex(6)
        self.password = secrets.token_urlsafe(16)
        self.sim_port = free_port()
        self.web_port = free_port()
        self.env: dict[str, str] = {}
        self.db_hiccups: list[str] = []
        self.pg = PG
        self.pg_dir: Path | None = None

    # processes
    def spawn(self, name: str, argv: list[str], stdin=None, **kwargs) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "a")
        self.files.append(log)
        p = subprocess.Popen(argv, cwd=kwargs.pop("cwd", ROOT), env=kwargs.pop("env", self.env), stdout=log,
                             stderr=subprocess.STDOUT, stdin=stdin, start_new_session=True, **kwargs)
        self.procs[name] = p
        return p

    def stop(self, name: str, grace: float = 15, first: int = signal.SIGTERM) -> None:
        p = self.procs.pop(name, None)
        if p is None or p.poll() is not None:
            return
        for sig, wait in ((first, grace), (signal.SIGKILL, 5)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                return
            try:
                p.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def wait_log(self, name: str, pattern: str, timeout: float) -> re.Match:
        path = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, path.read_text(errors="replace"))
            if m:
                return m
            if self.procs[name].poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{name}: {pattern!r} not seen within {timeout:.0f} s; log tail:\n"
                           + path.read_text(errors="replace")[-3000:])

    def manage(self, *argv: str, timeout: float = 900) -> str:
        r = subprocess.run([PY, "manage.py", *argv], cwd=ROOT, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        with open(self.log_dir / "manage.log", "a") as fh:
            fh.write(f"$ manage.py {' '.join(argv)}\n{r.stdout}{r.stderr}\n")
        if r.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(argv[:2])} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def step(self, name: str, t0: float) -> None:
        self.steps[name] = round(time.monotonic() - t0, 2)
        print(f"  [{time.strftime('%H:%M:%S')}] {name}: {self.steps[name]:.1f} s", flush=True)

    # setup
    def setup(self) -> None:
        import psycopg
        import redis
        from cryptography.fernet import Fernet

        if self.log_dir.exists():
            shutil.rmtree(self.log_dir)
        self.log_dir.mkdir(parents=True)
        t0 = time.monotonic()
        if self.args.private_postgres:
            self.start_private_postgres()
            self.step("initdb + start private PostgreSQL", t0)
            t0 = time.monotonic()
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_created = True
        self.db_url = urlunsplit(urlsplit(self.pg)._replace(path="/" + self.db_name))
        redis.Redis.from_url(REDIS).flushdb()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
            "DATABASE_URL": self.db_url,
            "REDIS_URL": REDIS,
            "DJANGO_SETTINGS_MODULE": "numbersadmin.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PROVIDER_ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_MANIFEST": "0",
            "NUMBERSADMIN_VAR_DIR": str(self.tmp / "var"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        }
        self.manage("migrate", "-v0")
        self.step("create database + migrate", t0)

        t0 = time.monotonic()
        self.start_simulator(seed=1)
        self.step(f"start simulator ({self.args.numbers} DIDs, seed 1)", t0)
        self.manage("add_account", "didww", ACCOUNT, "--base-url", self.sim_url, "--secret", f"api_key={self.api_key}")
        self.manage("shell", "-c", "from django.contrib.auth import get_user_model; "
                    f"get_user_model().objects.create_user({USERNAME!r}, password={self.password!r})")

        t0 = time.monotonic()
        self.spawn("gunicorn", [PY, "-m", "gunicorn", "numbersadmin.wsgi:application", "-b", f"127.0.0.1:{self.web_port}",
                                "--workers", "2", "--threads", "4", "--worker-class", "gthread",
                                "--access-logfile", "-", "--error-logfile", "-",
                                "--access-logformat", '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'])
        self.spawn("celery", [PY, "-m", "celery", "-A", "numbersadmin", "worker", "--loglevel=INFO",
                              "--concurrency=1", "-n", f"load-{secrets.token_hex(3)}@%h"])
        self.wait_log("celery", r"\bready\.", 120)
        self.wait_http(f"http://127.0.0.1:{self.web_port}/login/", 60)
        self.step("start gunicorn + celery worker", t0)

    def start_private_postgres(self) -> None:
        """initdb + ``postgres`` on a free port (initdb defaults, as the shared 15/main cluster has):
        on a shared machine other suites restart the shared cluster (pg_ctlcluster restart)."""
        import grp
        import pwd

        bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
                      if shutil.which("pg_config") else "")
        if not (bindir / "initdb").exists():
            found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
            if not found:
                raise RuntimeError("--private-postgres: initdb not found")
            bindir = found[-1].parent
        self.pg_dir = Path(tempfile.mkdtemp(prefix="na_load_pg_"))
        as_user = {}
        if os.geteuid() == 0:  # initdb refuses root
            pw = pwd.getpwnam("postgres")
            os.chown(self.pg_dir, pw.pw_uid, pw.pw_gid)
            as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [g.gr_gid for g in grp.getgrall()
                                                                               if "postgres" in g.gr_mem]}
        port = free_port()
        pg_env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PGPASSWORD": ""}
        r = subprocess.run([str(bindir / "initdb"), "-D", str(self.pg_dir / "data"), "-U", "app", "-A", "trust",
                            "-E", "UTF8", "--no-sync"], cwd=self.pg_dir, env=pg_env, capture_output=True, text=True,
                           timeout=120, **as_user)
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stdout}{r.stderr}")
        self.spawn("postgres", [str(bindir / "postgres"), "-D", str(self.pg_dir / "data"), "-p", str(port),
                                "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.pg_dir}"],
                   cwd=self.pg_dir, env=pg_env, **as_user)
        self.wait_log("postgres", r"database system is ready to accept connections", 60)
        self.pg = f"postgres://app@127.0.0.1:{port}/postgres"

    def start_simulator(self, seed: int) -> None:
        name = f"simulator-seed{seed}"
        self.spawn(name, [PY, "manage.py", "simulate", "didww", "--port", str(self.sim_port),
                          "--numbers", str(self.args.numbers), "--seed", str(seed), "--secret", f"api_key={self.api_key}"])
        self.sim_url = self.wait_log(name, r"simulator with \d+ numbers at (http://\S+)", 300).group(1)
        self.sim_name = name

    def wait_http(self, url: str, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{url} did not answer 200 within {timeout} s")

    def sql(self, query: str, fetch: bool = True):
        """One statement on the test database over a kept connection; reconnects (for up to a
        minute) when PostgreSQL dropped it, so a restart elsewhere does not end the rig."""
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                if getattr(self, "_conn", None) is None or self._conn.closed:
                    self._conn = psycopg.connect(self.db_url, autocommit=True, connect_timeout=5)
                cur = self._conn.execute(query)
                return cur.fetchall() if fetch else None
            except psycopg.OperationalError as exc:
                self.db_hiccups.append(f"{time.strftime('%H:%M:%S')} {exc!s}".strip()[:300])
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._conn = None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def pg_started(self) -> str:
        return str(self.sql("SELECT pg_postmaster_start_time()")[0][0])

    RUN_KEYS = ("id", "state", "stage", "started_at", "finished_at", "added", "changed", "removed", "unchanged",
                "missing", "pages_fetched", "items_fetched", "error_class", "error_message")

    def latest_run(self) -> dict | None:
        rows = self.sql(f"SELECT {', '.join(self.RUN_KEYS)} FROM inventory_syncrun ORDER BY id DESC LIMIT 1")
        return dict(zip(self.RUN_KEYS, rows[0])) if rows else None

    def queue_sync(self) -> tuple[int, dict[str, float]]:
        """Queue a sync of the account (manage.py sync --queue); returns (previous run id, stages seen)."""
        before = (self.latest_run() or {}).get("id", 0)
        self.manage("sync", ACCOUNT, "--queue")
        return before, {}

    def watch(self, before: int, seen: dict[str, float], stop_at_stage: str | None = None,
              timeout: float | None = None) -> dict:
        """Poll the new run every 50 ms, noting when each stage/state is first seen, until it
        reaches ``stop_at_stage`` (while running) or finishes."""
        deadline = time.monotonic() + (timeout or self.args.sync_timeout)
        run = None
        while time.monotonic() < deadline:
            run = self.latest_run()
            if run and run["id"] != before:
                key = run["stage"] if run["state"] == "running" and run["stage"] else run["state"]
                seen.setdefault(key, time.time())
                if stop_at_stage and run["state"] == "running" and run["stage"] == stop_at_stage:
                    return run
                if run["state"] not in ("queued", "running"):
                    if stop_at_stage:
                        raise RuntimeError(f"sync #{run['id']} ended ({run['state']}) before {stop_at_stage!r} was seen: {run}")
                    return run
            time.sleep(0.05)
        raise RuntimeError(f"sync not done within {timeout or self.args.sync_timeout} s: {run}")

    def sync_first(self) -> dict:
        before, seen = self.queue_sync()
        run = self.watch(before, seen)
        run["stages_seen"] = seen
        return run

    # load
    def start_load(self, phase: str) -> tuple[subprocess.Popen, Path]:
        out = self.tmp / f"load-{phase}.json"
        cfg = self.tmp / f"load-{phase}-config.json"
        cfg.write_text(json.dumps({
            "base_url": f"http://127.0.0.1:{self.web_port}", "clients": self.args.clients,
            "requests_per_client": self.args.requests_per_client, "urls": list(LOAD_URLS),
            "username": USERNAME, "password": self.password, "out": str(out),
        }))
        log = open(self.log_dir / f"load-{phase}.log", "w")
        self.files.append(log)
        p = subprocess.Popen([PY, str(Path(__file__).resolve()), "--load-worker", str(cfg)], cwd=ROOT, env=self.env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                             start_new_session=True)
        self.procs[f"load-{phase}"] = p
        line = p.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"load process ({phase}) did not get ready: {line!r}; see {log.name}")
        return p, out

    def finish_load(self, phase: str, p: subprocess.Popen, out: Path, timeout: float) -> dict:
        import select

        ready, _, _ = select.select([p.stdout], [], [], timeout)
        line = p.stdout.readline().strip() if ready else ""
        if line != "DONE":
            raise RuntimeError(f"load process ({phase}) did not finish within {timeout:.0f} s: {line!r}")
        p.wait(30)
        self.procs.pop(f"load-{phase}", None)
        return json.loads(out.read_text())

    def phase_idle(self) -> dict:
        t0 = time.monotonic()
        p, out = self.start_load("idle")
        p.stdin.write("GO\n")
        p.stdin.flush()
        data = self.finish_load("idle", p, out, self.args.load_timeout)
        self.step("phase A (idle) load", t0)
        return data

    def phase_during(self) -> tuple[dict, dict]:
        t0 = time.monotonic()
        p, out = self.start_load("during")  # logged in and warmed up before the sync starts
        self.step("phase B: load process logged in + warmed up", t0)
        t0 = time.monotonic()
        before, seen = self.queue_sync()
        run = self.watch(before, seen, stop_at_stage="applying")
        apply_seen = seen["applying"]
        self.step(f"phase B: sync #{run['id']} queued -> 'applying'", t0)
        p.stdin.write("GO\n")
        p.stdin.flush()
        t0 = time.monotonic()
        # Watch the run while the load runs, then until it finishes (whichever ends last).
        finished_seen, data = None, None
        deadline = time.monotonic() + self.args.sync_timeout
        while time.monotonic() < deadline:
            if finished_seen is None:
                run = self.latest_run()
                if run["state"] not in ("queued", "running"):
                    finished_seen = time.time()
                    seen.setdefault(run["state"], finished_seen)
            if data is None and _readable(p.stdout):
                data = self.finish_load("during", p, out, 60)
            if data is not None and finished_seen is not None:
                break
            time.sleep(0.05)
        if finished_seen is None:
            raise RuntimeError(f"sync #{run['id']} still {run['state']} after {self.args.sync_timeout} s")
        if data is None:
            data = self.finish_load("during", p, out, self.args.load_timeout)
        self.step("phase B: load + apply", t0)
        run["apply_seen"] = apply_seen
        run["finished_seen"] = finished_seen
        run["stages_seen"] = seen
        return data, run

    def cleanup(self) -> None:
        if getattr(self, "_conn", None) is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001
                pass
        for name in [n for n in self.procs if n != "postgres"][::-1]:
            try:
                self.stop(name)
            except Exception as exc:  # noqa: BLE001
                print(f"cleanup: stopping {name}: {exc!r}", file=sys.stderr)
        if self.db_created and "postgres" not in self.procs:  # a private cluster just goes away
            try:
                import psycopg

                with psycopg.connect(self.pg, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"cleanup: drop database {self.db_name}: {exc!r}", file=sys.stderr)
        if "postgres" in self.procs:
            self.stop("postgres", first=signal.SIGINT)  # fast shutdown
        for fh in self.files:
            try:
                fh.close()
            except Exception:  # noqa: BLE001
                pass
        try:
            import redis

            redis.Redis.from_url(REDIS).flushdb()
        except Exception as exc:  # noqa: BLE001
            print(f"cleanup: redis flush: {exc!r}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.pg_dir is not None and "postgres" not in self.procs:
            shutil.rmtree(self.pg_dir, ignore_errors=True)


def _readable(stream) -> bool:
    import select

    return bool(select.select([stream], [], [], 0)[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- statistics -------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def summarise(requests: list[dict]) -> dict:
    ms = [r["ms"] for r in requests if r["status"] is not None]
    span = (max(r["end"] for r in requests) - min(r["start"] for r in requests)) if requests else 0
    return {
        "requests": len(requests),
        "status_5xx": sum(1 for r in requests if r["status"] is not None and r["status"] >= 500),
        "other_non_200": sum(1 for r in requests if r["status"] is not None and r["status"] < 500 and r["status"] != 200),
        "transport_errors": sum(1 for r in requests if r["status"] is None),
        "median_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95), "p99_ms": percentile(ms, 0.99),
        "max_ms": max(ms) if ms else None, "span_s": round(span, 2),
        "req_per_s": round(len(requests) / span, 1) if span else None,
    }


def per_url(requests: list[dict]) -> dict:
    out = {}
    for url in LOAD_URLS:
        ms = [r["ms"] for r in requests if r["url"] == url and r["status"] is not None]
        out[url] = {"n": len(ms), "median_ms": percentile(ms, 0.5), "p95_ms": percentile(ms, 0.95)}
    return out


def failures(data: dict, phase: str, window: tuple[float, float] | None = None) -> list[dict]:
    """Every request that did not get a 200 (warm-up included), with times relative to GO."""
    out = []
    for r in data["warmup"]:
        if r.get("status") != 200:
            out.append({"phase": phase + " warm-up", **r})
    for r in data["requests"]:
        if r["status"] != 200:
            out.append({"phase": phase, "url": r["url"], "status": r["status"], "error": r["error"],
                        "ms": round(r["ms"]), "client": r["client"], "at_s": round(r["start"] - data["go"], 2),
                        "in_apply_window": bool(window and r["start"] < window[1] and r["end"] > window[0])})
    return out[:200]


def fmt(v) -> str:
    return "-" if v is None else f"{v:.0f}" if isinstance(v, float) else str(v)


def server_errors(log_dir: Path) -> dict:
    text = (log_dir / "gunicorn.log").read_text(errors="replace") if (log_dir / "gunicorn.log").exists() else ""
    five = [line for line in text.splitlines() if re.search(r'" 5\d\d \S+ \d+ms$', line)]
    tracebacks = re.findall(r"(?ms)^Traceback \(most recent call last\):.*?(?=^\S.*\d{4}-\d\d-\d\d|^\[\d{4}|\Z)", text)
    return {"access_5xx": five[:50], "tracebacks": [t[-4000:] for t in tracebacks[:10]],
            "worker_timeouts": [line for line in text.splitlines() if "WORKER TIMEOUT" in line][:20],
            "errors": [line for line in text.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b", line)][:50]}


def epoch(value) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests-per-client", type=int, default=40)
    parser.add_argument("--mutation", choices=("seed", "none"), default="seed",
                        help="seed: restart the simulator with --seed 2 before sync #2 (all numbers new, old ones "
                             "missing); none: re-sync unchanged data")
    parser.add_argument("--private-postgres", action="store_true",
                        help="run a throw-away PostgreSQL cluster (initdb, free port) instead of using "
                             "INTEGRATION_DATABASE_URL: for shared machines where other suites restart the cluster")
    parser.add_argument("--json", default="test-artifacts/load_during_sync.json")
    parser.add_argument("--log-dir", default="test-artifacts/load_during_sync_logs")
    parser.add_argument("--sync-timeout", type=float, default=1200)
    parser.add_argument("--load-timeout", type=float, default=1200)
    parser.add_argument("--load-worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_worker:
        return load_worker(args.load_worker)

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    rig = Rig(args)
    print(f"load_during_sync: {args.numbers} DIDs, {args.clients} clients x {args.requests_per_client} requests, "
          f"mutation={args.mutation}, database {rig.db_name}", flush=True)
    result: dict = {}
    try:
        rig.setup()
        t0 = time.monotonic()
        pg_started = rig.pg_started()
        first = rig.sync_first()
        rig.sql("VACUUM ANALYZE", fetch=False)
        live = rig.sql("SELECT count(*) FROM inventory_phonenumber WHERE removed_at IS NULL")[0][0]
        rig.step(f"sync #1 ({first['state']}, {live} live numbers) + VACUUM ANALYZE", t0)
        if first["state"] != "succeeded":
            raise RuntimeError(f"first sync did not succeed: {first}")

        if args.mutation == "seed":
            t0 = time.monotonic()
            rig.stop(rig.sim_name)
            rig.start_simulator(seed=2)
            rig.step("restart simulator with --seed 2", t0)

        idle = rig.phase_idle()
        during, run = rig.phase_during()
        total = time.monotonic() - started
        pg_now = rig.pg_started()

        window = (run["apply_seen"], epoch(run["finished_at"]) or run["finished_seen"])
        overlapping = [r for r in during["requests"] if r["start"] < window[1] and r["end"] > window[0]]
        inside = [r for r in during["requests"] if r["start"] >= window[0] and r["end"] <= window[1]]
        rows = {"idle": summarise(idle["requests"]), "during (all of phase B)": summarise(during["requests"]),
                "during (overlapping the apply)": summarise(overlapping)}
        base = rows["idle"]["p95_ms"]
        for row in rows.values():
            row["p95_ratio"] = round(row["p95_ms"] / base, 2) if base and row["p95_ms"] else None
        apply_s = window[1] - window[0]
        load_b = (during["go"], during["done"])
        warm = idle["warmup"] + during["warmup"]
        result = {
            "numbers": args.numbers, "clients": args.clients, "requests_per_client": args.requests_per_client,
            "mutation": args.mutation, "urls": list(LOAD_URLS), "phases": rows,
            "per_url": {"idle": per_url(idle["requests"]), "during": per_url(during["requests"]),
                        "overlapping": per_url(overlapping)},
            "sync1": {k: v for k, v in first.items() if k not in ("started_at", "finished_at", "stages_seen")}
            | {"seconds": round((first["finished_at"] - first["started_at"]).total_seconds(), 2)}
            | ({"fetch_seconds": round(first["stages_seen"]["applying"] - epoch(first["started_at"]), 2),
                "apply_seconds": round(epoch(first["finished_at"]) - first["stages_seen"]["applying"], 2)}
               if "applying" in first["stages_seen"] else {}),
            "sync2": {k: v for k, v in run.items() if k not in ("started_at", "finished_at", "stages_seen",
                                                                  "apply_seen", "finished_seen")}
            | {"fetch_seconds": round(window[0] - epoch(run["started_at"]), 2), "apply_seconds": round(apply_s, 2)},
            "overlap": {"apply_window_s": round(apply_s, 2), "load_window_s": round(load_b[1] - load_b[0], 2),
                        "load_started_after_applying_s": round(load_b[0] - window[0], 2),
                        "apply_ended_before_load_end_s": round(load_b[1] - window[1], 2),
                        "requests_overlapping": len(overlapping), "requests_inside": len(inside),
                        "requests_total": len(during["requests"])},
            "warmup": {"requests": len(warm), "status_5xx": sum(1 for w in warm if (w.get("status") or 0) >= 500),
                       "transport_errors": sum(1 for w in warm if w.get("status") is None),
                       "notices": {**idle["notices"], **during["notices"]}},
            "failures": failures(idle, "idle") + failures(during, "during", window),
            "steps_s": rig.steps, "wall_time_s": round(total, 1),
            "postgres": {"started_at_begin": pg_started, "started_at_end": pg_now, "restarted": pg_now != pg_started,
                         "connection_errors_seen_by_rig": rig.db_hiccups},
            "server_log": server_errors(rig.log_dir), "log_dir": str(rig.log_dir),
        }
        print_report(result)
    except BaseException as exc:
        print(f"\nFAILED: {exc!r}" if not isinstance(exc, RuntimeError) else f"\nFAILED: {exc}", file=sys.stderr)
        result = {"error": repr(exc), "steps_s": rig.steps, "log_dir": str(rig.log_dir),
                  "server_log": server_errors(rig.log_dir) if rig.log_dir.exists() else {}}
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return 2
    finally:
        t0 = time.monotonic()
        rig.cleanup()
        print(f"  cleanup: {time.monotonic() - t0:.1f} s; total {time.monotonic() - started:.1f} s", flush=True)
        if result:
            out = Path(args.json)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2, default=str))
            print(f"JSON: {out}", flush=True)
    if result["postgres"]["restarted"] or result["postgres"]["connection_errors_seen_by_rig"]:
        print("INVALID RUN: PostgreSQL was restarted (or dropped connections) during the run, by something "
              f"outside this script: {result['postgres']}", file=sys.stderr)
        return 2
    phases = result["phases"]
    bad = sum(phases[k]["status_5xx"] + phases[k]["transport_errors"] for k in ("idle", "during (all of phase B)"))
    bad += result["warmup"]["status_5xx"] + result["warmup"]["transport_errors"]
    return 1 if bad else 0


def print_report(res: dict) -> None:
    print()
    s2 = res["sync2"]
    print(f"### /numbers/ under load during a {res['numbers']:,}-number sync "
          f"({res['clients']} clients x {res['requests_per_client']} requests, gunicorn 2 gthread workers x 4 threads)")
    print()
    print("| phase | requests | responses >= 500 | other non-200 | transport errors | median ms | p95 ms | p99 ms "
          "| max ms | req/s | p95 / p95 idle |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in res["phases"].items():
        print(f"| {name} | {r['requests']} | {r['status_5xx']} | {r['other_non_200']} | {r['transport_errors']} "
              f"| {fmt(r['median_ms'])} | {fmt(r['p95_ms'])} | {fmt(r['p99_ms'])} | {fmt(r['max_ms'])} "
              f"| {fmt(r['req_per_s'])} | {r['p95_ratio'] if r['p95_ratio'] is not None else '-'} |")
    ov = res["overlap"]
    print()
    print(f"Sync #2 (mutation={res['mutation']}): {s2['state']}, fetch {s2['fetch_seconds']:.1f} s "
          f"({s2['pages_fetched']} pages), apply {s2['apply_seconds']:.1f} s: {s2['added']} added, {s2['changed']} changed, "
          f"{s2['unchanged']} unchanged, {s2['missing']} missing, {s2['removed']} removed.")
    print(f"Overlap: load ran {ov['load_window_s']:.1f} s starting {ov['load_started_after_applying_s']:.2f} s after "
          f"'applying' was seen; the apply ended {ov['apply_ended_before_load_end_s']:+.1f} s before the load's end "
          f"(negative = after); {ov['requests_overlapping']}/{ov['requests_total']} requests overlapped the apply "
          f"window, {ov['requests_inside']} entirely inside it.")
    s1 = res["sync1"]
    print(f"Sync #1: {s1['seconds']:.1f} s (fetch {s1.get('fetch_seconds', '?')} s, apply {s1.get('apply_seconds', '?')} s). "
          f"Warm-up: {res['warmup']['requests']} requests, "
          f"{res['warmup']['status_5xx']} >= 500, notices: {res['warmup']['notices'] or 'none'}.")
    log = res["server_log"]
    print(f"gunicorn log: {len(log['access_5xx'])} 5xx access lines, {len(log['tracebacks'])} tracebacks, "
          f"{len(log['worker_timeouts'])} worker timeouts.")
    for f in res["failures"][:20]:
        print(f"  non-200: {f}")
    for tb in log["tracebacks"][:3]:
        print(tb)
    print()
    print("| URL | idle p95 ms | during p95 ms | overlapping p95 ms |")
    print("|---|---:|---:|---:|")
    for url in LOAD_URLS:
        print(f"| `{url}` | {fmt(res['per_url']['idle'][url]['p95_ms'])} | {fmt(res['per_url']['during'][url]['p95_ms'])} "
              f"| {fmt(res['per_url']['overlapping'][url]['p95_ms'])} |")
    print()
    print("Steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res["steps_s"].items()))
    print(f"Wall time before cleanup: {res['wall_time_s']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())

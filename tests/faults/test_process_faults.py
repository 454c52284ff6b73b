"""Process-level faults against a REAL ``celery worker``/``celery beat``, REAL PostgreSQL and REAL
Redis: a worker SIGKILLed mid-fetch and mid-apply, PostgreSQL restarted mid-apply, queued tasks
lost with a Redis restart, and 50 "Sync now" clicks at once.

Liveness settings are shortened (lease 6 s, heartbeat 1 s, reaper every 2 s, queued runs stale
after 5 s) so recovery happens within seconds. Every scenario depends on the heartbeat and/or the
reaper: without them a killed run stays ``running`` forever, lost queued tasks are never handed
over again, and a live run outlasting its lease would be presumed dead.

Run state is read straight from PostgreSQL (psycopg, milliseconds) so faults can be injected at a
precise stage; actions go through ``manage.py`` and the real worker. A Markdown table of what
was measured is written to ``test-artifacts/process_faults.md`` at the end of the module.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.simulators.didww import DidwwSimulator
from tests.integration.conftest import ROOT, Proc, app_env, manage, services  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.integration, pytest.mark.faults]

KEY = "faults-didww-key-42"
LIVENESS = {
    "SYNC_LEASE_SECONDS": "6",
    "SYNC_HEARTBEAT_SECONDS": "1",
    "SYNC_REAP_EVERY": "2",
    "SYNC_DISPATCH_EVERY": "2",
    "SYNC_QUEUED_STALE_SECONDS": "5",
}
LEASE = int(LIVENESS["SYNC_LEASE_SECONDS"])
RECOVERY_BUDGET = 180.0  # seconds from the fault to a succeeded replacement run
REDIS_PORT = 6390  # scenario 4's private, non-persistent redis-server (never the shared one)
ARTIFACT = ROOT / "test-artifacts" / "process_faults.md"
TABLE: list[dict] = []
COLUMNS = ["scenario", "faults injected", "outcome", "numbers lost", "spurious removals", "duplicates",
           "stuck runs", "seconds to recovery", "notes"]


# -- the report ---------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def fault_table(request):
    yield TABLE
    lines = ["# Process-level faults (real celery worker + PostgreSQL + Redis)", "",
             "Liveness: " + ", ".join(f"{k}={v}" for k, v in LIVENESS.items()), "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in TABLE:
        lines.append("| " + " | ".join(str(row.get(c, "")) for c in COLUMNS) + " |")
    text = "\n".join(lines) + "\n"
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(text)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and TABLE:
        with capture.global_and_fixture_disabled() if capture is not None else _nothing():
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
            reporter.write_line(f"(written to {ARTIFACT})")


@contextlib.contextmanager
def _nothing():
    yield


@pytest.fixture
def row(request):
    """One table row per test; ``outcome`` stays FAILED unless the test reaches its end."""
    data = {"scenario": request.node.name.removeprefix("test_"), "outcome": "FAILED"}
    yield data
    TABLE.append(data)


# -- processes ----------------------------------------------------------------------------------
class Group(Proc):
    """A celery process in its own session: SIGKILL reaches the parent and its prefork children."""

    def __init__(self, env, *args, log: Path):
        self.log = log
        self.fh = open(log, "w")
        self.p = subprocess.Popen([sys.executable, "-m", "celery", "-A", "numbersadmin", *args], cwd=ROOT, env=env,
                                  stdout=self.fh, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(10)

    def stop(self) -> str:
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:  # leftovers of the group (prefork children), ours only
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.p.wait(10)
        self.fh.close()
        return self.log.read_text()


class Procs:
    """Workers/beats started by one test, all stopped at its end (even on failure)."""

    def __init__(self, tmp_path: Path):
        self.tmp, self.started, self.n = tmp_path, [], 0

    def worker(self, env, wait: bool = True) -> Group:
        self.n += 1
        proc = Group(env, "worker", "--loglevel=INFO", "--concurrency=2", "--pool=prefork",
                     "-n", f"faults{self.n}-{os.getpid()}@%h", log=self.tmp / f"worker{self.n}.log")
        self.started.append(proc)
        if wait:
            proc.wait_for("ready", timeout=90)
        return proc

    def beat(self, env) -> Group:
        self.n += 1
        proc = Group(env, "beat", "--loglevel=INFO", "-s", str(self.tmp / f"beat-schedule{self.n}"),
                     log=self.tmp / f"beat{self.n}.log")
        self.started.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text()[-2500:]}" for p in self.started)

    def stop_all(self) -> None:
        for proc in self.started:
            proc.stop()


def _flush_broker(services) -> None:
    """Beat ticks a test's worker never consumed would run in the next test's worker (a stale
    ``dispatch_due_syncs`` would queue that test's fresh account): each test starts clean."""
    import redis

    redis.Redis.from_url(services["REDIS_URL"]).flushdb()


@pytest.fixture
def procs(tmp_path, services):
    _flush_broker(services)
    group = Procs(tmp_path)
    yield group
    group.stop_all()
    _flush_broker(services)


@pytest.fixture(scope="module")
def env(app_env):
    return {**app_env, **LIVENESS}


# -- the database, read directly ------------------------------------------------------------------
class Db:
    """Autocommit psycopg connection that reconnects (PostgreSQL restarts in scenario 3)."""

    def __init__(self, url: str):
        self.url, self.conn = url, None

    def q(self, sql: str, *params) -> list[tuple]:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=3)
                return self.conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                self.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def run(self, pk: int) -> dict:
        cols = ["id", "state", "stage", "trigger", "error_class", "error_message", "pages_fetched", "items_fetched",
                "started", "finished", "heartbeat", "now"]
        values = self.q("SELECT id, state, stage, trigger, error_class, error_message, pages_fetched, items_fetched,"
                        " extract(epoch from started_at)::float8, extract(epoch from finished_at)::float8,"
                        " extract(epoch from heartbeat_at)::float8, extract(epoch from now())::float8"
                        " FROM inventory_syncrun WHERE id = %s", pk)[0]
        return dict(zip(cols, values))

    def runs(self, account_id: int) -> list[dict]:
        return [self.run(pk) for (pk,) in self.q("SELECT id FROM inventory_syncrun WHERE account_id = %s ORDER BY id",
                                                   account_id)]

    def account_id(self, name: str) -> int:
        return self.q("SELECT id FROM inventory_provideraccount WHERE name = %s", name)[0][0]

    def live_numbers(self, account_id: int) -> int:
        return self.q("SELECT count(*) FROM inventory_phonenumber WHERE account_id = %s", account_id)[0][0]

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None


@pytest.fixture(scope="module")
def db(services):
    conn = Db(services["DATABASE_URL"])
    yield conn
    conn.close()


def wait_until(predicate, timeout: float, every: float = 0.25, what: str = "condition", logs=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}" + (f"\n{logs()}" if logs else ""))


def inventory_check(db: Db, account_id: int, sim: DidwwSimulator) -> dict:
    """The account's PhoneNumber rows against the simulator's current listing."""
    rows = db.q("SELECT external_id, e164, removed_at IS NOT NULL FROM inventory_phonenumber WHERE account_id = %s",
                account_id)
    expected = {"+" + d["number"] for d in sim.dids}
    live = [e164 for _, e164, removed in rows if not removed]
    return {
        "rows": len(rows),
        "lost": len(expected - set(live)),
        "extra": len(set(live) - expected),
        "removed": sum(1 for *_, removed in rows if removed),
        "duplicates": (len(live) - len(set(live))) + (len(rows) - len({ext for ext, *_ in rows})),
    }


def assert_inventory_exact(db: Db, account_id: int, sim: DidwwSimulator, row: dict) -> dict:
    check = inventory_check(db, account_id, sim)
    row.update({"numbers lost": check["lost"], "spurious removals": check["removed"], "duplicates": check["duplicates"]})
    assert check == {"rows": len(sim.dids), "lost": 0, "extra": 0, "removed": 0, "duplicates": 0}, check
    return check


def stuck_runs(db: Db, account_id: int) -> int:
    return db.q("SELECT count(*) FROM inventory_syncrun WHERE account_id = %s AND state IN ('queued', 'running')",
                account_id)[0][0]


class ApplyGate:
    """Pins a run inside its apply transaction, so a fault lands there deterministically rather
    than racing a sub-second apply: a SHARE lock on the numbers table (reads pass, inserts wait),
    held in this connection's own transaction. By the time the apply's first write of numbers (COPY)
    waits on it, the same transaction has already locked the account row and upserted the
    account's locations, trunks and trunk groups: a half-done apply."""

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, connect_timeout=3)
        self.conn.execute("LOCK TABLE inventory_phonenumber IN SHARE MODE")

    def release(self) -> None:
        try:
            self.conn.rollback()
            self.conn.close()
        except Exception:  # PostgreSQL restarted under it
            pass


@pytest.fixture
def gate(services):
    gates = []

    def make() -> ApplyGate:
        gates.append(ApplyGate(services["DATABASE_URL"]))
        return gates[-1]

    yield make
    for g in gates:
        g.release()


def blocked_in_apply(db: Db) -> bool:
    """A backend of the worker waits on the gate with the apply's write of numbers (PostgreSQL:
    the COPY of new numbers; an INSERT elsewhere)."""
    return bool(db.q("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                     " AND (query LIKE 'INSERT INTO \"inventory_phonenumber\"%%'"
                     " OR query LIKE 'COPY inventory_phonenumber %%')"))


def partial_rows(db: Db, account_id: int) -> dict:
    return {table: db.q(f"SELECT count(*) FROM inventory_{table} WHERE account_id = %s", account_id)[0][0]
            for table in ("phonenumber", "location", "trunk", "trunkgroup", "numbergroup")}


def add_account(env, name: str, sim: DidwwSimulator, *config: str) -> None:
    args = [a for c in config for a in ("--config", c)]
    manage(env, "add_account", "didww", name, "--base-url", sim.base_url, "--secret", f"api_key={KEY}", *args)


def queue(env, name: str) -> int:
    out = manage(env, "sync", name, "--queue").stdout
    assert "queued" in out, out
    return int(out.split("run #")[1].split()[0])


@pytest.fixture
def sims():
    started = []

    def make(dids: int, seed: int, latency: float = 0.0) -> DidwwSimulator:
        sim = DidwwSimulator(api_key=KEY, dids=dids, trunks=4, trunk_groups=2, seed=seed)
        sim.latency = latency
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


def kill_worker_at(db: Db, run_id: int, worker: Group, ready, what: str, procs: Procs, timeout: float = 90) -> dict:
    """Poll the run every few ms; SIGKILL the worker's whole process group once ``ready(run)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = db.run(run_id)
        if ready(run):
            worker.kill()
            return run
        assert run["state"] in ("queued", "running"), f"run ended before the fault ({what}): {run}\n{procs.logs()}"
        time.sleep(0.005)
    raise AssertionError(f"run never reached {what}: {db.run(run_id)}\n{procs.logs()}")


def wait_for_recovery(db: Db, account_id: int, killed: int, fault_at: float, procs: Procs) -> tuple[dict, dict]:
    """The killed run ends failed/lost and a recovery run succeeds, within RECOVERY_BUDGET."""
    def done():
        runs = db.runs(account_id)
        ok = [r for r in runs if r["id"] > killed and r["state"] == "succeeded"]
        return (runs, ok[0]) if ok else None

    runs, recovery = wait_until(done, RECOVERY_BUDGET, every=0.5, what="a succeeded recovery run", logs=procs.logs)
    lost = next(r for r in runs if r["id"] == killed)
    return lost, recovery



def restart_and_recover(env, db, procs, account_id, run_id, fault_at, row) -> dict:
    """A fresh worker and beat after the kill: the killed run ends lost and a recovery run succeeds
    within RECOVERY_BUDGET seconds of the fault. Returns the recovery run."""
    procs.worker(env)
    procs.beat(env)
    lost, recovery = wait_for_recovery(db, account_id, run_id, fault_at, procs)
    seconds = recovery["finished"] - fault_at
    row["seconds to recovery"] = f"{seconds:.1f}"
    assert (lost["state"], lost["error_class"]) == ("failed", "lost"), lost
    assert recovery["trigger"] == "recovery", recovery
    assert seconds <= RECOVERY_BUDGET
    return recovery

# -- 1. worker SIGKILL during fetch ---------------------------------------------------------------
def test_worker_sigkill_during_fetch(env, db, procs, sims, row):
    """SIGKILL the worker (parent + prefork children) while the run pages through the provider.
    The reaper must mark it ``lost`` and start a ``recovery`` run that succeeds; the inventory
    ends exactly the provider's DIDs. The fetch is made longer than the lease, so the recovery run
    also needs its heartbeat to avoid being reaped while alive."""
    row["faults injected"] = 1
    sim = sims(600, seed=21, latency=0.2)  # 30+ pages of 20 at >= 0.2 s: ~8 s of fetching
    # One page at a time: the fetch must outlast the lease (concurrent pages would end it in ~2 s).
    add_account(env, "pf-fetch", sim, "page_size=20", "fetch_concurrency=1")
    account_id = db.account_id("pf-fetch")
    worker = procs.worker(env)
    run_id = queue(env, "pf-fetch")

    at_kill = kill_worker_at(db, run_id, worker, lambda r: r["state"] == "running" and r["pages_fetched"] >= 8
                             and r["heartbeat"] and r["heartbeat"] - r["started"] >= 1.5, "mid-fetch", procs)
    fault_at = time.time()
    assert at_kill["stage"] == "numbers", at_kill  # still listing DIDs: nothing to apply yet
    assert db.run(run_id)["state"] == "running"
    assert db.live_numbers(account_id) == 0  # nothing applied by the killed run

    recovery = restart_and_recover(env, db, procs, account_id, run_id, fault_at, row)
    # The recovery run outlived its 6 s lease while the reaper ran every 2 s: only the heartbeat
    # kept it from being presumed dead.
    assert recovery["finished"] - recovery["started"] > LEASE, recovery
    assert_inventory_exact(db, account_id, sim, row)
    runs = db.runs(account_id)
    assert [r["state"] for r in runs] == ["failed", "succeeded"], runs
    row["stuck runs"] = stuck_runs(db, account_id)
    assert row["stuck runs"] == 0
    row["outcome"] = f"killed run lost -> recovery run #{recovery['id']} succeeded"
    row["notes"] = (f"killed at page {at_kill['pages_fetched']}; recovery fetch "
                    f"{recovery['finished'] - recovery['started']:.1f} s > lease {LEASE} s")


# -- 2. worker SIGKILL during apply ---------------------------------------------------------------
def test_worker_sigkill_during_apply(env, db, procs, sims, gate, row):
    """SIGKILL the worker while the run is inside its apply transaction (locations and trunks
    written, numbers being inserted): nothing of that apply may be visible afterwards, and the
    recovery run applies everything exactly once."""
    row["faults injected"] = 1
    sim = sims(3000, seed=22)
    add_account(env, "pf-apply", sim, "page_size=100")
    account_id = db.account_id("pf-apply")
    worker = procs.worker(env)
    held = gate()
    run_id = queue(env, "pf-apply")

    at_kill = kill_worker_at(db, run_id, worker, lambda r: r["stage"] == "applying" and blocked_in_apply(db),
                             "the apply's write of numbers", procs)
    fault_at = time.time()
    held.release()  # the killed backend may now finish its statement; it then finds its client gone
    # 0 partial apply: the killed transaction rolled back as a whole (once its backend noticed).
    wait_until(lambda: not blocked_in_apply(db) and not db.q(
        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%%'"),
        10, what="the killed backend to go")
    assert partial_rows(db, account_id) == dict.fromkeys(("phonenumber", "location", "trunk", "trunkgroup",
                                                           "numbergroup"), 0)
    assert db.run(run_id)["state"] == "running"  # nobody finished it: only the reaper can

    recovery = restart_and_recover(env, db, procs, account_id, run_id, fault_at, row)
    assert_inventory_exact(db, account_id, sim, row)
    runs = db.runs(account_id)
    assert [r["state"] for r in runs] == ["failed", "succeeded"], runs
    added = db.q("SELECT added, removed FROM inventory_syncrun WHERE id = %s", recovery["id"])[0]
    assert added == (3000, 0), added  # the recovery run found an empty inventory: all 3,000 new
    row["stuck runs"] = stuck_runs(db, account_id)
    assert row["stuck runs"] == 0
    row["outcome"] = f"killed mid-apply, 0 rows kept -> recovery run #{recovery['id']} added 3000"
    row["notes"] = f"killed {at_kill['now'] - at_kill['started']:.1f} s into the run, write of numbers pending"


# -- 3. PostgreSQL restart during apply -----------------------------------------------------------
def _pg_cluster() -> tuple[str, str]:
    versions = sorted(os.listdir("/usr/lib/postgresql"), key=lambda v: float(v))
    return versions[-1], "main"


def test_postgresql_restart_during_apply(env, db, procs, sims, gate, row):
    """Restart PostgreSQL (fast mode) while the run applies. The same worker (not restarted, no
    beat) must finish the run as failed on a fresh connection once the database is back; the
    next sync then succeeds and the inventory equals the provider's listing."""
    if os.geteuid() != 0 or not shutil.which("pg_ctlcluster"):
        pytest.skip("needs root and pg_ctlcluster to restart PostgreSQL")
    row["faults injected"] = 1
    sim = sims(3000, seed=23)
    add_account(env, "pf-pg", sim, "page_size=100")
    account_id = db.account_id("pf-pg")
    worker = procs.worker(env)
    gate()  # the restart ends it (and its lock) with every other session
    run_id = queue(env, "pf-pg")

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        run = db.run(run_id)
        if run["stage"] == "applying" and blocked_in_apply(db):
            break
        assert run["state"] in ("queued", "running"), f"run ended before the fault: {run}\n{procs.logs()}"
        time.sleep(0.005)
    else:
        raise AssertionError(f"never applying: {db.run(run_id)}")
    version, cluster = _pg_cluster()
    db.close()
    fault_at = time.time()
    subprocess.run(["pg_ctlcluster", version, cluster, "restart", "-m", "fast"], check=True, timeout=120)

    ended = wait_until(lambda: (r := db.run(run_id))["state"] != "running" and r, RECOVERY_BUDGET, every=0.25,
                       what="the interrupted run to leave 'running'", logs=procs.logs)
    seen_failed = time.time()
    assert worker.p.poll() is None, "the worker died with the database"
    assert ended["state"] == "failed" and ended["error_class"] in ("database", "lost"), ended
    assert partial_rows(db, account_id) == dict.fromkeys(("phonenumber", "location", "trunk", "trunkgroup",
                                                           "numbergroup"), 0)  # nothing of the apply survived
    lease = db.q("SELECT sync_lease_token FROM inventory_provideraccount WHERE id = %s", account_id)[0][0]
    assert lease == "", "the failed run kept the account's lease"

    result = manage(env, "sync", "pf-pg", "--queue", "--wait", "120", check=False)
    assert result.returncode == 0 and "succeeded" in result.stdout, result.stdout + result.stderr + procs.logs()
    recovery = db.runs(account_id)[-1]
    seconds = recovery["finished"] - fault_at
    row["seconds to recovery"] = f"{seconds:.1f}"
    assert seconds <= RECOVERY_BUDGET
    assert_inventory_exact(db, account_id, sim, row)
    row["stuck runs"] = stuck_runs(db, account_id)
    assert row["stuck runs"] == 0
    row["outcome"] = f"interrupted run failed [{ended['error_class']}], not left running; next sync succeeded"
    row["notes"] = (f"same worker, no beat: run finished on a fresh connection "
                    f"{seen_failed - fault_at:.1f} s after the restart began")


# -- 4. Redis restart loses the queued tasks ------------------------------------------------------
class PrivateRedis:
    def __init__(self, tmp: Path, port: int = REDIS_PORT):
        self.tmp, self.port = tmp, port
        self.url = f"redis://127.0.0.1:{port}/0"

    def cli(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              check=check, timeout=20).stdout.strip()

    def start(self) -> None:
        subprocess.run(["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no",
                        "--bind", "127.0.0.1", "--daemonize", "yes", "--dir", str(self.tmp),
                        "--pidfile", str(self.tmp / "redis.pid"), "--logfile", str(self.tmp / "redis.log")],
                       check=True, timeout=20)
        wait_until(lambda: self.cli("ping", check=False) == "PONG", 20, what=f"redis on {self.port}")

    def stop(self) -> None:
        self.cli("shutdown", "nosave", check=False)
        wait_until(lambda: self.cli("ping", check=False) != "PONG", 20, what="redis to stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    probe = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True)
    if probe.stdout.strip() == "PONG":
        pytest.skip(f"port {REDIS_PORT} already has a redis-server that is not ours")
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_restart_loses_queued_tasks(env, db, procs, sims, row, private_redis):
    """With no worker running, two runs are queued; Redis (no persistence) restarts and their
    tasks are gone. Once a worker and beat run, the reaper hands both runs over again and they
    succeed, the same runs, without a replacement or a failure."""
    row["faults injected"] = 1
    renv = {**env, "REDIS_URL": private_redis.url}
    names, accounts, sims_by = ["pf-redis-a", "pf-redis-b"], {}, {}
    for i, name in enumerate(names):
        sim = sims(300, seed=40 + i)
        add_account(renv, name, sim)
        manage(renv, "sync", name)  # a first sync in this process: the accounts are not due for beat
        sim.add_dids(7)  # work only the queued runs can do
        accounts[name], sims_by[name] = db.account_id(name), sim
    runs = {name: queue(renv, name) for name in names}
    assert private_redis.cli("llen", "celery") == "2"  # both tasks are waiting in Redis

    private_redis.restart()
    fault_at = time.time()
    assert private_redis.cli("llen", "celery") == "0"  # ... and are gone
    assert {db.run(pk)["state"] for pk in runs.values()} == {"queued"}

    procs.worker(renv)
    procs.beat(renv)
    wait_until(lambda: all(db.run(pk)["state"] not in ("queued", "running") for pk in runs.values()), 60, every=0.5,
               what="both queued runs to be handed over and finish", logs=procs.logs)
    finished = {name: db.run(pk) for name, pk in runs.items()}
    seconds = max(r["finished"] for r in finished.values()) - fault_at
    row["seconds to recovery"] = f"{seconds:.1f}"
    assert all(r["state"] == "succeeded" for r in finished.values()), finished
    assert seconds <= 60
    assert "queued runs handed over again" in procs.logs()  # the reaper, not a redelivery
    checks = {name: inventory_check(db, accounts[name], sims_by[name]) for name in names}
    row.update({"numbers lost": sum(c["lost"] for c in checks.values()),
                "spurious removals": sum(c["removed"] for c in checks.values()),
                "duplicates": sum(c["duplicates"] for c in checks.values()),
                "stuck runs": sum(stuck_runs(db, a) for a in accounts.values())})
    for name, check in checks.items():
        assert check == {"rows": 307, "lost": 0, "extra": 0, "removed": 0, "duplicates": 0}, (name, check)
        assert [r["state"] for r in db.runs(accounts[name])] == ["succeeded", "succeeded"]  # no replacement
    assert row["stuck runs"] == 0
    row["outcome"] = "2 lost tasks re-handed by the reaper; both runs succeeded"
    row["notes"] = f"private redis-server :{REDIS_PORT} restarted (--save '' --appendonly no)"


# -- 5. 50 "Sync now" clicks ----------------------------------------------------------------------
CLICKS = r"""
import json, threading, time
from django.db import connection
from django.utils import timezone
from numbersadmin.inventory.models import ProviderAccount, SyncRun
from numbersadmin.inventory.runner import sync_now
account = ProviderAccount.objects.get(name=%(name)r)
if %(after)r:  # wait (in this process: no start-up delay) until the run is this far in
    run_id, seconds = %(after)r
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = SyncRun.objects.get(pk=run_id)
        if run.state == "running" and (timezone.now() - run.started_at).total_seconds() > seconds:
            break
        time.sleep(0.05)
    else:
        raise SystemExit("run %%s never got %%s s in: %%s" %% (run_id, seconds, run.state))
    into = (timezone.now() - run.started_at).total_seconds()
else:
    into = None
connection.close()
barrier, out, lock = threading.Barrier(%(n)d), [], threading.Lock()
def click():
    try:
        barrier.wait()
        began = time.monotonic()
        run, created = sync_now(account, trigger="manual")
        item = [run.pk, created, run.state, began, time.monotonic()]
    except Exception as exc:
        item = ["error", repr(exc), "", 0, 0]
    finally:
        connection.close()
    with lock:
        out.append(item)
threads = [threading.Thread(target=click) for _ in range(%(n)d)]
for t in threads: t.start()
for t in threads: t.join()
first = min(i[3] for i in out)
print("CLICKS " + json.dumps({"results": out, "into_run": into, "issued_within": max(i[3] for i in out) - first,
                              "answered_within": max(i[4] for i in out) - first}))
"""


def clicks(env, name: str, n: int = 50, after: tuple[int, float] | None = None) -> dict:
    """``n`` threads call ``sync_now`` ("Sync now") at once (a barrier), each on its own connection."""
    out = manage(env, "shell", "--no-imports", "-c", CLICKS % {"name": name, "n": n, "after": after}).stdout
    return json.loads(out.split("CLICKS ", 1)[1])


def test_fifty_sync_now_clicks_make_one_run(env, db, procs, sims, row):
    """50 concurrent "Sync now" on an idle account create exactly one run. A second burst of 50,
    fired once the run has been working longer than its lease, still joins that run (its
    heartbeat keeps it alive; without it the run would look dead and be replaced); it succeeds
    and no run of the account fails as ``busy``."""
    row["faults injected"] = "100 (2 bursts of 50)"
    sim = sims(600, seed=25, latency=0.4)  # 30+ pages at >= 0.4 s: ~13 s of fetching, over twice the lease
    add_account(env, "pf-clicks", sim, "page_size=20", "fetch_concurrency=1")  # a fetch longer than two leases
    account_id = db.account_id("pf-clicks")
    procs.worker(env)

    first = clicks(env, "pf-clicks")
    ids = {r[0] for r in first["results"]}
    assert len(first["results"]) == 50 and len(ids) == 1 and "error" not in ids, first
    assert sum(1 for r in first["results"] if r[1] is True) == 1, first
    assert first["issued_within"] < 1.0, first
    (run_id,) = ids
    procs.beat(env)  # the reaper too, now that the account has its run

    second = clicks(env, "pf-clicks", after=(run_id, LEASE + 1.0))
    assert second["issued_within"] < 1.0, second
    assert [r[:3] for r in second["results"]] == [[run_id, False, "running"]] * 50, second

    done = wait_until(lambda: (r := db.run(run_id))["state"] not in ("queued", "running") and r, 120, every=0.5,
                      what="the run to finish", logs=procs.logs)
    assert done["state"] == "succeeded", done
    assert done["finished"] - done["started"] > LEASE  # it did outlive its lease
    runs = db.runs(account_id)
    assert [r["id"] for r in runs] == [run_id], runs
    assert not [r for r in runs if r["error_class"] == "busy"]
    assert_inventory_exact(db, account_id, sim, row)
    row["stuck runs"] = stuck_runs(db, account_id)
    assert row["stuck runs"] == 0
    row["seconds to recovery"] = "n/a"
    row["outcome"] = f"1 run created, 100/100 clicks joined run #{run_id}; it succeeded, 0 busy"
    row["notes"] = (f"bursts issued within {first['issued_within'] * 1000:.0f} / {second['issued_within'] * 1000:.0f} ms,"
                    f" answered within {first['answered_within']:.2f} / {second['answered_within']:.2f} s; second burst "
                    f"{second['into_run']:.1f} s into a {done['finished'] - done['started']:.1f} s run")

"""Integration rig: a fresh PostgreSQL database and a Redis db for each test module, and helpers
to run real ``manage.py`` / ``celery`` processes against them."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("INTEGRATION_DATABASE_URL", "")
REDIS = os.environ.get("INTEGRATION_REDIS_URL", "")


def pytest_collection_modifyitems(config, items):
    # Every collected item passes through here: mark only the tests under this folder, by path,
    # not by a substring (a checkout inside a folder named "integration" would mark everything).
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.path)).resolve().is_relative_to(here):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def services():
    if not (PG and REDIS):
        message = "INTEGRATION_DATABASE_URL / INTEGRATION_REDIS_URL not set (see README: .ci/run starts them)"
        if os.environ.get("REQUIRE_INTEGRATION"):
            pytest.fail(message)
        pytest.skip(message)
    import psycopg
    import redis

    name = f"na_it_{secrets.token_hex(4)}"
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG)
    db_url = urlunsplit(parts._replace(path="/" + name))
    client = redis.Redis.from_url(REDIS)
    client.flushdb()
    yield {"DATABASE_URL": db_url, "REDIS_URL": REDIS}
    client.flushdb()
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def app_env(services, tmp_path_factory):
    from cryptography.fernet import Fernet

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))},
        **services,
        "DJANGO_SETTINGS_MODULE": "numbersadmin.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PROVIDER_ALLOWED_HOSTS": "127.0.0.1",
        "STATIC_MANIFEST": "0",  # no collectstatic in tests
        "SYNC_DEFAULT_RETRY_AFTER": "2",  # Plivo's 429 carries no Retry-After
        "NUMBERSADMIN_VAR_DIR": str(tmp_path_factory.mktemp("var")),
        "PYTHONUNBUFFERED": "1",
    }
    manage(env, "migrate", "-v0")
    return env


def manage(env, *args, check=True, timeout=300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args[:2])} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


class Proc:
    def __init__(self, env, *args, log: Path):
        self.log = log
        self.fh = open(log, "w")
        self.p = subprocess.Popen([sys.executable, "-m", "celery", "-A", "numbersadmin", *args], cwd=ROOT, env=env,
                                  stdout=self.fh, stderr=subprocess.STDOUT)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                return
            if self.p.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not seen in celery log:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> str:
        self.p.terminate()
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.fh.close()
        return self.log.read_text()


@pytest.fixture
def worker(app_env, tmp_path):
    proc = Proc(app_env, "worker", "--loglevel=INFO", "--concurrency=2", "--pool=prefork", "-n", "it@%h",
                log=tmp_path / "worker.log")
    proc.wait_for("ready", timeout=90)
    yield proc
    proc.stop()

"""Security probe on PostgreSQL (+ Redis as cache): a bounded fuzzer over every routed URL and a
secrets canary. Run by tests/security/test_probe.py in a subprocess with a fresh database; by hand:

    DATABASE_URL=postgres://... REDIS_URL=redis://.../12 python tests/security/probe.py --requests 20000

1. Seed: one account per provider against its simulator (over sockets), every secret field holding
   a distinctive canary (identifiers too: Plivo auth_id, Apifonica account_sid, the Voximplant
   key_id and e-mail), a successful sync each, then failing syncs (provider 500, wrong credentials).
2. Fuzz: seeded random GET/POST over every URL pattern (ints filled with real and hostile ids) with
   hostile values in every known query parameter and form field, as ops and as admin (and the
   Django admin as superuser). Counts responses >= 500.
3. Canary: pages (full and HTMX partials), search, exports (CSV and XLSX), the audit log, every
   database column outside the encrypted secrets, every log line and every Redis key and value.

Prints one JSON object; exit 1 when a request answered >= 500 or a canary was found.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import random
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CANARY = "CNRY7f3a"  # every planted secret contains this; nothing stored or shown may
SECRETS = {
    "didww": {"api_key": f"{CANARY}-didww-api-key"},
    "webex": {"access_token": f"{CANARY}-webex-access-token"},
    "apifonica": {"account_sid": f"AC{CANARY}apifonicaSid", "auth_token": f"{CANARY}-apifonica-auth-token"},
    "plivo": {"auth_id": f"MA{CANARY}PLIVOAUTHID", "auth_token": f"{CANARY}-plivo-auth-token"},
}

HOSTILE = [
    "", " ", "x", "0", "-1", "1", "2", "99999999999999999999", "1e309", "NaN", "null", "true", "[]", "{}",
    "US", "GB", "active", "removed", "local", "-e164", "e164", "-last_changed", "renews", "only", "all", "yes", "no",
    "<script>alert(1)</script>", "' OR 1=1--", '"', "\\", "..", "../../etc/passwd", "%", "%25", "\u202e\u0000"[:1],
    "ｏｐｓ", "🙂", "\x00", "a\x00b", "a" * 300, "1" * 5000, "+44 (0)20 3240 2344", "2344", "2026-13-45", "2026-01-01",
    "=cmd|' /C calc'!A0", "@SUM(1)", "javascript:alert(1)", "http://169.254.169.254/", "\r\nX-Injected: 1",
    base64.urlsafe_b64encode(b'{"v":5,"i":1,"d":"n","p":"x"}').decode(),
    base64.urlsafe_b64encode(b'{"v":{"t":"x"},"i":1,"d":"p"}').decode(),
    base64.urlsafe_b64encode(b'{"v":"a","i":100000000000000000000000,"d":"n"}').decode(), "!!!notbase64",
]
PARAMS = [
    "q", "sort", "cursor", "page", "per_page", "cols", "view", "export", "columns", "format", "selection", "ids",
    "provider", "account", "country", "region", "city", "status", "kind", "trunk", "trunk_group", "location", "owner",
    "owner_type", "has_owner", "main_number", "voice", "sms", "mms", "pool", "removed", "missing", "expires_within",
    "tag", "has_note", "state", "active", "owned", "type", "stale", "action", "user", "since", "until", "next",
    "country__n", "status__n", "trunk__n", "tag__n", "name", "query", "shared", "default", "note", "tags",
    "add_tags", "remove_tags", "note_mode", "base_url", "sync_interval_minutes", "enabled", "secret_api_key",
    "config_org_id", "caller_id_expiry_days", "username", "password", "confirm", "e", "o", "p", "all",
]


def setup_django(args) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "numbersadmin.settings")
    os.environ["TASK_RUNNER"] = "inline"
    os.environ["PROVIDER_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["STATIC_MANIFEST"] = "0"
    os.environ["LOG_LEVEL"] = "DEBUG"
    os.environ["PROVIDER_HTTP_LOG_LEVEL"] = "DEBUG"
    os.environ["PROVIDER_HTTP_TIMEOUT"] = "5"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class LogTrap(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a broken record must not hide the rest
            self.lines.append(repr(record.__dict__))


def generate_credentials_json(*, account_id: int, key_id: str, account_email: str) -> str:
    """A fresh service-account credentials.json (the simulator trusts the key it is given)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"account_id": account_id, "key_id": key_id, "account_email": account_email,
                       "private_key": pem})


# -- seed ----------------------------------------------------------------------------------------
def seed(rng: random.Random) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from numbersadmin.inventory.models import SyncRun
    from numbersadmin.inventory.services.accounts import account_create
    from numbersadmin.inventory.services.sync import run_sync

    User = get_user_model()
    admins, _ = Group.objects.get_or_create(name="admins")
    admins.permissions.add(Permission.objects.get(codename="manage_accounts"))
    users = {"ops": User.objects.create_user("ops", password="ops-pw-123456"),
             "admin": User.objects.create_user("adm", password="adm-pw-123456"),
             "root": User.objects.create_superuser("root", password="root-pw-123456")}
    users["admin"].groups.add(admins)

    secrets = dict(SECRETS)
    secrets["voximplant"] = {"credentials_json": generate_credentials_json(
        account_id=7123, key_id=f"{CANARY}-vox-key-id", account_email=f"{CANARY}@example.invalid")}
    from providers.simulators.registry import simulator

    sims, accounts = {}, {}
    for slug, values in secrets.items():
        sim = simulator(slug, secrets=values, numbers=40, seed=rng.randint(1, 10**6))
        sim.start()
        sims[slug] = sim
        accounts[slug] = account_create(provider=slug, name=f"canary {slug}", base_url=sim.base_url, secrets=values)
        run = run_sync(SyncRun.objects.create(account=accounts[slug]).pk)
        assert run.state == "succeeded", (slug, run.error_class, run.error_message)
    # Queue one Celery task per account with no worker running: the broker messages stay in Redis
    # for the scan (task arguments must be ids only). Then a few failed logins (throttle keys).
    from django.conf import settings
    from django.test import Client

    from numbersadmin.inventory.runner import sync_now

    if os.environ.get("REDIS_URL"):
        settings.TASK_RUNNER = "celery"
        for account in accounts.values():
            sync_now(account)
        settings.TASK_RUNNER = "inline"
        SyncRun.objects.filter(state="queued").update(state="failed", error_class="probe")
    for username in ("ops", "nobody"):
        Client().post("/login/", {"username": username, "password": "wrong-password"})
    for slug, sim in sims.items():  # failing syncs: provider 500, then rejected credentials
        sim.faults.fail(500, page=1)
        run_sync(SyncRun.objects.create(account=accounts[slug]).pk)
        sim.faults.add("status", status=401, times=1)
        run_sync(SyncRun.objects.create(account=accounts[slug]).pk)
    return {"users": users, "sims": sims, "accounts": accounts, "secrets": secrets}


# -- fuzz ----------------------------------------------------------------------------------------
def url_patterns():
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    return list(walk(get_resolver().url_patterns))


def fill(pattern: str, rng: random.Random, ids: list[int]) -> str | None:
    import re

    if pattern.startswith("django-admin/") and ("(?P" in pattern or "^" in pattern):
        if rng.random() < 0.7:
            return None
    path = re.sub(r"<int:[^>]+>", lambda m: str(rng.choice(ids + [0, 999999, 2**31, 2**63 + 5])), pattern)
    path = re.sub(r"<slug:[^>]+>", lambda m: rng.choice(
        ["numbers", "caller_ids", "owners", "didww", "plivo", "webex", "nope", "x" * 80]), path)
    path = re.sub(r"<(?:str|path):[^>]+>", lambda m: rng.choice(["x", "inventory", "auth"]), path)
    if "<" in path or "(?" in path or "^" in path or "\\" in path:
        return None
    return "/" + path.replace("$", "")


def hostile_params(rng: random.Random) -> dict:
    return {rng.choice(PARAMS): rng.choice(HOSTILE) for _ in range(rng.randint(0, 5))}


def fuzz(n: int, rng: random.Random, seeded: dict) -> dict:
    from django.test import Client

    from numbersadmin.inventory.models import AuditLog, PhoneNumber, ProviderAccount, SyncRun

    ids = (list(PhoneNumber.objects.values_list("pk", flat=True)[:50]) + list(ProviderAccount.objects.values_list("pk", flat=True))
           + list(SyncRun.objects.values_list("pk", flat=True)[:10]) + list(AuditLog.objects.values_list("pk", flat=True)[:5]))
    clients = {}
    for role, user in seeded["users"].items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(user)
    patterns = [p for p in url_patterns() if "logout" not in p]
    failures, codes = [], {}
    # Inputs that once answered 500 on PostgreSQL: always asked, before the random ones.
    regressions = [("root", "post", "/django-admin/inventory/syncrun/add/", {}),
                   ("root", "post", "/django-admin/inventory/auditlog/add/", {}),
                   ("ops", "get", "/numbers/", {"q": ".."}), ("ops", "get", "/numbers/", {"q": "..", "export": "csv"}),
                   ("ops", "get", "/search/", {"q": ".."}), ("ops", "get", "/numbers/", {"q": "a\x00b"})]
    i = 0
    while sum(codes.values()) < n:
        i += 1
        if regressions:
            role, method, path, params = regressions.pop()
            headers = {}
        else:
            role = rng.choice(["ops", "admin", "root"] if i % 10 == 0 else ["ops", "admin"])
            pattern = rng.choice(patterns)
            path = fill(pattern, rng, ids)
            if path is None:
                continue
            params = hostile_params(rng)
            headers = {"HX-Request": "true"} if rng.random() < 0.2 else {}
            method = "post" if rng.random() < 0.3 else "get"
        try:
            response = getattr(clients[role], method)(path, params, headers=headers)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            status = response.status_code
        except Exception as exc:  # noqa: BLE001 - an exception escaping Django is a 500
            status = 500
            params["exception"] = repr(exc)[:300]
        codes[status] = codes.get(status, 0) + 1
        if status >= 500:
            failures.append({"method": method, "path": path, "params": {k: str(v)[:80] for k, v in params.items()},
                             "role": role, "status": status})
        if role == "root" and rng.random() < 0.05:  # keep logged in after a fuzzed logout/password change
            clients[role].force_login(seeded["users"]["root"])
    return {"requests": sum(codes.values()), "status_codes": {str(k): v for k, v in sorted(codes.items())},
            "errors_5xx": len(failures), "failures": failures[:20]}


# -- canary --------------------------------------------------------------------------------------
def needles(seeded: dict) -> list[str]:
    """Every planted value, plus the canary tag itself (covers fragments and re-encodings)."""
    out = {CANARY}
    for values in seeded["secrets"].values():
        for value in values.values():
            if value.lstrip().startswith("{"):
                creds = json.loads(value)
                out.update(str(creds[k]) for k in ("key_id", "account_email"))
                out.update(line for line in creds["private_key"].splitlines() if len(line) > 40)
            else:
                out.add(value)
    return sorted(out)


def canary(seeded: dict, logs: LogTrap) -> dict:
    from django.db import connection
    from django.test import Client

    from numbersadmin.inventory.models import PhoneNumber

    found: list[str] = []
    words = needles(seeded)

    def scan(where: str, text: str) -> None:
        low = text.lower()
        for word in words:
            if word.lower() in low:
                found.append(f"{where}: {word[:12]}…")

    pages = ["/", "/numbers/", "/caller-ids/", "/owners/", "/locations/", "/trunks/", "/trunk-groups/", "/accounts/",
             "/syncs/", "/audit/", "/views/", "/settings/"]
    # Search for fragments of the planted values (not the tag itself, which the page would echo):
    # a secret stored in any searchable field would come back with its tag.
    pages += [f"/search/?q={q}" for q in ("didww-api-key", "apifonicaSid", "PLIVOAUTHID", "vox-key-id", "webex-access")]
    pages += [f"/numbers/?q={q}" for q in ("apifonicaSid", "PLIVOAUTHID", "auth-token")]
    pages += [f"/accounts/{pk}/" for pk in (a.pk for a in seeded["accounts"].values())]
    pages += [f"/accounts/{a.pk}/edit/" for a in seeded["accounts"].values()]
    pages += [n.get_absolute_url() for n in PhoneNumber.objects.order_by("account_id", "pk")[::5][:40]]
    from numbersadmin.inventory.models import SyncRun

    pages += [r.get_absolute_url() for r in SyncRun.objects.all()]
    checked = 0
    # The fuzzer may have deactivated a seeded user (Users page, as root): the scan must see the pages.
    type(seeded["users"]["ops"]).objects.filter(pk__in=[u.pk for u in seeded["users"].values()]).update(is_active=True)
    for role in ("ops", "admin", "root"):
        client = Client()
        client.force_login(seeded["users"][role])
        for url in pages:
            for headers in ({}, {"HX-Request": "true"}):
                response = client.get(url, headers=headers)
                body = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
                scan(f"{role} {url}", body.decode("utf-8", "replace"))
                checked += 1
        for name in ("numbers", "caller_ids", "owners", "locations", "trunks", "trunk_groups"):
            for fmt in ("csv", "xlsx"):
                url = "/" + name.replace("_", "-") + f"/?export={fmt}&columns=all"
                response = client.get(url)
                body = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
                if fmt == "xlsx" and body[:2] == b"PK":
                    with zipfile.ZipFile(io.BytesIO(body)) as zf:
                        body = b"".join(zf.read(n) for n in zf.namelist())
                scan(f"{role} export {name}.{fmt}", body.decode("utf-8", "replace"))
                checked += 1
    tables = 0
    with connection.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cur.fetchall():
            cur.execute(f'SELECT (to_jsonb(t) - \'secrets_encrypted\')::text FROM "{table}" t')
            scan(f"db {table}", "\n".join(row[0] for row in cur.fetchall()))
            tables += 1
    scan("logs", "\n".join(logs.lines))
    redis_keys = 0
    if os.environ.get("REDIS_URL"):
        import redis

        r = redis.Redis.from_url(os.environ["REDIS_URL"])
        for key in r.scan_iter(count=1000):
            redis_keys += 1
            kind = r.type(key)
            value = r.get(key) if kind == b"string" else r.dump(key)
            scan("redis", key.decode("utf-8", "replace") + " " + (value or b"").decode("utf-8", "replace"))
    # Self-check: the same scan over the decrypted secrets must find every account's canaries
    # (proves the needles are the values really planted, so 0 hits elsewhere means something).
    leaks_before = len(found)
    for account in seeded["accounts"].values():
        scan("self-check", json.dumps(account.get_secrets()))
    self_check = len(found) - leaks_before
    del found[leaks_before:]
    return {"canaries_planted": len(words), "self_check_hits": self_check, "places_checked": checked, "tables": tables, "log_lines": len(logs.lines),
            "redis_keys": redis_keys, "hits": len(found), "where": found[:20]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logs = LogTrap()
    logs.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    setup_django(args)
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.DEBUG)
    for name in ("django", "providers", "numbersadmin", "celery"):
        logging.getLogger(name).addHandler(logs)
    rng = random.Random(args.seed)
    seeded = seed(rng)
    result = {"fuzz": fuzz(args.requests, rng, seeded)}
    result["canary"] = canary(seeded, logs)  # after the fuzz too: its logs and writes are scanned
    for sim in seeded["sims"].values():
        sim.stop()
    print(json.dumps(result, indent=1))
    bad = result["fuzz"]["errors_5xx"] or result["canary"]["hits"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

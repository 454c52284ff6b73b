"""Opt-in benchmark: the CSV export of /numbers/ beside a model-instance streaming export of the same rows.

    .venv/bin/python tests/perf/bench_export.py [--rows 1000000] [--json test-artifacts/bench_export.json]

Needs PostgreSQL: INTEGRATION_DATABASE_URL (a role that may CREATE DATABASE). A throwaway
database is created, migrated, seeded with ``--rows`` live numbers (plus 0.5 % removed ones,
which neither export may include) by one INSERT ... SELECT over generate_series, measured and
dropped. Output: a Markdown report on stdout (progress on stderr), JSON in
test-artifacts/bench_export.json. Nothing here asserts on time (docs/reference/PERFORMANCE.md:
ratios against a named peer, never absolute budgets).

Each mode runs in its own subprocess (so peak RSS belongs to that export alone): Django setup,
force_login, a warm-up export of a 100-row account, then one measured request through
django.test.Client, consuming ``streaming_content`` chunk by chunk (bytes and lines counted,
nothing kept). Recorded: total time, time to first byte, time to the first data row, bytes,
lines, peak RSS (``ru_maxrss``), and RSS growth = peak minus RSS right before the request (an
RSS sampler thread cross-checks the peak of that request alone).

* ours: ``GET /numbers/?export=csv&columns=all``, the product's view as configured (on
  PostgreSQL with EXPORT_CSV_COPY on: COPY ... TO STDOUT). When the settings have
  EXPORT_CSV_COPY, a second run ("ours_python") sets it False: values_list().iterator(), every
  cell through ``exports.neutralise``. Manifest lines (``#`` ...) before the header are counted
  apart; the column list is not assumed.
* peer ("model-instance streaming", the usual Django approach; NetBox #21974
  ``stream_table_csv_response``): a view streaming ``PhoneNumber.objects.select_related(account,
  trunk, trunk_group, owner, location, number_group).filter(removed_at__isnull=True)
  .order_by("e164", "pk").iterator(chunk_size=--peer-chunk-size)`` (default 2000, the same as
  ours; NetBox uses EXPORT_CHUNK_SIZE = 1000), each row built by getattr along the paths of the
  header ours sent (looked up in the numbers list spec / services.exports; the note through
  select_related, tags through prefetch_related), the same ``neutralise``, csv.writer on an echo
  buffer, rows yielded in batches of 500 like ours (NetBox yields per row and goes through
  django-tables2 BoundRow: both cost it more). Only the row-building strategy differs; the data
  of both is compared by CRC-32, exactly and ignoring CSV quoting and CR (COPY quotes and ends
  lines differently from csv.writer).
* naive (``--naive``, by default when that account holds <= 150,000 rows): ``list(qs)`` then one
  HttpResponse, the pre-streaming habit, on one account of ~10 % of the rows, beside ours on the
  same account (``account=<id>``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
import types
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, ratio, setup_django, throwaway_django, write_report  # noqa: E402

BATCH_ROWS = 500  # rows per yielded chunk, as services.exports.csv_rows does
MANIFEST_PREFIX = b"#"
WARM_ROWS = 100  # rows of the warm-up account
SUBSET_SHARE = 10  # the naive comparison's account holds 1 row in 10
OURS_URL = "/numbers/?export=csv&columns=all"
PEER_URL = "/bench/peer-export/"
NAIVE_URL = "/bench/naive-export/"
PEER_RELATED = ("account", "trunk", "trunk_group", "owner", "location", "number_group")
# The export's code path; edited while the benchmark runs -> the report says so.
PRODUCT_FILES = ("numbersadmin/inventory/services/exports.py", "numbersadmin/inventory/lists.py",
                 "numbersadmin/inventory/views/lists.py", "numbersadmin/inventory/selectors.py",
                 "numbersadmin/inventory/filters.py")


def product_mtimes() -> dict[str, str | None]:
    out = {}
    for rel in PRODUCT_FILES:
        path = ROOT / rel
        out[rel] = (dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc).isoformat(timespec="seconds")
                    if path.exists() else None)
    return out


def log(msg: str) -> None:
    print(f"[bench_export {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def mb(n_bytes: float) -> float:
    return round(n_bytes / 2**20, 1)


# -- seeding -------------------------------------------------------------------------------------
# (country, country name, region, city, calling code, area code) per account; the e164 of a row
# is +<cc><area><7 digits>, the digits a bijection of the row number (so every e164 is unique
# and e164 order is unrelated to insertion order, as after years of syncs).
ACCOUNTS = [
    ("DIDWW Americas", "didww", [
        ("US", "United States", "California", "San Francisco", "1", "415"),
        ("US", "United States", "New York", "New York", "1", "212"),
        ("US", "United States", "Illinois", "Chicago", "1", "312"),
        ("US", "United States", "Texas", "Austin", "1", "512"),
        ("US", "United States", "Washington", "Seattle", "1", "206"),
        ("US", "United States", "Florida", "Miami", "1", "305"),
        ("US", "United States", "Massachusetts", "Boston", "1", "617"),
        ("CA", "Canada", "Ontario", "Toronto", "1", "416"),
    ]),
    ("Webex Europe", "webex", [
        ("GB", "United Kingdom", "England", "London", "44", "20"),
        ("GB", "United Kingdom", "England", "Manchester", "44", "161"),
        ("DE", "Germany", "Berlin", "Berlin", "49", "30"),
        ("DE", "Germany", "Bavaria", "Munich", "49", "89"),
        ("FR", "France", "Île-de-France", "Paris", "33", "1"),
        ("NL", "Netherlands", "North Holland", "Amsterdam", "31", "20"),
        ("ES", "Spain", "Madrid", "Madrid", "34", "91"),
        ("BE", "Belgium", "Brussels", "Brussels", "32", "2"),
    ]),
    ("Voximplant APAC", "voximplant", [  # the ~10 % subset (naive comparison)
        ("AU", "Australia", "New South Wales", "Sydney", "61", "2"),
        ("AU", "Australia", "Victoria", "Melbourne", "61", "3"),
        ("JP", "Japan", "Tokyo", "Tokyo", "81", "3"),
        ("SG", "Singapore", "", "Singapore", "65", "6"),
    ]),
    ("Lab (warm-up)", "plivo", [
        ("US", "United States", "California", "San Jose", "1", "408"),
    ]),
]
TAGS = ("billing", "emergency", "legacy", "marketing", "porting", "vip")  # 6: see the tag SQL in seed()
OWNER_TYPES = ("people", "people", "people", "place", "virtual_line", "hunt_group")
FIRST = ("Alex", "Sam", "Maria", "Jonas", "Priya", "Chen", "Fatima", "Lukas", "Emma", "Noah", "Aisha", "Mateo")
LAST = ("Smith", "Müller", "García", "Dubois", "Jansen", "Rossi", "Nowak", "Kowalski", "Okafor", "Tanaka")

INSERT_NUMBERS = """
WITH s AS MATERIALIZED (
    SELECT i, (i::bigint * 2654435761) %% 10000000 AS k,
           CASE WHEN i <= %(warm)s THEN 3 WHEN i %% %(share)s = 0 THEN 2
                WHEN i %% 10 < 6 THEN 0 ELSE 1 END AS a,
           random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
           i > %(live)s AS removed
    FROM generate_series(1, %(total)s) AS i
), n AS (
    SELECT s.*, ac.account_id, ac.provider, l.location_id, l.cc, l.area, l.country, l.region, l.city,
           tr.ref_id AS trunk_id, tg.ref_id AS trunk_group_id, gr.ref_id AS number_group_id, ow.ref_id AS owner_id,
           l.area || lpad(s.k::text, 7, '0') AS national,
           md5('n' || s.i)::uuid::text AS ext,
           now() - make_interval(secs => s.r1 * 3 * 365 * 86400) AS acquired
    FROM s
    JOIN b_acct ac ON ac.a = s.a
    JOIN b_loc l ON l.a = s.a AND l.j = s.k %% ac.nloc
    LEFT JOIN b_ref tr ON tr.a = s.a AND tr.kind = 'trunk' AND s.r2 < 0.7 AND tr.j = (s.k / 7) %% ac.ntr
    LEFT JOIN b_ref tg ON tg.a = s.a AND tg.kind = 'tg' AND s.r2 >= 0.7 AND s.r2 < 0.88 AND tg.j = (s.k / 11) %% ac.ntg
    LEFT JOIN b_ref gr ON gr.a = s.a AND gr.kind = 'group' AND gr.j = s.k %% ac.nloc
    LEFT JOIN b_ref ow ON ow.a = s.a AND ow.kind = 'owner' AND s.r3 < 0.5 AND ow.j = (s.k / 13) %% greatest(ac.nown, 1)
)
INSERT INTO inventory_phonenumber (
    external_id, raw, first_seen, last_seen, removed_at, provider, number_raw, e164, is_valid, digits,
    national_digits, country, region, city, kind, status, raw_status, description, voice, sms, mms,
    monthly_cost, currency, acquired_at, expires_at, last_changed_at, content_hash, location_id,
    number_group_id, account_id, trunk_id, trunk_group_id, application, extension, is_main_number,
    is_service_number, owner_id)
SELECT
    ext,
    jsonb_build_object(
        'id', ext, 'type', 'dids',
        'attributes', jsonb_build_object(
            'number', cc || national, 'blocked', false, 'capacity_limit', null, 'channels_included_count', 2,
            'description', null, 'terminated', removed, 'awaiting_registration', false,
            'created_at', to_char(acquired AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
            'expires_at', null, 'billing_cycles_count', null, 'dedicated_channels_count', 0),
        'relationships', jsonb_build_object(
            'did_group', jsonb_build_object('data', jsonb_build_object('type', 'did_groups', 'id', md5('g' || a))),
            'voice_in_trunk', jsonb_build_object('data', null))),
    acquired, now() - interval '20 minutes',
    CASE WHEN removed THEN now() - interval '1 day' END,
    provider,
    CASE WHEN provider = 'webex' THEN '+' || cc || national ELSE cc || national END,
    '+' || cc || national, true, cc || national, national, country, region, city,
    CASE WHEN r5 < 0.85 THEN 'local' WHEN r5 < 0.93 THEN 'mobile' WHEN r5 < 0.98 THEN 'toll_free' ELSE 'national' END,
    CASE WHEN removed THEN 'removed' WHEN r6 < 0.85 THEN 'active' WHEN r6 < 0.90 THEN 'pending'
         WHEN r6 < 0.94 THEN 'suspended' WHEN r6 < 0.97 THEN 'cancelling' ELSE 'inactive' END,
    CASE WHEN removed THEN 'terminated' WHEN r6 < 0.85 THEN 'ACTIVE' WHEN r6 < 0.90 THEN 'pending_registration'
         WHEN r6 < 0.94 THEN 'blocked' WHEN r6 < 0.97 THEN 'pending_removal' ELSE 'inactive' END,
    (ARRAY['', '', '', '', '', '', '', '', '', '', '', '', 'Sales', 'Support hotline', 'Reception',
           'Fax to email', '-', '=HYPERLINK("https://example.com","click")', '@ops on-call',
           '+ marketing line'])[1 + floor(r4 * 20)::int],
    true, k %% 10 < 3, false,
    (ARRAY[0.50, 1.00, 1.50, 2.00, 4.90])[(1 + k %% 5)::int],
    CASE WHEN a = 1 THEN 'EUR' ELSE 'USD' END,
    acquired, now() + make_interval(days => 1 + (k %% 31)::int), acquired, md5('h' || i),
    CASE WHEN r3 < 0.9 THEN location_id END,
    number_group_id, account_id, trunk_id, trunk_group_id,
    CASE WHEN provider = 'voximplant' THEN 'ivr-main' ELSE '' END,
    CASE WHEN owner_id IS NOT NULL THEN (1000 + k %% 9000)::text ELSE '' END,
    CASE WHEN provider = 'webex' THEN k %% 97 = 0 END,
    NULL,
    owner_id
FROM n
"""


def seed(rows: int, removed: bool = True) -> dict:
    """Accounts, locations, trunks, groups and owners via the ORM; ``rows`` live numbers plus
    (``removed``) ``rows // 200`` removed ones in one INSERT ... SELECT; then VACUUM ANALYZE."""
    from django.db import connection, transaction
    from django.utils import timezone

    from numbersadmin.inventory.models import (Location, NumberGroup, NumberNote, Owner, ProviderAccount, Tag, Trunk,
                                               TrunkGroup)

    t0 = time.perf_counter()
    now = timezone.now()
    acct_rows, loc_rows, ref_rows = [], [], []
    with transaction.atomic():
        for a, (name, provider, locations) in enumerate(ACCOUNTS):
            account = ProviderAccount.objects.create(provider=provider, name=name, config={},
                                                     base_url="https://api.example.com",
                                                     last_success_at=now - dt.timedelta(minutes=20))
            locs = [Location.objects.create(account=account, external_id=f"loc-{a}-{j}",
                                            name=f"{city} office" if provider == "webex" else city,
                                            country_code=iso, country_name=cname, region=region, city=city)
                    for j, (iso, cname, region, city, _, _) in enumerate(locations)]
            loc_rows += [(a, j, loc.pk, cc, area, iso, region, city)
                         for j, (loc, (iso, _, region, city, cc, area)) in enumerate(zip(locs, locations))]
            tgs = [TrunkGroup.objects.create(account=account, external_id=f"tg-{a}-{j}", name=f"{name} group {j}")
                   for j in range(2)]
            trunks = [Trunk.objects.create(account=account, external_id=f"tr-{a}-{j}", name=f"{name} trunk {j}",
                                           kind="sip", trunk_group=tgs[j % 2]) for j in range(3)]
            ref_rows += [(a, "tg", j, tg.pk) for j, tg in enumerate(tgs)]
            ref_rows += [(a, "trunk", j, tr.pk) for j, tr in enumerate(trunks)]
            if provider == "didww":
                for j, (loc, (iso, _, _, city, cc, area)) in enumerate(zip(locs, locations)):
                    group = NumberGroup.objects.create(account=account, external_id=f"grp-{a}-{j}",
                                                       name=f"{iso}, {city} ({area})", prefix=area,
                                                       group_type="Local", location=loc)
                    ref_rows.append((a, "group", j, group.pk))
            n_owners = 0
            if provider == "webex":
                owners = Owner.objects.bulk_create([
                    Owner(account=account, external_id=f"own-{a}-{j}", owner_type=OWNER_TYPES[j % len(OWNER_TYPES)],
                          first_name=FIRST[j % len(FIRST)], last_name=LAST[(j // len(FIRST)) % len(LAST)],
                          name=f"{FIRST[j % len(FIRST)]} {LAST[(j // len(FIRST)) % len(LAST)]} {j}",
                          location=locs[j % len(locs)])
                    for j in range(3000)])
                ref_rows += [(a, "owner", j, o.pk) for j, o in enumerate(owners)]
                n_owners = len(owners)
            acct_rows.append((a, account.pk, provider, len(locs), len(trunks), len(tgs), n_owners))
        with connection.cursor() as cur:
            cur.execute("CREATE TEMP TABLE b_acct (a int PRIMARY KEY, account_id bigint, provider text, nloc int, "
                        "ntr int, ntg int, nown int) ON COMMIT DROP")
            cur.execute("CREATE TEMP TABLE b_loc (a int, j int, location_id bigint, cc text, area text, country text, "
                        "region text, city text, PRIMARY KEY (a, j)) ON COMMIT DROP")
            cur.execute("CREATE TEMP TABLE b_ref (a int, kind text, j int, ref_id bigint, PRIMARY KEY (a, kind, j)) "
                        "ON COMMIT DROP")
            cur.executemany("INSERT INTO b_acct VALUES (%s, %s, %s, %s, %s, %s, %s)", acct_rows)
            cur.executemany("INSERT INTO b_loc VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", loc_rows)
            cur.executemany("INSERT INTO b_ref VALUES (%s, %s, %s, %s)", ref_rows)
            cur.execute("ANALYZE b_acct")
            cur.execute("ANALYZE b_loc")
            cur.execute("ANALYZE b_ref")
            # The secondary indexes are dropped for the bulk insert and rebuilt from their own
            # definitions afterwards (same schema; ~10x faster than maintaining 20 B-trees per row).
            cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                        "AND tablename = 'inventory_phonenumber' AND indexname NOT IN "
                        "(SELECT conname FROM pg_constraint WHERE conrelid = 'inventory_phonenumber'::regclass)")
            indexes = cur.fetchall()
            for index_name, _ in indexes:
                cur.execute(f'DROP INDEX "{index_name}"')
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cur.execute("SELECT setseed(0.42)")
            n_removed = rows // 200 if removed else 0
            cur.execute(INSERT_NUMBERS, {"warm": WARM_ROWS, "share": SUBSET_SHARE, "live": rows,
                                         "total": rows + n_removed})
            inserted = cur.rowcount
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # Django's deferred FK checks, before CREATE INDEX
            for _, index_def in indexes:
                cur.execute(index_def)
            # Local notes and tags (ours: a subquery and a join; the peer: select_related + prefetch).
            # 1 number in 20 has a tag, 1 in 60 a second one; 1 in 100 has a note.
            tags = [Tag.objects.create(name=name).pk for name in TAGS]
            through = Tag.numbers.through._meta.db_table
            cur.execute(f"INSERT INTO {through} (tag_id, phonenumber_id) "
                        "SELECT (%(tags)s::bigint[])[1 + (id %% 6)::int], id FROM inventory_phonenumber "
                        "WHERE id %% 20 = 0 UNION ALL "
                        "SELECT (%(tags)s::bigint[])[1 + ((id + 1 + (id / 60) %% 5) %% 6)::int], id "
                        "FROM inventory_phonenumber WHERE id %% 60 = 0", {"tags": tags})
            cur.execute(f"INSERT INTO {NumberNote._meta.db_table} (number_id, text, updated_at) "
                        "SELECT id, CASE id %% 3 WHEN 0 THEN '=cmd|'' /C calc''!A0' WHEN 1 THEN '-- do not port' "
                        "ELSE 'Ported from the legacy carrier, ticket ' || id END, now() "
                        "FROM inventory_phonenumber WHERE id %% 100 = 7", [])
    load_s = time.perf_counter() - t0
    with connection.cursor() as cur:
        cur.execute("VACUUM (ANALYZE) inventory_phonenumber")
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FILTER (WHERE removed_at IS NULL), count(*), "
                    "avg(pg_column_size(raw))::int, pg_total_relation_size('inventory_phonenumber') "
                    "FROM inventory_phonenumber")
        live, total, raw_avg, table_bytes = cur.fetchone()
        cur.execute("SELECT count(*) FILTER (WHERE description ~ '^[-=@+]'), count(*) FILTER (WHERE owner_id IS NOT NULL) "
                    "FROM inventory_phonenumber WHERE removed_at IS NULL")
        dangerous, owned = cur.fetchone()
        cur.execute(f"SELECT (SELECT count(*) FROM {Tag.numbers.through._meta.db_table}), "
                    f"(SELECT count(*) FROM {NumberNote._meta.db_table})")
        tagged, notes = cur.fetchone()
    if live != rows or total != inserted:
        raise RuntimeError(f"seeded {live} live / {total} rows, expected {rows} / {inserted}")
    accounts = {name: pk for (name, _, _), (_, pk, *_) in zip(ACCOUNTS, acct_rows)}
    return {"rows": rows, "removed_rows": total - live, "load_s": round(load_s, 1),
            "rows_per_s": round(total / load_s), "analyze_s": round(time.perf_counter() - t0 - load_s, 1),
            "raw_avg_bytes": raw_avg, "table_mb": mb(table_bytes), "descriptions_neutralised": dangerous,
            "with_owner": owned, "tag_links": tagged, "notes": notes, "indexes_rebuilt": len(indexes),
            "warm_account": accounts["Lab (warm-up)"],
            "subset_account": accounts["Voximplant APAC"]}


def warm_postgres() -> float:
    """One untimed pass over the joined rows, so neither measured export starts on a cold cache."""
    from django.db import connection

    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT sum(length(p::text) + length(coalesce(a.name, '')) + length(coalesce(t.name, '')) "
                    "+ length(coalesce(o.name, '')) + length(coalesce(l.name, ''))) "
                    "FROM inventory_phonenumber p JOIN inventory_provideraccount a ON a.id = p.account_id "
                    "LEFT JOIN inventory_trunk t ON t.id = p.trunk_id LEFT JOIN inventory_owner o ON o.id = p.owner_id "
                    "LEFT JOIN inventory_location l ON l.id = p.location_id")
        cur.fetchone()
        cur.execute("SELECT count(*) FROM (SELECT e164, id FROM inventory_phonenumber ORDER BY e164, id) x")
        cur.fetchone()
    return round(time.perf_counter() - t, 1)


# -- the measuring subprocess --------------------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


class _Sampler(threading.Thread):
    """Peak RSS of one request alone (ru_maxrss is the process's lifetime peak)."""

    def __init__(self, interval: float = 0.005):
        super().__init__(daemon=True)
        self.interval, self.peak, self._stop_event = interval, _rss_bytes(), threading.Event()

    def run(self):
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, _rss_bytes())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, _rss_bytes())


# Export paths that are not plain columns in ours (services.exports NUMBER_ANNOTATIONS and CHUNK_LOADERS), done the
# model-instance way: (select_related, prefetch_related, value from the instance).
PEER_ANNOTATIONS = {
    "tag_names": ((), ("tags",), lambda obj: ", ".join(sorted(t.name for t in obj.tags.all())) or None),
    "note_text": (("note",), (), lambda obj: getattr(getattr(obj, "note", None), "text", None)),
    "pool_summary": ((), ("poolmembership_set__numbergroup",), lambda obj: _pool_summary(obj)),
}


def _pool_summary(obj):
    from numbersadmin.inventory.selectors import _pool_entry

    members = sorted(obj.poolmembership_set.all(), key=lambda m: (m.numbergroup.name, m.pk))
    return "; ".join(_pool_entry(m.numbergroup.name, m.service, m.member_type, m.added_on) for m in members) or None


def _export_paths() -> dict[str, str]:
    """header -> export path of the numbers list ("all columns" of its list spec)."""
    from numbersadmin.inventory import lists

    return {f.header: f.path for f in lists.get_spec("numbers").fields}


def _model_path(path: str) -> bool:
    """A chain of single-valued relations ending in a concrete field of PhoneNumber."""
    from django.core.exceptions import FieldDoesNotExist

    from numbersadmin.inventory.models import PhoneNumber

    model = PhoneNumber
    for part in path.split("__"):
        if model is None:
            return False
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if field.many_to_many or field.one_to_many:
            return False
        model = field.related_model if field.is_relation else None
    return True


def peer_columns(header: list[str] | None) -> tuple[list[tuple[str, str]], bool]:
    """(header, path) for the header ours sent; NUMBER_COLUMNS (and False) when a header has no
    known path or a path is neither a model path nor in PEER_ANNOTATIONS."""
    known = _export_paths()
    if header and all(h in known and (known[h] in PEER_ANNOTATIONS or _model_path(known[h])) for h in header):
        return [(h, known[h]) for h in header], True
    fallback = [(h, p) for h, p in known.items() if p in PEER_ANNOTATIONS or _model_path(p)]
    return fallback, False


def _row_builder(columns):
    """The cells of one model instance: getattr along each dotted path (None-safe), neutralise()."""
    from numbersadmin.inventory.services.exports import neutralise

    def getter(path: str):
        if path in PEER_ANNOTATIONS:
            return PEER_ANNOTATIONS[path][2]
        parts = tuple(path.split("__"))

        def get(obj):
            for part in parts:
                obj = getattr(obj, part, None)  # None-safe; a missing reverse one-to-one is None too
                if obj is None:
                    return None
            return obj
        return get

    getters = [getter(path) for _, path in columns]
    return lambda obj: [neutralise(get(obj)) for get in getters]


def _peer_queryset(columns, account: str | None):
    from numbersadmin.inventory.models import PhoneNumber

    select = list(PEER_RELATED) + [r for _, p in columns if p in PEER_ANNOTATIONS for r in PEER_ANNOTATIONS[p][0]]
    prefetch = [r for _, p in columns if p in PEER_ANNOTATIONS for r in PEER_ANNOTATIONS[p][1]]
    qs = PhoneNumber.objects.select_related(*select).filter(removed_at__isnull=True)
    if prefetch:
        qs = qs.prefetch_related(*prefetch)
    if account:
        qs = qs.filter(account_id=int(account))
    return qs.order_by("e164", "pk")


def install_peer_views(columns, chunk_size: int) -> None:
    """Adds /bench/peer-export/ and /bench/naive-export/ in front of the project's URLconf, so both
    peers go through the same middleware, session and login as ours."""
    from django.conf import settings
    from django.http import HttpResponse, StreamingHttpResponse
    from django.urls import clear_url_caches, include, path

    from numbersadmin.inventory.services.exports import _Echo

    build = _row_builder(columns)
    header = [h for h, _ in columns]

    def peer_export(request):
        qs = _peer_queryset(columns, request.GET.get("account"))
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(header)
            buffer: list[str] = []
            for obj in qs.iterator(chunk_size=chunk_size):
                buffer.append(writer.writerow(build(obj)))
                if len(buffer) >= BATCH_ROWS:
                    yield "".join(buffer)
                    buffer.clear()
            if buffer:
                yield "".join(buffer)

        response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="numbers-peer.csv"'
        return response

    def naive_export(request):
        objects = list(_peer_queryset(columns, request.GET.get("account")))
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for obj in objects:
            writer.writerow(build(obj))
        response = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="numbers-naive.csv"'
        return response

    urlconf = types.ModuleType("bench_export_urls")
    urlconf.urlpatterns = [path(PEER_URL.strip("/") + "/", peer_export), path(NAIVE_URL.strip("/") + "/", naive_export),
                           path("", include(settings.ROOT_URLCONF))]
    sys.modules[urlconf.__name__] = urlconf
    settings.ROOT_URLCONF = urlconf.__name__
    clear_url_caches()


def consume(response, t0: float) -> dict:
    """Bytes, lines, manifest lines, header, CRC-32 of the data (everything after the header) and
    timings of one response, chunk by chunk; nothing is kept beyond the header line."""
    if response.status_code != 200:
        raise RuntimeError(f"export answered {response.status_code}: {getattr(response, 'content', b'')[:300]!r}")
    chunks = response.streaming_content if response.streaming else iter([response.content])
    size = lines = 0
    ttfb = first_row = None
    head = b""  # bytes up to the end of the header line (manifest lines, then the header)
    manifest: list[str] = []
    header_line: bytes | None = None
    crc = crc_unquoted = 0  # the second ignores CSV quoting and CR (COPY writes LF rows, csv.writer CRLF)
    data_bytes = crlf = 0
    for chunk in chunks:
        if not chunk:
            continue
        if ttfb is None:
            ttfb = time.perf_counter() - t0
        size += len(chunk)
        lines += chunk.count(b"\n")
        if header_line is None:
            head += chunk
            rest = b""
            while header_line is None and b"\n" in head:
                line, head = head.split(b"\n", 1)
                if line.startswith(MANIFEST_PREFIX):
                    manifest.append(line.decode("utf-8", "replace").rstrip("\r"))
                else:
                    header_line = line
                    rest, head = head, b""
            chunk = rest
        if header_line is not None and chunk:
            if first_row is None:
                first_row = time.perf_counter() - t0
            crc = zlib.crc32(chunk, crc)
            crc_unquoted = zlib.crc32(chunk.replace(b'"', b"").replace(b"\r", b""), crc_unquoted)
            crlf += chunk.count(b"\r\n")
            data_bytes += len(chunk)
    response.close()
    total = time.perf_counter() - t0
    header = next(csv.reader([header_line.decode("utf-8")])) if header_line is not None else []
    return {"total_s": round(total, 3), "ttfb_s": round(ttfb or total, 3), "first_row_s": round(first_row or total, 3),
            "bytes": size, "lines": lines, "manifest_lines": len(manifest), "manifest": manifest[:40],
            "header": header, "data_lines": lines - len(manifest) - (1 if header_line is not None else 0),
            "data_bytes": data_bytes, "data_crc32": f"{crc:08x}", "data_crc32_unquoted": f"{crc_unquoted:08x}",
            "data_crlf_lines": crlf}


def worker(cfg: dict) -> dict:
    """One mode, one measured request; runs in its own process."""
    with tempfile.TemporaryDirectory(prefix="na-perf-export-") as var_dir:
        setup_django(cfg["db_url"], var_dir, migrate=False)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        for name, value in (cfg.get("settings") or {}).items():
            setattr(settings, name, value)  # read by the view at request time
        if cfg["side"] == "copy":
            return copy_floor(cfg)
        columns, columns_match = peer_columns(cfg.get("header"))
        install_peer_views(columns, cfg["peer_chunk_size"])
        client = Client()
        client.force_login(get_user_model().objects.get(username=cfg["username"]))
        base = {"ours": OURS_URL, "peer": PEER_URL, "naive": NAIVE_URL}[cfg["side"]]
        sep = "&" if "?" in base else "?"
        url = base + (f"{sep}account={cfg['account']}" if cfg.get("account") else "")
        warm_url = base + f"{sep}account={cfg['warm_account']}"
        for _ in range(2):  # warm-up: imports, templates/middleware, first query, allocator arenas
            warm = consume(client.get(warm_url), time.perf_counter())
        if warm["data_lines"] != WARM_ROWS:
            raise RuntimeError(f"warm-up export of {warm_url} gave {warm['data_lines']} data lines, not {WARM_ROWS}")

        queries: list[str] = []

        def count(execute, sql, params, many, context):
            queries.append(sql[:200])
            return execute(sql, params, many, context)

        gc.collect()
        load_before = os.getloadavg()[0]
        rss_before, maxrss_before = _rss_bytes(), _maxrss_bytes()
        sampler = _Sampler()
        sampler.start()
        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            result = consume(client.get(url), t0)
        sampled_peak = sampler.stop()
        maxrss_after = _maxrss_bytes()
        # ru_maxrss is the process's lifetime peak: when this request did not raise it (setup or
        # the warm-up peaked higher), only the sampler knows the request's own peak.
        request_peak = max(sampled_peak, maxrss_after) if maxrss_after > maxrss_before else sampled_peak
        result.update({
            "side": cfg["side"], "url": url, "rss_before_mb": mb(rss_before), "peak_rss_mb": mb(maxrss_after),
            "peak_rss_before_request_mb": mb(maxrss_before), "rss_growth_mb": mb(request_peak - rss_before),
            "rss_growth_from": "ru_maxrss" if maxrss_after > maxrss_before and maxrss_after >= sampled_peak
            else "sampler",
            "sampled_peak_growth_mb": mb(sampled_peak - rss_before), "rss_after_mb": mb(_rss_bytes()),
            "queries": len(queries), "query_heads": [q[:120] for q in queries],
            "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "peer_columns_from_ours_header": columns_match if cfg["side"] != "ours" else None,
            "peer_chunk_size": cfg["peer_chunk_size"] if cfg["side"] == "peer" else None,
            "export_csv_copy": getattr(settings, "EXPORT_CSV_COPY", None) if cfg["side"] == "ours" else None,
            "settings": cfg.get("settings") or {},
        })
        connection.close()
        return result


def copy_floor(cfg: dict) -> dict:
    """The floor: the COPY statement ours sends for all columns (services.exports.copy_statement,
    same SELECT, same cells), read straight from psycopg with nothing else around it."""
    from django.db import connection
    from django.http import QueryDict

    from numbersadmin.inventory import lists

    spec = lists.get_spec("numbers")
    plan = lists.export_plan(spec, QueryDict(), visible=None, columns_mode="all", selected=None, notices=[])
    from numbersadmin.inventory.services.exports import copy_statement

    statement, params = copy_statement(plan.qs, plan.fields)
    size = lines = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(statement, params) as copy:  # warm-up: the same statement once
            for _data in copy:
                pass
        t0 = time.perf_counter()
        with cursor.cursor.copy(statement, params) as copy:
            for data in copy:
                size += len(data)
                lines += 1
        total = time.perf_counter() - t0
    connection.close()
    return {"side": "copy", "total_s": round(total, 3), "bytes": size, "data_lines": lines,
            "loadavg_1min": [round(os.getloadavg()[0], 2)] * 2}


def run_worker(cfg: dict) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(cfg)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=cfg.get("timeout", 7200))
    if proc.returncode != 0:
        raise RuntimeError(f"{cfg['side']} worker failed ({proc.returncode}); see stderr above")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------------
def _ratios(peer: dict, ours: dict) -> dict:
    return {"time": ratio(peer["total_s"], ours["total_s"]), "ttfb": ratio(peer["ttfb_s"], ours["ttfb_s"]),
            "first_row": ratio(peer["first_row_s"], ours["first_row_s"]),
            "peak_rss": ratio(peer["peak_rss_mb"], ours["peak_rss_mb"]),
            "rss_growth": ratio(peer["rss_growth_mb"], ours["rss_growth_mb"]) if ours["rss_growth_mb"] > 0 else None,
            "rss_growth_delta_mb": round(peer["rss_growth_mb"] - ours["rss_growth_mb"], 1)}


def markdown(report: dict) -> str:
    m, s, runs = report["meta"], report["seed"], report["runs"]
    out = [
        f"# numbersadmin CSV export benchmark ({m['started_at']})",
        "",
        f"PostgreSQL {m['postgres']} (shared_buffers {m['shared_buffers']}, work_mem {m['work_mem']}), "
        f"Python {m['python']}, Django {m['django']}, {m['cpus']} CPUs, {m['ram_gb']} GB RAM. "
        f"Total {m['elapsed_s']:.0f} s.",
        "",
        f"Seeded {s['rows']:,} live numbers (+{s['removed_rows']:,} removed, excluded by both) in {s['load_s']} s "
        f"({s['rows_per_s']:,} rows/s), VACUUM ANALYZE {s['analyze_s']} s; table {s['table_mb']:,} MB with indexes, "
        f"raw payload {s['raw_avg_bytes']} B/row (loaded by the peer, never by ours); {s['descriptions_neutralised']:,} descriptions start with - = @ +; "
        f"{s['with_owner']:,} numbers with an owner, {s['tag_links']:,} tag links, {s['notes']:,} notes.",
        "",
        "One subprocess per mode; test client, one measured request after a warm-up. Peak RSS = ru_maxrss of the "
        "process; RSS growth = the request's peak RSS (ru_maxrss, or a 5 ms RSS sampler when setup/warm-up had "
        "peaked higher) minus RSS just before the request.",
        "",
        "| Mode | Rows | Time s | TTFB s | First row s | MB | Peak RSS MB | RSS growth MB "
        "| Time peer/ours | Peak RSS peer/ours | RSS growth peer/ours |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    copy = runs["ours"].get("export_csv_copy")
    labels = {
        "ours": f"ours: `{OURS_URL}`" + (" (EXPORT_CSV_COPY on: PostgreSQL COPY)" if copy else ""),
        "ours_python": "ours, Python path (EXPORT_CSV_COPY=False: values_list + neutralise)",
        "peer": f"peer: model-instance streaming (select_related, iterator({m['peer_chunk_size']}))",
        "ours_subset": "ours: same, `&account=<~10 % account>`",
        "naive_subset": "naive: `list(qs)` → HttpResponse, same account",
    }
    for key, pair in (("ours", None), ("ours_python", None), ("peer", "peer_vs_ours"), ("ours_subset", None),
                      ("naive_subset", "naive_vs_ours_subset")):
        if key not in runs:
            continue
        r = runs[key]
        rat = report["ratios"].get(pair) if pair else None
        cells = (f"{rat['time']}×", f"{rat['peak_rss']}×",
                 f"{rat['rss_growth']}×" if rat["rss_growth"] is not None else f"+{rat['rss_growth_delta_mb']} MB") \
            if rat else ("—", "—", "—")
        out.append(f"| {labels[key]} | {r['data_lines']:,} | {r['total_s']:.2f} | {r['ttfb_s']:.3f} "
                   f"| {r['first_row_s']:.2f} | {r['bytes'] / 2**20:,.0f} | {r['peak_rss_mb']:,.0f} "
                   f"| {r['rss_growth_mb']:,.1f} | {' | '.join(cells)} |")
    checks = report["checks"]
    ours = runs["ours"]
    if "copy" in runs:
        out += ["", f"Floor: the bare `COPY (same SELECT) TO STDOUT` read by psycopg, nothing else: {runs['copy']['total_s']:.2f} s "
                f"for {runs['copy']['data_lines']:,} rows; ours through the web view is {report['ratios']['ours_vs_copy']}× "
                "that (goal: within 2×)."]
    if "naive_subset" in runs and runs["naive_subset"]["data_lines"]:
        naive = runs["naive_subset"]
        scale = ours["data_lines"] / naive["data_lines"]
        growth = naive["rss_growth_mb"] * scale
        growth_text = f"{growth / 1024:,.1f} GB" if growth >= 1024 else f"{growth:,.0f} MB"
        out += ["", f"Naive at {ours['data_lines']:,} rows, linear estimate: ~{growth_text} growth, "
                f"~{naive['total_s'] * scale:,.0f} s with nothing sent until the end."]
    if "peer_vs_ours_python" in report["ratios"]:
        rp = report["ratios"]["peer_vs_ours_python"]
        out += ["", f"Peer vs ours' Python path: time {rp['time']}×, peak RSS {rp['peak_rss']}×, RSS growth "
                + (f"{rp['rss_growth']}×." if rp["rss_growth"] is not None else f"+{rp['rss_growth_delta_mb']} MB.")]
    out += [
        "",
        f"- Same data lines: {'yes' if checks['same_data_lines'] else 'NO'}; identical data bytes (CRC-32 after "
        f"the header): {'yes' if checks['identical_data'] else 'no'}, identical ignoring CSV quoting and CR: "
        f"{'yes' if checks['identical_data_ignoring_quotes_and_cr'] else 'NO'}; data lines ending CRLF: ours "
        f"{ours['data_crlf_lines']:,}, peer {runs['peer']['data_crlf_lines']:,}; columns ours {len(ours['header'])}, "
        f"peer {len(runs['peer']['header'])} (peer columns taken from ours' header: "
        f"{'yes' if runs['peer']['peer_columns_from_ours_header'] else 'no, NUMBER_COLUMNS'}); "
        f"manifest lines before ours' header: {ours['manifest_lines']}.",
        f"- Queries through Django's cursor during the request: ours {ours['queries']}, peer {runs['peer']['queries']} "
        "(server-side cursor FETCHes not counted).",
        "- 1-min load average before/after each request: "
        + ", ".join(f"{k} {r['loadavg_1min'][0]}/{r['loadavg_1min'][1]}" for k, r in runs.items())
        + f" ({m['cpus']} CPUs; other work on the machine inflates times, not memory)."
        + ("" if checks["product_code_unchanged_during_run"]
           else " **The export's code changed during this run: modes may have measured different code.**"),
        f"- Web-process growth for ours at {ours['data_lines']:,} rows: {ours['rss_growth_mb']:.1f} MB "
        f"(sampled peak of this request: +{ours['sampled_peak_growth_mb']:.1f} MB); target ≤ ~100 MB: "
        f"{'met' if checks['ours_growth_within_100mb'] else 'NOT met'}.",
        "- First row ≈ the whole query on both sides: outside a transaction Django declares its server-side "
        "cursor WITH HOLD, and PostgreSQL materialises a held cursor's full result before the first FETCH.",
        "- Peer: same columns, same neutralise(), same csv.writer and 500-row batches, so only row building "
        "differs (model instances: six relations plus the note through select_related, tags through "
        "prefetch_related per chunk, every column loaded, vs values_list tuples). "
        "NetBox's stream_table_csv_response uses chunk_size 1000, yields per row and builds cells through "
        "django-tables2, so this peer is the cheaper end of that approach.",
        "",
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="live numbers to seed and export")
    parser.add_argument("--naive", choices=("auto", "on", "off"), default="auto",
                        help="also run the naive list(qs) export on the ~10%% account, beside ours on that account "
                             "(auto: when that account holds <= 150,000 rows; it can take GBs)")
    parser.add_argument("--peer-chunk-size", type=int, default=2000, help="iterator(chunk_size=) of the peer")
    parser.add_argument("--json", default=str(ROOT / "test-artifacts" / "bench_export.json"), help="where to write JSON")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATION_DATABASE_URL", ""),
                        help="PostgreSQL URL of a role that may CREATE DATABASE (default: $INTEGRATION_DATABASE_URL)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    if not args.database_url:
        parser.error("set INTEGRATION_DATABASE_URL (or --database-url) to a PostgreSQL server")
    if args.rows < 20 * WARM_ROWS:
        parser.error(f"need --rows >= {20 * WARM_ROWS}")
    naive = args.naive == "on" or (args.naive == "auto" and args.rows // SUBSET_SHARE <= 150_000)

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    mtimes_start = product_mtimes()
    with throwaway_django(args.database_url) as db_url:
        import django
        from django.contrib.auth import get_user_model
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            pg_version = cur.fetchone()[0]
            cur.execute("SHOW shared_buffers")
            shared_buffers = cur.fetchone()[0]
            cur.execute("SHOW work_mem")
            work_mem = cur.fetchone()[0]
        log(f"seeding {args.rows:,} numbers")
        seeded = seed(args.rows)
        log(f"seeded in {seeded['load_s']} s ({seeded['rows_per_s']:,} rows/s), VACUUM ANALYZE {seeded['analyze_s']} s")
        username = "bench-export"
        get_user_model().objects.create_superuser(username, "bench@example.com", "x" * 24)
        from django.conf import settings

        has_copy = hasattr(settings, "EXPORT_CSV_COPY")
        log(f"warming PostgreSQL caches ({warm_postgres()} s)")
        connection.close()

        cfg = {"db_url": db_url, "username": username, "warm_account": seeded["warm_account"],
               "peer_chunk_size": args.peer_chunk_size}
        runs: dict[str, dict] = {}
        plan = [("ours", "ours", None, {})]
        if has_copy:  # ours has a PostgreSQL COPY path: measure its Python path too
            plan.append(("ours_python", "ours", None, {"EXPORT_CSV_COPY": False}))
        plan.append(("peer", "peer", None, {}))
        if naive:
            plan += [("ours_subset", "ours", seeded["subset_account"], {}),
                     ("naive_subset", "naive", seeded["subset_account"], {})]
        if has_copy:  # the floor: the bare COPY of the same SELECT
            runs["copy"] = run_worker({**cfg, "side": "copy"})
            log(f"copy floor: {runs['copy']['data_lines']:,} rows, {runs['copy']['total_s']:.2f} s")
        for key, side, account, overrides in plan:
            log(f"{key}: exporting")
            run_cfg = {**cfg, "side": side, "account": account, "settings": overrides,
                       "header": runs["ours"]["header"] if side != "ours" else None}
            runs[key] = run_worker(run_cfg)
            r = runs[key]
            log(f"{key}: {r['data_lines']:,} rows, {r['total_s']:.2f} s (first byte {r['ttfb_s']:.3f} s, "
                f"first row {r['first_row_s']:.2f} s), peak RSS {r['peak_rss_mb']:.0f} MB, "
                f"growth {r['rss_growth_mb']:.1f} MB")
        if not runs["peer"]["peer_columns_from_ours_header"]:
            log("WARNING: ours' header could not be mapped to export paths; the peer exported NUMBER_COLUMNS")
        ratios = {"peer_vs_ours": _ratios(runs["peer"], runs["ours"])}
        if "copy" in runs:  # goal: ours within 2x of the bare COPY
            ratios["ours_vs_copy"] = ratio(runs["ours"]["total_s"], runs["copy"]["total_s"])
        if "ours_python" in runs:
            ratios["peer_vs_ours_python"] = _ratios(runs["peer"], runs["ours_python"])
        if "naive_subset" in runs:
            ratios["naive_vs_ours_subset"] = _ratios(runs["naive_subset"], runs["ours_subset"])
        checks = {
            "same_data_lines": runs["ours"]["data_lines"] == runs["peer"]["data_lines"] == args.rows
            and runs.get("ours_python", runs["ours"])["data_lines"] == args.rows
            and ("naive_subset" not in runs or runs["naive_subset"]["data_lines"] == runs["ours_subset"]["data_lines"]),
            "identical_data": runs["ours"]["data_crc32"] == runs["peer"]["data_crc32"]
            and runs["ours"]["data_bytes"] == runs["peer"]["data_bytes"],
            "identical_data_ignoring_quotes_and_cr": all(runs[k]["data_crc32_unquoted"] == runs["peer"]["data_crc32_unquoted"]
                                                  for k in ("ours", "ours_python") if k in runs),
            "ours_growth_within_100mb": runs["ours"]["rss_growth_mb"] <= 100,
            "product_code_unchanged_during_run": product_mtimes() == mtimes_start,
        }
        if not checks["product_code_unchanged_during_run"]:
            log("WARNING: the export's code changed while the benchmark ran; modes may have run different code")
        if not checks["identical_data_ignoring_quotes_and_cr"]:
            log("WARNING: ours and peer data differ beyond CSV quoting (columns or cell formatting differ)")
        report = {
            "meta": {"started_at": started_at, "postgres": pg_version, "shared_buffers": shared_buffers,
                     "work_mem": work_mem, "python": platform.python_version(), "django": django.get_version(),
                     "cpus": os.cpu_count(), "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                     "peer_chunk_size": args.peer_chunk_size, "ours_url": OURS_URL,
                     "product_mtimes": mtimes_start, "loadavg_start": [round(x, 2) for x in os.getloadavg()],
                     "args": vars(args) | {"database_url": None, "worker": None},
                     "elapsed_s": round(time.perf_counter() - started, 1)},
            "seed": seeded,
            "runs": runs,
            "ratios": ratios,
            "checks": checks,
        }
    write_report(report, args.json, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

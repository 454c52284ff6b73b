"""Opt-in benchmark: ``/api/v1/numbers/?limit=1000`` beside a DRF ModelViewSet, and 1,000 rows serialized three ways.

    .venv/bin/python tests/perf/bench_api.py [--numbers 1000000] [--runs 7] [--ser-runs 15]

Needs PostgreSQL: INTEGRATION_DATABASE_URL (a role that may CREATE DATABASE). A throwaway
database is created, migrated, seeded with ``--numbers`` live numbers (plus 0.5 % removed ones,
which neither side may return) by bench_export.seed (one INSERT ... SELECT; tags and notes
included), measured and dropped. 1,000,000 numbers take about 1.5 minutes to seed and index on
2 CPUs and the whole run about 5 minutes (the peer's deep page alone is ~10 s a request);
``--numbers 200000`` for a quicker run. Output: a
Markdown report on stdout (progress on stderr), JSON in test-artifacts/bench_api.json. Nothing
here asserts on time (docs/reference/PERFORMANCE.md: ratios against a named peer).

1. API page. Ours: ``GET /api/v1/numbers/?limit=1000`` (the ListSpec endpoint: keyset paging,
   planner count estimate, rows from ``values_list`` along the export field paths), first page and
   a keyset cursor at ~90 % depth (crafted for the row before that page, as a ``next`` link
   would carry it, and checked against the peer). Peer (the usual approach): a DRF
   ``ModelSerializer`` for PhoneNumber with the same 35 output keys (FK names through
   ``select_related``, the note through ``select_related("note")``, tags through
   ``prefetch_related``), a ``ReadOnlyModelViewSet`` with ``PageNumberPagination(page_size=1000)``
   ordered by (e164, pk), loading whole rows as such a queryset usually does (ours defers the
   provider payload ``raw``; its average size is in the report), mounted with a router at ``/peer/numbers/`` on a URLconf that also
   includes the project's (same middleware, session auth, permission and throttle classes).
   ``?page=1`` and ``?page=<same depth>``; both sides must return the same e164s in the same
   order. Django test client (in-process, so only server work is measured), ``force_login``,
   2 untimed warm-ups per view, then ``--runs`` rounds interleaved; median ms, and from one
   extra captured request per view: query count, SQL ms and response bytes.
2. Serializing 1,000 numbers (the library choice: DRF vs django-ninja vs our own path). The
   first page's 1,000 rows: (a) DRF ``ModelSerializer(objs, many=True).data`` (the serializer of
   part 1), (b) a django-ninja ``Schema`` with the same fields (dotted aliases for FK names,
   resolvers for tags), ``model_validate(obj).model_dump(mode="json")`` per row, skipped with a
   note when django-ninja is not installed (it is not a project requirement), (c) ours,
   ``api.lists.rows(qs, ids, fields)``. Timed two ways: fetch + serialize (the peers'
   ``list(queryset)`` with select_related/prefetch_related; ours' own values_list query) and
   serialize only (instances / value tuples already fetched). Median of ``--ser-runs``,
   interleaved; the three outputs are checked to carry the same values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import types
from decimal import Decimal  # noqa: F401 (the ninja Schema's annotations are resolved in this module)
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, ratio, throwaway_django, write_report  # noqa: E402
from bench_export import seed, warm_postgres  # noqa: E402

PAGE = 1000  # ours: ?limit=1000 (MAX_LIMIT); the peer's page_size
OURS_URL = "/api/v1/numbers/"
PEER_URL = "/peer/numbers/"
RELATED = ("account", "owner", "trunk", "trunk_group", "location", "number_group", "note")


def log(msg: str) -> None:
    print(f"[bench_api {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the peers -----------------------------------------------------------------------------------
def peer_queryset():
    from numbersadmin.inventory.models import PhoneNumber

    return (PhoneNumber.objects.filter(removed_at__isnull=True).select_related(*RELATED)
            .prefetch_related("tags").order_by("e164", "pk"))


def _tags(obj) -> str | None:
    return ", ".join(sorted(t.name for t in obj.tags.all())) or None  # ours: "a, b", null if none


def drf_serializer():
    from rest_framework import serializers

    from numbersadmin.inventory.models import PhoneNumber

    class NumberSerializer(serializers.ModelSerializer):
        valid = serializers.BooleanField(source="is_valid", read_only=True)
        account = serializers.CharField(source="account.name", read_only=True, default=None)
        provider_status = serializers.CharField(source="raw_status", read_only=True)
        owner = serializers.CharField(source="owner.name", read_only=True, default=None)
        owner_type = serializers.CharField(source="owner.owner_type", read_only=True, default=None)
        trunk = serializers.CharField(source="trunk.name", read_only=True, default=None)
        trunk_group = serializers.CharField(source="trunk_group.name", read_only=True, default=None)
        account_last_sync = serializers.DateTimeField(source="account.last_success_at", read_only=True, default=None)
        location = serializers.CharField(source="location.name", read_only=True, default=None)
        main_number = serializers.BooleanField(source="is_main_number", read_only=True)
        did_group = serializers.CharField(source="number_group.name", read_only=True, default=None)
        tags = serializers.SerializerMethodField()
        note = serializers.CharField(source="note.text", read_only=True, default=None)

        class Meta:
            model = PhoneNumber
            fields = ["id", "e164", "number_raw", "valid", "provider", "account", "country", "region", "city", "kind",
                      "status", "provider_status", "missing_since", "voice", "sms", "mms", "monthly_cost", "currency",
                      "expires_at", "owner", "owner_type", "trunk", "trunk_group", "description",
                      "account_last_sync", "location", "main_number", "did_group", "application", "extension",
                      "acquired_at", "first_seen", "removed_at", "tags", "note"]

        def get_tags(self, obj):
            return _tags(obj)

    return NumberSerializer


def ninja_schema():
    """The same fields as a django-ninja Schema, or None when django-ninja is not installed."""
    try:
        import ninja
        from ninja import Field, Schema
    except ImportError:
        return None, None

    class NumberSchema(Schema):  # nullable like the model columns may be
        id: int
        e164: str | None = None
        number_raw: str | None = None
        valid: bool | None = Field(None, alias="is_valid")
        provider: str | None = None
        account: str | None = Field(None, alias="account.name")
        country: str | None = None
        region: str | None = None
        city: str | None = None
        kind: str | None = None
        status: str | None = None
        provider_status: str | None = Field(None, alias="raw_status")
        missing_since: dt.datetime | None = None
        voice: bool | None = None
        sms: bool | None = None
        mms: bool | None = None
        monthly_cost: Decimal | None = None
        currency: str | None = None
        expires_at: dt.datetime | None = None
        owner: str | None = Field(None, alias="owner.name")
        owner_type: str | None = Field(None, alias="owner.owner_type")
        trunk: str | None = Field(None, alias="trunk.name")
        trunk_group: str | None = Field(None, alias="trunk_group.name")
        description: str | None = None
        account_last_sync: dt.datetime | None = Field(None, alias="account.last_success_at")
        location: str | None = Field(None, alias="location.name")
        main_number: bool | None = Field(None, alias="is_main_number")
        did_group: str | None = Field(None, alias="number_group.name")
        application: str | None = None
        extension: str | None = None
        acquired_at: dt.datetime | None = None
        first_seen: dt.datetime | None = None
        removed_at: dt.datetime | None = None
        tags: str | None = None
        note: str | None = Field(None, alias="note.text")

        @staticmethod
        def resolve_tags(obj):
            return _tags(obj)

    return NumberSchema, ninja.__version__


def install_peer():
    """/peer/numbers/ (DRF router) in front of the project's URLconf; returns the URLconf's name."""
    from django.conf import settings
    from django.urls import include, path
    from rest_framework import pagination, routers, viewsets

    class PeerPagination(pagination.PageNumberPagination):
        page_size = PAGE

    class PeerNumbers(viewsets.ReadOnlyModelViewSet):
        serializer_class = drf_serializer()
        pagination_class = PeerPagination
        queryset = peer_queryset()

    router = routers.SimpleRouter()
    router.register("numbers", PeerNumbers, basename="peer-numbers")
    urlconf = types.ModuleType("bench_api_urls")
    urlconf.urlpatterns = [path("peer/", include(router.urls)), path("", include(settings.ROOT_URLCONF))]
    sys.modules[urlconf.__name__] = urlconf
    return urlconf.__name__


# -- 1. the API page -----------------------------------------------------------------------------
def bench_page(n: int, runs: int, client) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from numbersadmin.inventory.pagination import _encode

    # Deep: peer ?page=<deep_page> shows rows (deep_page-1)*1000+1 ..; our cursor names the row just
    # before them (direction "n"), as the next link of the page before would.
    deep_page = max(2, int(n * 0.9) // PAGE)
    boundary_pos = (deep_page - 1) * PAGE
    ordered = peer_queryset().prefetch_related(None).select_related(None)
    b_e164, b_id = ordered.values_list("e164", "id")[boundary_pos - 1]
    cursor = _encode({"v": b_e164, "i": b_id, "d": "n", "p": boundary_pos})
    views = [  # (name, side, url, peer view)
        ("ours: page 1", "ours", f"{OURS_URL}?limit={PAGE}", "peer: ?page=1"),
        (f"ours: row {boundary_pos + 1:,} (keyset cursor)", "ours", f"{OURS_URL}?limit={PAGE}&cursor={cursor}",
         f"peer: ?page={deep_page}"),
        ("peer: ?page=1", "peer", f"{PEER_URL}?page=1", None),
        (f"peer: ?page={deep_page}", "peer", f"{PEER_URL}?page={deep_page}", None),
    ]

    def get(url):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} -> {response.status_code}: {response.content[:300]!r}")
        return response

    # Sanity (and warm-up): full pages, the same rows in the same order on both sides.
    e164s = {}
    for name, _, url, _ in views:
        for _ in range(2):
            data = get(url).json()
        e164s[name] = [r["e164"] for r in data["results"]]
        if len(e164s[name]) != PAGE:
            raise RuntimeError(f"{name}: {len(e164s[name])} rows")
    for name, _, _, peer in views:
        if peer and e164s[name] != e164s[peer]:
            raise RuntimeError(f"{name} and {peer} return different rows")
    keys = {side: sorted(get(url).json()["results"][0]) for _, side, url, _ in views[1:3]}
    if keys["ours"] != keys["peer"]:
        raise RuntimeError(f"ours and the peer return different keys: {keys}")

    times: dict[str, list[float]] = {v[0]: [] for v in views}
    for i in range(runs):  # interleaved: each round times every view once
        for name, _, url, _ in views:
            t = time.perf_counter()
            get(url)
            times[name].append((time.perf_counter() - t) * 1000)
        log(f"page: round {i + 1}/{runs} " + ", ".join(f"{k} {v[-1]:.0f} ms" for k, v in times.items()))
    rows = []
    for name, side, url, peer in views:
        with CaptureQueriesContext(connection) as ctx:
            body = get(url).content
        rows.append({
            "view": name, "side": side, "url": url, "peer": peer,
            "median_ms": round(statistics.median(times[name]), 1),
            "min_ms": round(min(times[name]), 1), "max_ms": round(max(times[name]), 1),
            "queries": len(ctx.captured_queries),
            "sql_ms": round(sum(float(q["time"]) for q in ctx.captured_queries) * 1000, 1),
            "bytes": len(body), "runs_ms": [round(t, 1) for t in times[name]],
        })
    by_name = {r["view"]: r for r in rows}
    for r in rows:
        r["ratio_peer_over_ours"] = ratio(by_name[r["peer"]]["median_ms"], r["median_ms"]) if r["peer"] else None
    return {"numbers": n, "runs": runs, "page_size": PAGE, "deep_row": boundary_pos + 1, "deep_peer_page": deep_page,
            "keys": len(keys["ours"]), "views": rows}


# -- 2. serializing 1,000 numbers ----------------------------------------------------------------
def bench_serialize(runs: int) -> dict:
    from django.http import QueryDict

    from numbersadmin.inventory.api import lists as api_lists
    from numbersadmin.inventory.lists import LISTS
    from numbersadmin.inventory.services import exports

    spec = LISTS["numbers"]
    fields = spec.fields
    ours_qs = spec.filterset(QueryDict()).qs
    ids = list(peer_queryset().values_list("pk", flat=True)[:PAGE])
    serializer_cls = drf_serializer()
    schema_cls, ninja_version = ninja_schema()

    def fetch():
        objs = {o.pk: o for o in peer_queryset().filter(pk__in=ids)}
        return [objs[pk] for pk in ids]

    def drf(objs):
        return serializer_cls(objs, many=True).data

    def ninja(objs):
        return [schema_cls.model_validate(o).model_dump(mode="json") for o in objs]

    columns = [api_lists.ID, *fields]

    def ours_fetch():  # the first half of api.lists.rows
        return list(exports.iter_rows(exports.with_annotations(ours_qs.filter(pk__in=ids).order_by(), fields), columns))

    def ours_build(tuples):  # the second half
        found = {row[0]: row for row in tuples}
        return [{f.header: api_lists._json(v) for f, v in zip(columns, found[pk])} for pk in ids if pk in found]

    cases = {  # name -> (fetch + serialize, serialize only)
        "drf": (lambda: drf(fetch()), (fetch, drf)),
        "ours": (lambda: api_lists.rows(ours_qs, ids, fields), (ours_fetch, ours_build)),
    }
    if schema_cls is not None:
        cases["ninja"] = (lambda: ninja(fetch()), (fetch, ninja))

    # Same values from every path (ours' datetimes are isoformat, DRF's end in Z, pydantic's too).
    def norm(rows):
        out = []
        for r in rows:
            item = {}
            for k, v in r.items():
                if isinstance(v, str) and len(v) > 19 and v[10:11] == "T":
                    v = dt.datetime.fromisoformat(v.replace("Z", "+00:00")).astimezone(dt.timezone.utc)
                item[k] = v
            out.append(item)
        return out

    outputs = {name: norm(full()) for name, (full, _) in cases.items()}
    for name, rows in outputs.items():
        if len(rows) != len(ids):
            raise RuntimeError(f"serialize: {name} gave {len(rows)} rows")
        if rows != outputs["ours"]:
            diff = next((i, k, r[k], outputs["ours"][i].get(k)) for i, r in enumerate(rows)
                        for k in r if r[k] != outputs["ours"][i].get(k)) if len(rows[0]) == len(outputs["ours"][0]) \
                else sorted(set(rows[0]) ^ set(outputs["ours"][0]))
            raise RuntimeError(f"serialize: {name} differs from ours: {diff}")

    full_t = {name: [] for name in cases}
    only_t = {name: [] for name in cases}
    for _ in range(runs):
        for name, (full, (pre, build)) in cases.items():
            t = time.perf_counter()
            full()
            full_t[name].append((time.perf_counter() - t) * 1000)
            fetched = pre()
            t = time.perf_counter()
            build(fetched)
            only_t[name].append((time.perf_counter() - t) * 1000)
    result = {"rows": len(ids), "fields": len(columns), "runs": runs, "ninja": ninja_version,
              "ninja_skipped": None if schema_cls else "django-ninja is not installed (pip install django-ninja)",
              "sides": {}}
    for name in cases:
        result["sides"][name] = {"fetch_and_serialize_ms": round(statistics.median(full_t[name]), 1),
                                 "serialize_only_ms": round(statistics.median(only_t[name]), 1)}
    ours = result["sides"]["ours"]
    for name, side in result["sides"].items():
        side["ratio_over_ours_fetch_and_serialize"] = ratio(side["fetch_and_serialize_ms"],
                                                            ours["fetch_and_serialize_ms"])
        side["ratio_over_ours_serialize_only"] = ratio(side["serialize_only_ms"], ours["serialize_only_ms"])
    return result


# -- report --------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    m, p, s = report["meta"], report["page"], report["serialize"]
    out = [
        f"# numbersadmin API benchmark ({m['started_at']})",
        "",
        f"PostgreSQL {m['postgres']}, Python {m['python']}, Django {m['django']}, DRF {m['drf']}, "
        f"{m['cpus']} CPUs. Seeded {p['numbers']:,} numbers in {report['seed']['load_s']} s "
        f"(+ VACUUM ANALYZE {report['seed']['analyze_s']} s). Total {m['elapsed_s']:.0f} s.",
        "",
        f"## API page: {p['page_size']:,} rows of {p['numbers']:,}, median of {p['runs']} warm runs (test client)",
        "",
        f"Ours = `{OURS_URL}?limit={p['page_size']}` (keyset). Peer = DRF `ReadOnlyModelViewSet` + "
        f"`ModelSerializer` ({p['keys']} keys, select_related/prefetch_related) + "
        f"`PageNumberPagination(page_size={p['page_size']})`. Deep = row {p['deep_row']:,} "
        f"(peer `?page={p['deep_peer_page']}`, ours a keyset cursor to the same rows); both sides return the "
        f"same rows. The peer loads whole rows (`raw` not deferred: {report['seed']['raw_avg_bytes']} bytes on "
        "average here); ours defers it.",
        "",
        "| View | Median ms | SQL ms | Queries | KiB | Peer/ours |",
        "|---|---|---|---|---|---|",
    ]
    for v in p["views"]:
        rat = f"{v['ratio_peer_over_ours']}×" if v["ratio_peer_over_ours"] is not None else "—"
        out.append(f"| {v['view']} | {v['median_ms']:.1f} | {v['sql_ms']:.1f} | {v['queries']} "
                   f"| {v['bytes'] / 1024:.0f} | {rat} |")
    out += [
        "",
        f"## Serializing {s['rows']:,} numbers ({s['fields']} fields), median of {s['runs']} runs",
        "",
        "Fetch + serialize: the peers' queryset (select_related + prefetch_related tags) then the library; "
        "ours `api.lists.rows()` (values_list + dicts). Serialize only: instances (ours: value tuples) "
        "already fetched. Output: JSON-ready Python objects, checked equal across the three.",
        "",
        "| Path | Fetch + serialize ms | ×ours | Serialize only ms | ×ours |",
        "|---|---|---|---|---|",
    ]
    labels = {"drf": "DRF `ModelSerializer(many=True).data`",
              "ninja": f"django-ninja {s['ninja']} `Schema.model_validate().model_dump(mode='json')`",
              "ours": "ours `api.lists.rows()`"}
    for name, side in s["sides"].items():
        out.append(f"| {labels[name]} | {side['fetch_and_serialize_ms']:.1f} "
                   f"| {side['ratio_over_ours_fetch_and_serialize']}× | {side['serialize_only_ms']:.1f} "
                   f"| {side['ratio_over_ours_serialize_only']}× |")
    if s["ninja_skipped"]:
        out += ["", f"django-ninja skipped: {s['ninja_skipped']}."]
    out.append("")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=1_000_000, help="live numbers to seed")
    parser.add_argument("--runs", type=int, default=7, help="warm runs per API view (median reported)")
    parser.add_argument("--ser-runs", type=int, default=15, help="runs per serialization path (median reported)")
    parser.add_argument("--json", default=str(ROOT / "test-artifacts" / "bench_api.json"), help="where to write JSON")
    parser.add_argument("--database-url", default=os.environ.get("INTEGRATION_DATABASE_URL", ""),
                        help="PostgreSQL URL of a role that may CREATE DATABASE (default: $INTEGRATION_DATABASE_URL)")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set INTEGRATION_DATABASE_URL (or --database-url) to a PostgreSQL server")
    if args.numbers < 2 * PAGE or args.runs < 1 or args.ser_runs < 1:
        parser.error(f"need --numbers >= {2 * PAGE} and positive --runs/--ser-runs")

    started = time.perf_counter()
    started_at = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with throwaway_django(args.database_url):
        import django
        import rest_framework
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client, override_settings

        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            pg_version = cur.fetchone()[0]
        log(f"seeding {args.numbers:,} numbers")
        seeded = seed(args.numbers)
        log(f"seeded in {seeded['load_s']} s ({seeded['rows_per_s']:,} rows/s), VACUUM ANALYZE {seeded['analyze_s']} s")
        log(f"warming PostgreSQL caches ({warm_postgres()} s)")
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "x-" + os.urandom(8).hex())
        with override_settings(ROOT_URLCONF=install_peer()):
            client = Client()
            client.force_login(user)
            page = bench_page(args.numbers, args.runs, client)
        log("serializing 1,000 numbers three ways")
        serialize = bench_serialize(args.ser_runs)
        report = {
            "meta": {"started_at": started_at, "postgres": pg_version, "python": platform.python_version(),
                     "django": django.get_version(), "drf": rest_framework.__version__, "cpus": os.cpu_count(),
                     "args": vars(args) | {"database_url": None}, "elapsed_s": round(time.perf_counter() - started, 1)},
            "seed": seeded,
            "page": page,
            "serialize": serialize,
        }
        connection.close()
    write_report(report, args.json, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

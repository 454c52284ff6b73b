"""Recorded DIDWW responses (official SDK test suites) synced through the real CLI over loopback.

add_account -> sync -> export, in-process via call_command; expectations are computed from the
recorded resources themselves (tests/support/recorded_didww.py serves them), never from our
adapter's mapping code.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter

import phonenumbers
import pytest
from django.core.management import call_command

from .support.recorded_didww import FIXTURE_DIR, RecordedDidwwServer
from .support.helpers import export_rows

pytestmark = pytest.mark.django_db(transaction=True)

API_KEY = "rec-key-5f1e0c7a9b"
SANDBOX = "https://sandbox-api.didww.com/v3"


# -- hand-made documents in the recorded wire shape ("others like them") -----------------------
def rel(owner: dict, name: str, *data) -> dict:
    """A relationship as recorded: always links; ``data`` only when it was included."""
    base = f"{SANDBOX}/{owner['type']}/{owner['id']}"
    out = {"links": {"self": f"{base}/relationships/{name}", "related": f"{base}/{name}"}}
    if data:
        out["data"] = data[0]
    return out


def ref(res: dict | None) -> dict | None:
    return {"type": res["type"], "id": res["id"]} if res else None


def res(type_: str, id_: str, attributes: dict, **rels) -> dict:
    out = {"id": id_, "type": type_, "attributes": attributes}
    out["relationships"] = {name: rel(out, name, *data) for name, data in rels.items()}
    return out


def did_group(id_, prefix, area_name, features, country, city, region, group_type):
    group = res("did_groups", id_, {"prefix": prefix, "features": features, "is_metered": False,
                                    "area_name": area_name, "allow_additional_channels": True},
                country=(ref(country),), city=(ref(city),), did_group_type=(ref(group_type),),
                region=(ref(region),), stock_keeping_units=())
    group["links"] = {"self": f"{SANDBOX}/did_groups/{id_}"}
    return group


def did(id_, number, group, trunk=None, trunk_group=None, description=None):
    attrs = {"blocked": False, "capacity_limit": 2, "description": description, "terminated": False,
             "awaiting_registration": False, "created_at": "2026-03-02T10:15:00.000Z", "number": number,
             "expires_at": "2026-04-02T10:15:00.000Z", "channels_included_count": 2,
             "billing_cycles_count": None, "dedicated_channels_count": 0}
    return res("dids", id_, attrs, did_group=(ref(group),), order=(), voice_in_trunk=(ref(trunk),),
               voice_in_trunk_group=(ref(trunk_group),), capacity_pool=(), shared_capacity_group=())


def recorded_included(filename: str, type_: str) -> dict:
    doc = json.loads((FIXTURE_DIR / filename).read_text(encoding="utf-8"))
    return next(r for r in doc["included"] if r["type"] == type_)


def extra_documents() -> list[dict]:
    pstn_trunk = recorded_included("go_did_show_include_voice_in_trunk.json", "voice_in_trunks")
    trunk_group = recorded_included("go_did_show_include_voice_in_trunk_group.json", "voice_in_trunk_groups")
    local = res("did_group_types", "a0cfd563-ebb0-4492-b046-74ab4609f9cb", {"name": "Local"})

    de = res("countries", "1f6fc2bd-f081-4202-9b1a-d9cb88d942b9", {"name": "Germany", "prefix": "49", "iso": "DE"})
    be = res("regions", "3c5a8f7e-4b0d-4c56-9a53-0d2e6b1f8a01", {"name": "Berlin", "iso": "BE"}, country=())
    berlin = res("cities", "8e0f3b52-6c1a-4f0e-9d7b-2a4c5e6f7a81", {"name": "Berlin"},
                 country=(), region=())
    de_group = did_group("d3a1c2b4-5e6f-4a7b-8c9d-0e1f2a3b4c01", "30", "Berlin", ["voice_in", "t38"],
                         de, berlin, be, local)
    de_did = did("5b9a7c3e-1d2f-4e6a-8b0c-9d8e7f6a5b01", "493012345678", de_group, trunk=pstn_trunk,
                 description="Berlin office")
    show_doc = {"data": de_did, "included": [pstn_trunk, de_group, de, berlin, be, local],
                "meta": {"api_version": "2026-04-16"}}

    us = res("countries", "77b32b7b-b8cc-4f95-895b-075bfd10d302", {"name": "United States", "prefix": "1", "iso": "US"})
    ny = res("regions", "ab7e83bc-814b-4cfa-a14c-d2df3de2a545", {"name": "New York", "iso": "NY"}, country=())
    nyc = res("cities", "5116f8c2-fc8d-4193-8d32-df8367e4a600", {"name": "New York"}, country=(), region=())
    us_group = did_group("e4b2d3c5-6f7a-4b8c-9d0e-1f2a3b4c5d02", "212", "New York", ["voice_in", "sms_in"],
                         us, nyc, ny, local)
    us_did = did("6c0b8d4f-2e3a-4f7b-9c1d-0e9f8a7b6c02", "12124567890", us_group, trunk_group=trunk_group)

    gb = res("countries", "b14af10b-cb73-4228-890b-5bbcb7fbb103", {"name": "United Kingdom", "prefix": "44", "iso": "GB"})
    london = res("cities", "950159ac-225a-421a-a4a6-03708f6bd475", {"name": "London"}, country=(), region=())
    gb_group = did_group("f5c3e4d6-7a8b-4c9d-0e1f-2a3b4c5d6e03", "20", "London", ["voice_in"],
                         gb, london, None, local)
    gb_did = did("7d1c9e5a-3f4b-4a8c-0d2e-1f0a9b8c7d03", "442079460123", gb_group, description="unrouted")
    list_doc = {"data": [us_did, gb_did],
                "included": [trunk_group, us_group, us, nyc, ny, local, gb_group, gb, london],
                "meta": {"total_records": 2},
                "links": {"first": f"{SANDBOX}/dids?page%5Bnumber%5D=1&page%5Bsize%5D=50",
                          "last": f"{SANDBOX}/dids?page%5Bnumber%5D=1&page%5Bsize%5D=50"}}
    return [show_doc, list_doc]


# -- expectations from the served (recorded) resources -----------------------------------------
def follow(server, resource, name):
    data = ((resource or {}).get("relationships") or {}).get(name, {}).get("data")
    return server.get(data["type"], data["id"]) if isinstance(data, dict) else None


def e164_of(raw: str) -> str:
    digits = re.sub(r"\D", "", raw or "")
    try:
        parsed = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) \
        if phonenumbers.is_possible_number(parsed) else ""


def name_of(resource) -> str:
    return (resource or {}).get("attributes", {}).get("name") or ""


def expected_number_row(server, d) -> tuple:
    a = d["attributes"]
    e164 = e164_of(a["number"])
    group = follow(server, d, "did_group")
    country = follow(server, group, "country")
    iso = country["attributes"]["iso"].upper() if country else (
        phonenumbers.region_code_for_number(phonenumbers.parse(e164)) if e164 else "")
    group_name = (group["attributes"].get("area_name") or group["attributes"].get("prefix")) if group else ""
    return (e164, a["number"], "yes" if e164 else "no", "didww", "rec", iso,
            name_of(follow(server, group, "region")), name_of(follow(server, group, "city")),
            name_of(follow(server, d, "voice_in_trunk")), name_of(follow(server, d, "voice_in_trunk_group")),
            group_name, a.get("description") or "")


def trunk_group_of(server, trunk):
    rel_ = (trunk.get("relationships") or {}).get("voice_in_trunk_group", {})
    if "data" in rel_:
        return follow(server, trunk, "voice_in_trunk_group")
    for group in server.of_type("voice_in_trunk_groups"):  # recorded to-many membership
        members = (group.get("relationships") or {}).get("voice_in_trunks", {}).get("data") or []
        if any(m["id"] == trunk["id"] for m in members):
            return group
    return None


# -- CLI helpers --------------------------------------------------------------------------------
def cli(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def export(what: str, tmp_path) -> list[dict]:
    path = tmp_path / f"{what}.csv"
    cli("export", what, "-o", str(path))
    return export_rows(path)


NUMBER_KEYS = ("e164", "number_raw", "valid", "provider", "account", "country", "region", "city",
               "trunk", "trunk_group", "did_group", "description")


@pytest.fixture
def server():
    srv = RecordedDidwwServer(API_KEY, extra_documents=extra_documents())
    srv.start()
    yield srv
    srv.stop()


def add_account(server, *extra):
    cli("add_account", "didww", "rec", "--base-url", server.base_url, "--secret", f"api_key={API_KEY}", *extra)


@pytest.mark.parametrize("page_size", [None, 2], ids=["default-pages", "pages-of-2"])
def test_recorded_dids_sync_and_export(server, tmp_path, page_size):
    add_account(server, *(["--config", f"page_size={page_size}"] if page_size else []))
    out, err = cli("sync", "rec")
    dids = server.dids
    assert len(dids) == 12  # 9 recorded DIDs (one recorded three times) + 3 hand-made
    assert f"{len(dids)} fetched" in out and f"{len(dids)} added" in out, out + err
    if page_size:
        pages = {r.param("page[number]") for r in server.requests if r.path == "/v3/dids"}
        assert len(pages) == 7  # 12 DIDs in pages of 2, then the empty page past the total

    rows = export("numbers", tmp_path)
    got = Counter(tuple(row[k] for k in NUMBER_KEYS) for row in rows)
    want = Counter(expected_number_row(server, d) for d in dids)
    assert got == want
    by_raw = {}
    for row in rows:
        by_raw.setdefault(row["number_raw"], []).append(row)
    # Spot checks on the recordings named in the issue.
    assert [r["e164"] for r in by_raw["61488943592"]] == ["+61488943592"]
    assert by_raw["61488943592"][0]["country"] == "AU"
    assert [(r["e164"], r["valid"]) for r in by_raw["16091609123456797"]] == [("", "no")]
    assert [(r["e164"], r["valid"]) for r in by_raw["437xxxxxxxxx"]] == [("", "no")] * 5  # kept, flagged
    assert by_raw["16091609123456797"][0]["trunk"] == "hello, test pstn trunk"  # go show_with_trunk
    de, us, gb = by_raw["493012345678"][0], by_raw["12124567890"][0], by_raw["442079460123"][0]
    assert (de["e164"], de["country"], de["city"], de["trunk"], de["trunk_group"]) == \
        ("+493012345678", "DE", "Berlin", "hello, test pstn trunk", "")
    assert (us["e164"], us["country"], us["region"], us["city"], us["trunk"], us["trunk_group"]) == \
        ("+12124567890", "US", "New York", "New York", "", "trunk group sample with 2 trunks")
    assert (gb["e164"], gb["country"], gb["city"], gb["trunk"], gb["trunk_group"]) == \
        ("+442079460123", "GB", "London", "", "")
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in ("+493012345678", "+12124567890",
                                                                             "+442079460123"))

    trunks = server.of_type("voice_in_trunks")
    groups = server.of_type("voice_in_trunk_groups")
    trunk_rows = export("trunks", tmp_path)
    want_trunks = {
        (t["id"], t["attributes"]["name"], t["attributes"]["configuration"]["type"].removesuffix("_configurations"),
         name_of(trunk_group_of(server, t)),
         str(sum(1 for d in dids if (follow(server, d, "voice_in_trunk") or {}).get("id") == t["id"])))
        for t in trunks
    }
    assert {(r["external_id"], r["name"], r["kind"], r["trunk_group"], r["numbers"]) for r in trunk_rows} == want_trunks
    assert len(trunk_rows) == len(trunks) == 6
    assert {"hello, test pstn trunk", "sample trunk pstn", "Office Mobile"} <= {r["name"] for r in trunk_rows}

    group_rows = export("trunk_groups", tmp_path)
    want_groups = {
        (g["id"], g["attributes"]["name"], "" if g["attributes"].get("capacity_limit") is None
         else str(g["attributes"]["capacity_limit"]),
         str(sum(1 for t in trunks if (trunk_group_of(server, t) or {}).get("id") == g["id"])),
         str(sum(1 for d in dids if (follow(server, d, "voice_in_trunk_group") or {}).get("id") == g["id"])))
        for g in groups
    }
    assert {(r["external_id"], r["name"], r["capacity_limit"], r["trunks"], r["numbers"])
            for r in group_rows} == want_groups
    assert len(group_rows) == len(groups) == 4
    assert {"trunk group sample with 2 trunks", "sample trunk group", "Common Group", "Custom Group"} == \
        {r["name"] for r in group_rows}


def test_wrong_key_fails_sync_and_removes_nothing(server, tmp_path):
    add_account(server)
    cli("sync", "rec")
    before = export("numbers", tmp_path)
    assert len(before) == len(server.dids)
    server.api_key = "rotated-key-0000"  # the stored key is now wrong for the provider
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("sync", "rec", stdout=out, stderr=err)
    assert exc.value.code == 1
    output = out.getvalue() + err.getvalue()
    assert "authentication failed" in output
    assert API_KEY not in output
    after = export("numbers", tmp_path)
    assert after == before
    assert all(row["removed_at"] == "" for row in after)

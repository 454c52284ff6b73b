"""DIDWW adapter: mapping on recorded fixtures, client paging/errors with respx."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging

import httpx
import pytest
import respx

from providers.base import (
    KIND_LOCAL,
    KIND_UNKNOWN,
    STATUS_ACTIVE,
    STATUS_CANCELLING,
    STATUS_PENDING,
    STATUS_SUSPENDED,
    Progress,
)
from providers.didww.client import API_VERSION, DID_INCLUDE, DidwwClient
from providers.didww.mapping import ResourceStore, inventory_from_documents, map_number, status_for
from providers.errors import (
    AuthError,
    BadResponse,
    InvalidRequest,
    NotFound,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)

from ..support.fixtures import fixture_dir

FIXTURES = fixture_dir("didww")
BASE = "https://api.didww.test/v3"
KEY = "dw-test-KEY-8c1f2e9a77b04d1e"
UTC = dt.timezone.utc

GO_DID = "9df99644-f1a5-4a3c-99a4-559d758eb96b"
GO_TRUNK = "41b94706-325e-4704-a433-d65105758836"
GO_TRUNK_GROUP = "b2319703-ce6c-480d-bb53-614e7abcfc96"
PY_DID = "21d0b02c-b556-4d3e-acbf-504b78295dbe"
PY_GROUP = "2b60bb9a-d382-4d35-84c6-61689f45f2f5"
RUBY_DID = "2b1f91d7-8f7a-4933-b1e4-43bbe6aff89d"
RUBY_GROUP = "d04b6466-3d98-4be1-aac5-93ee241f57ca"
TEL_AVIV_GROUP = "952b0724-45bc-4f87-b31b-ff04579357ef"
TEL_AVIV_CITY = "9d9f39e5-cf3e-446a-8e7b-f9e74be5f3e9"
ISRAEL = "370a24a2-7d84-4476-9fdb-1e0b0a7dc1d8"


def fx(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def fx_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def list_doc(data, total, included=(), links=None) -> dict:
    return {"data": list(data), "included": list(included), "meta": {"total_records": total}, "links": links or {}}


def as_list_page(show_doc: dict, total: int, links=None) -> dict:
    """A show document re-shaped as one page of a list (same resource + includes)."""
    return list_doc([show_doc["data"]], total, show_doc.get("included", ()), links)


def by_id(records) -> dict:
    return {r.external_id: r for r in records}


# ---------------------------------------------------------------------------------------------
# mapping on recorded fixtures
# ---------------------------------------------------------------------------------------------
def test_did_show_with_included_voice_in_trunk():
    inv = inventory_from_documents(fx("go_did_show_include_voice_in_trunk.json"))
    (num,) = inv.numbers
    assert num.external_id == GO_DID
    assert num.number == "16091609123456797"
    assert num.e164 == ""  # 17 digits: unparseable, kept and flagged rather than dropped
    assert num.description == "something"
    assert num.status == STATUS_ACTIVE and num.raw_status == "active"
    assert num.voice is True and num.sms is None and num.mms is None  # did_group not included
    assert num.kind == KIND_UNKNOWN and num.group_id is None and num.location_id is None
    assert num.acquired_at == dt.datetime(2018, 12, 27, 9, 59, 55, 15000, tzinfo=UTC)
    assert num.expires_at == dt.datetime(2019, 11, 27, 10, 0, 4, 755000, tzinfo=UTC)
    assert num.trunk_id == GO_TRUNK
    assert num.trunk_group_id is None  # data: null
    assert num.raw["id"] == GO_DID and num.raw["attributes"]["capacity_limit"] == 2
    (trunk,) = inv.trunks
    assert trunk.external_id == GO_TRUNK
    assert trunk.name == "hello, test pstn trunk"
    assert trunk.kind == "pstn" and trunk.description == "" and trunk.trunk_group_id is None
    assert trunk.raw["attributes"]["configuration"]["attributes"]["dst"] == "558540420024"
    assert inv.trunk_groups == [] and inv.groups == [] and inv.locations == []


def test_did_show_with_included_voice_in_trunk_group():
    inv = inventory_from_documents(fx("go_did_show_include_voice_in_trunk_group.json"))
    (num,) = inv.numbers
    assert num.trunk_id is None
    assert num.trunk_group_id == GO_TRUNK_GROUP
    (group,) = inv.trunk_groups
    assert group.external_id == GO_TRUNK_GROUP
    assert group.name == "trunk group sample with 2 trunks"
    assert group.capacity_limit == 1000


def test_did_show_with_address_verification_and_did_group():
    inv = inventory_from_documents(fx("py_cassette_did_show_include_address_verification_did_group.json"))
    (num,) = inv.numbers
    assert num.external_id == PY_DID
    assert num.number == "61488943592"
    assert num.e164 == "+61488943592"
    assert num.country_code == "AU"  # no country include: derived from the E.164
    assert num.description == ""  # null
    assert num.sms is True  # did group features contain sms_in
    assert num.group_id == PY_GROUP
    assert num.kind == KIND_UNKNOWN  # did_group_type not included
    assert num.acquired_at == dt.datetime(2026, 2, 25, 15, 1, 6, tzinfo=UTC)
    assert num.expires_at == dt.datetime(2026, 3, 27, 13, 48, 55, 974000, tzinfo=UTC)
    assert num.trunk_id is None and num.trunk_group_id is None  # relationships not included
    (group,) = inv.groups
    assert group.external_id == PY_GROUP
    assert group.name == "Mobile" and group.prefix == "4"
    assert group.features == ("voice_in", "voice_out", "sms_in", "sms_out", "t38")
    assert group.location_id is None and group.group_type == ""
    # address_verifications are included but are not inventory records
    assert inv.trunks == [] and inv.trunk_groups == [] and inv.locations == []


def test_did_show_with_included_did_group():
    inv = inventory_from_documents(fx("ruby_did_show_include_did_group_200.json"))
    (num,) = inv.numbers
    assert num.external_id == RUBY_DID
    assert num.number == "437xxxxxxxxx" and num.e164 == "" and num.country_code == ""
    assert num.group_id == RUBY_GROUP
    assert num.sms is False  # features == ["voice_in"]
    (group,) = inv.groups
    assert (group.name, group.prefix, group.features) == ("National", "721", ("voice_in",))


def test_dids_list_with_included_did_groups():
    inv = inventory_from_documents(fx("ruby_dids_list_include_did_group_200.json"))
    nums = by_id(inv.numbers)
    assert set(nums) == {"96408625-df7d-400f-9615-6c365e71b2c2", "187e6d79-3e12-446e-a471-359bff8996d4"}
    assert nums["96408625-df7d-400f-9615-6c365e71b2c2"].group_id == "6ff883bd-8e86-48ee-bed3-99adce779499"
    assert nums["187e6d79-3e12-446e-a471-359bff8996d4"].group_id == "396c3eac-a0ac-4811-a248-d15252ab5a19"
    groups = by_id(inv.groups)
    assert groups["6ff883bd-8e86-48ee-bed3-99adce779499"].prefix == "720"
    assert groups["396c3eac-a0ac-4811-a248-d15252ab5a19"].name == "Mobile"


def test_dids_list_without_includes():
    inv = inventory_from_documents(fx("ruby_dids_list_no_include_200.json"))
    assert [n.external_id for n in inv.numbers] == [
        "ac40fb08-ac14-4a6c-8f20-fe650870c266",
        "b37f0fcf-24d0-4799-8e81-a69bcc889f2e",
    ]
    for num in inv.numbers:
        # Relationship without data: unknown, not "none".
        assert (num.group_id, num.trunk_id, num.trunk_group_id, num.sms) == (None, None, None, None)
        assert num.description == "string"


def test_recorded_sandbox_dids_list_page():
    inv = inventory_from_documents(fx("py_cassette_dids_list.json"))
    assert [n.number for n in inv.numbers] == ["16091609123456797", "16091609123456798", "16091609123456799"]
    assert by_id(inv.numbers)["a79c8633-60d6-4640-9a72-680d59cb44ee"].expires_at == dt.datetime(
        2019, 1, 27, 10, 0, 4, 659000, tzinfo=UTC
    )
    # included orders are ignored, not turned into records
    assert inv.groups == [] and inv.trunks == []


def test_did_group_with_type_and_city_location():
    """A DID linked to the Tel Aviv group from the did_groups fixture (country/city/type included)."""
    groups_doc = fx("ruby_did_groups_list_include_country_city_region_type_skus_200.json")
    did = copy.deepcopy(fx("ruby_dids_list_no_include_200.json")["data"][0])
    did["relationships"]["did_group"]["data"] = {"type": "did_groups", "id": TEL_AVIV_GROUP}
    did["attributes"].update(blocked=True, awaiting_registration=True)
    inv = inventory_from_documents(list_doc([did], 1, groups_doc["data"] + groups_doc["included"]))
    (num,) = inv.numbers
    assert num.kind == KIND_LOCAL
    assert num.country_code == "IL"  # from the country include
    assert num.location_id == f"city:{TEL_AVIV_CITY}"
    assert num.sms is False
    assert num.status == STATUS_PENDING and num.raw_status == "blocked,awaiting_registration"
    groups = by_id(inv.groups)
    assert groups[TEL_AVIV_GROUP].group_type == "Local"
    assert groups["d0163fe0-001f-4a03-87ea-84224822708e"].group_type == "National"
    assert groups["d0163fe0-001f-4a03-87ea-84224822708e"].location_id == f"country:{ISRAEL}"
    locations = by_id(inv.locations)
    city = locations[f"city:{TEL_AVIV_CITY}"]
    assert (city.kind, city.name, city.city, city.country_code, city.country_name) == (
        "city", "Tel Aviv", "Tel Aviv", "IL", "Israel",
    )
    country = locations[f"country:{ISRAEL}"]
    assert (country.kind, country.name, country.city, country.region) == ("country", "Israel", "", "")


def test_kind_mapping_from_did_group_type():
    groups_doc = fx("ruby_did_groups_list_include_country_city_region_type_skus_200.json")
    store = ResourceStore()
    store.add_document(groups_doc)
    did = copy.deepcopy(fx("ruby_dids_list_no_include_200.json")["data"][0])
    did["relationships"]["did_group"]["data"] = {"type": "did_groups", "id": TEL_AVIV_GROUP}
    type_id = "a0cfd563-ebb0-4492-b046-74ab4609f9cb"
    expected = {
        "Local": "local", "National": "national", "Mobile": "mobile", "Toll-free": "toll_free",
        "Toll Free": "toll_free", "Shared Cost": "shared_cost", "Global": "unknown",
    }
    for name, kind in expected.items():
        store.add({"type": "did_group_types", "id": type_id, "attributes": {"name": name}})
        assert map_number(did, store).kind == kind, name


@pytest.mark.parametrize(
    "flags, status, raw",
    [
        ({}, STATUS_ACTIVE, "active"),
        ({"terminated": True}, STATUS_CANCELLING, "terminated"),
        ({"pending_removal": True, "blocked": True}, STATUS_CANCELLING, "blocked,pending_removal"),
        ({"blocked": True}, STATUS_SUSPENDED, "blocked"),
        ({"awaiting_registration": True}, STATUS_PENDING, "awaiting_registration"),
    ],
)
def test_status_mapping(flags, status, raw):
    base = {"blocked": False, "terminated": False, "awaiting_registration": False}
    assert status_for({**base, **flags}) == (status, raw)


def test_trunk_group_membership_from_to_many_linkage():
    inv = inventory_from_documents(fx("ruby_voice_in_trunk_groups_list_include_trunks_200.json"))
    groups = by_id(inv.trunk_groups)
    assert groups["a8176983-61c4-4768-b699-10d5f3245d90"].name == "Common Group"
    assert groups["a8176983-61c4-4768-b699-10d5f3245d90"].capacity_limit == 69
    assert groups["def3b7b1-ce76-420d-9684-8dbdb69e17c1"].name == "Custom Group"
    (trunk,) = inv.trunks
    assert (trunk.name, trunk.kind, trunk.trunk_group_id) == (
        "Office Mobile", "pstn", "a8176983-61c4-4768-b699-10d5f3245d90",
    )


def test_unparseable_dates_become_none():
    did = copy.deepcopy(fx("ruby_dids_list_no_include_200.json")["data"][0])
    did["attributes"]["expires_at"] = "not a date"
    del did["attributes"]["created_at"]
    num = map_number(did, ResourceStore())
    assert num.expires_at is None and num.acquired_at is None


# ---------------------------------------------------------------------------------------------
# client with respx
# ---------------------------------------------------------------------------------------------
def client(**config) -> DidwwClient:
    return DidwwClient(base_url=BASE, secrets={"api_key": KEY}, config=config, timeout=2.0)


def serve(router, path: str, pages: list) -> respx.Route:
    """Serve ``pages[n-1]`` for page[number]=n: dict -> 200 JSON:API, Response as is. The page
    after the last answers empty with the same total (as DIDWW does; the client asks for it to
    prove the listing ended); pages beyond that answer 418 so an unexpected request fails loudly."""

    def handler(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params.get("page[number]", "1"))
        if number == len(pages) + 1 and isinstance(pages[-1], dict):
            past = list_doc([], pages[-1]["meta"]["total_records"])
            return httpx.Response(200, json=past, headers={"Content-Type": "application/vnd.api+json"})
        if number > len(pages):
            return httpx.Response(418, json={"errors": [{"title": "unexpected page"}]})
        page = pages[number - 1]
        if isinstance(page, httpx.Response):
            return page
        return httpx.Response(200, json=page, headers={"Content-Type": "application/vnd.api+json"})

    return router.get(BASE + path).mock(side_effect=handler)


def pages_requested(route: respx.Route) -> list[int]:
    return [int(call.request.url.params["page[number]"]) for call in route.calls]


def trunk_pages(router):
    """Trunk listings for a full fetch: one trunk (with its group) and the ruby trunk groups."""
    trunk = copy.deepcopy(fx("go_did_show_include_voice_in_trunk.json")["included"][0])
    trunk["relationships"]["voice_in_trunk_group"]["data"] = {"type": "voice_in_trunk_groups", "id": GO_TRUNK_GROUP}
    group = fx("go_did_show_include_voice_in_trunk_group.json")["included"][0]
    trunks = serve(router, "/voice_in_trunks", [list_doc([trunk], 1, [group])])
    groups = serve(router, "/voice_in_trunk_groups", [fx("ruby_voice_in_trunk_groups_list_include_trunks_200.json")])
    return trunks, groups


def error_response(status: int, fixture: str | None = None, **kw) -> httpx.Response:
    body = fx_text(fixture) if fixture else ""
    return httpx.Response(status, content=body.encode(), headers={"Content-Type": "application/vnd.api+json"}, **kw)


@respx.mock
def test_fetch_inventory_three_pages_from_fixtures():
    last = as_list_page(
        fx("py_cassette_did_show_include_address_verification_did_group.json"),
        3,
        # links.next on the last page (as in ruby_did_groups fixture) is not followed: page 4 is
        # asked only as the empty page past the stated total
        links={"next": BASE + "/dids?page%5Bnumber%5D=4&page%5Bsize%5D=1"},
    )
    dids = serve(
        respx.mock,
        "/dids",
        [
            as_list_page(fx("go_did_show_include_voice_in_trunk.json"), 3),
            as_list_page(fx("ruby_did_show_include_did_group_200.json"), 3),
            last,
        ],
    )
    trunks, groups = trunk_pages(respx.mock)
    seen: list[Progress] = []
    with client(page_size=1) as c:
        inv = c.fetch_inventory(progress=seen.append)

    assert sorted(pages_requested(dids)) == [1, 2, 3, 4]  # 2..4 concurrently, any order on the wire
    assert all(call.request.url.params["page[size]"] == "1" for call in dids.calls)
    assert inv.complete is True and inv.total_reported == 3 and inv.pages_fetched == 8  # 4 + 2 + 2
    assert [n.external_id for n in inv.numbers] == [GO_DID, RUBY_DID, PY_DID]
    nums = by_id(inv.numbers)
    assert nums[GO_DID].trunk_id == GO_TRUNK
    assert nums[PY_DID].e164 == "+61488943592" and nums[PY_DID].group_id == PY_GROUP
    assert nums[RUBY_DID].group_id == RUBY_GROUP
    assert set(by_id(inv.groups)) == {RUBY_GROUP, PY_GROUP}
    # The trunk was included on DID page 1 without its group linkage and listed by
    # /voice_in_trunks with it: one record, with the group.
    trunks_by_id = by_id(inv.trunks)
    trunk = trunks_by_id[GO_TRUNK]
    assert (trunk.name, trunk.trunk_group_id) == ("hello, test pstn trunk", GO_TRUNK_GROUP)
    # "Office Mobile" arrives only as an include of the trunk group listing.
    office = trunks_by_id["5aa0b0ea-2bda-4424-a93c-104829d72c06"]
    assert (office.name, office.trunk_group_id) == ("Office Mobile", "a8176983-61c4-4768-b699-10d5f3245d90")
    assert len(inv.trunks) == 2
    # Trunk groups: from the trunk listing include + the trunk group listing, deduplicated.
    assert set(by_id(inv.trunk_groups)) == {
        GO_TRUNK_GROUP, "a8176983-61c4-4768-b699-10d5f3245d90", "def3b7b1-ce76-420d-9684-8dbdb69e17c1",
    }
    assert seen == [  # each listing is announced before its first request, then reported per page
        Progress(0, 0, None, "numbers"),
        Progress(1, 1, 3, "numbers"),
        Progress(2, 2, 3, "numbers"),
        Progress(3, 3, 3, "numbers"),
        Progress(0, 0, None, "trunks"),
        Progress(1, 1, 1, "trunks"),
        Progress(0, 0, None, "trunk_groups"),
        Progress(1, 2, 2, "trunk_groups"),
    ]
    assert trunks.calls.last.request.url.params["include"] == "voice_in_trunk_group"
    assert groups.call_count == 2  # the listing, then the empty page past its total


@respx.mock
def test_pagination_math_with_default_page_size():
    template = fx("ruby_dids_list_no_include_200.json")["data"][0]
    dids = []
    for i in range(250):
        did = copy.deepcopy(template)
        did["id"] = f"did-{i:03d}"
        did["attributes"]["number"] = f"4930{i:07d}"
        dids.append(did)
    route = serve(respx.mock, "/dids", [list_doc(dids[i : i + 100], 250) for i in (0, 100, 200)])
    trunk_pages(respx.mock)
    with client() as c:
        inv = c.fetch_inventory()
    assert sorted(pages_requested(route)) == [1, 2, 3, 4]  # 4: the empty page past the total
    params = route.calls.last.request.url.params
    assert params["page[size]"] == "100" and params["include"] == DID_INCLUDE
    assert len(inv.numbers) == 250 and inv.total_reported == 250
    assert inv.numbers[0].e164 == "+49300000000"


@respx.mock
def test_last_page_links_next_not_followed():
    doc = fx("ruby_dids_list_include_did_group_200.json")
    doc["links"]["next"] = BASE + "/dids?page%5Bnumber%5D=2"
    route = serve(respx.mock, "/dids", [doc])
    trunk_pages(respx.mock)
    with client() as c:
        inv = c.fetch_inventory()
    # Page 2 is asked by page math (size and include as always), not through the link.
    assert pages_requested(route) == [1, 2]
    assert "page%5Bsize%5D=100" in str(route.calls.last.request.url) and "include" in route.calls.last.request.url.params
    assert len(inv.numbers) == 2


@respx.mock
def test_legacy_trunk_relationship_names():
    did = copy.deepcopy(fx("go_did_show_include_voice_in_trunk.json")["data"])
    rels = did["relationships"]
    rels["trunk"] = {"data": rels.pop("voice_in_trunk")["data"]}
    rels["trunk_group"] = {"data": {"type": "voice_in_trunk_groups", "id": GO_TRUNK_GROUP}}
    del rels["voice_in_trunk_group"]
    trunk = copy.deepcopy(fx("go_did_show_include_voice_in_trunk.json")["included"][0])
    trunk["relationships"] = {"trunk_group": {"data": {"type": "voice_in_trunk_groups", "id": GO_TRUNK_GROUP}}}
    group = fx("go_did_show_include_voice_in_trunk_group.json")["included"][0]
    serve(respx.mock, "/dids", [list_doc([did], 1, [trunk, group])])
    serve(respx.mock, "/voice_in_trunks", [list_doc([], 0)])
    serve(respx.mock, "/voice_in_trunk_groups", [list_doc([], 0)])
    with client() as c:
        inv = c.fetch_inventory()
    (num,) = inv.numbers
    assert (num.trunk_id, num.trunk_group_id) == (GO_TRUNK, GO_TRUNK_GROUP)
    (t,) = inv.trunks
    assert (t.name, t.trunk_group_id) == ("hello, test pstn trunk", GO_TRUNK_GROUP)
    assert [g.name for g in inv.trunk_groups] == ["trunk group sample with 2 trunks"]


@respx.mock
def test_headers_sent():
    route = serve(respx.mock, "/dids", [fx("py_cassette_dids_list.json")])
    with client() as c:
        assert c.test_connection() == "OK: 13 DIDs"
    request = route.calls.last.request
    assert request.headers["Api-Key"] == KEY
    assert request.headers["X-DIDWW-API-Version"] == API_VERSION == "2026-04-16"
    assert request.headers["Accept"] == "application/vnd.api+json"
    assert request.url.params["page[size]"] == "1"


@respx.mock
def test_api_version_config_override():
    route = serve(respx.mock, "/dids", [fx("ruby_dids_list_no_include_200.json")])
    with client(api_version="2022-05-10") as c:
        assert c.test_connection() == "OK: 2 DIDs"
    assert route.calls.last.request.headers["X-DIDWW-API-Version"] == "2022-05-10"


def test_transport_passed_through_and_missing_key():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json=fx("ruby_dids_list_no_include_200.json"))

    c = DidwwClient(base_url=BASE, secrets={"api_key": KEY}, config={}, transport=httpx.MockTransport(handler))
    assert c.test_connection() == "OK: 2 DIDs" and len(seen) == 1
    c.close()
    with pytest.raises(AuthError):
        DidwwClient(base_url=BASE, secrets={}, config={})


@pytest.mark.parametrize(
    "status, fixture, error, title",
    [
        (404, "ruby_did_show_404.json", NotFound, "Record not found"),
        (422, "php_cassette_did_patch_422.json", InvalidRequest, "is invalid"),
        (400, "go_did_error_400_param_not_allowed.json", InvalidRequest, "Param not allowed"),
    ],
)
@respx.mock
def test_error_fixtures_map_to_error_classes(status, fixture, error, title):
    serve(respx.mock, "/dids", [error_response(status, fixture)])
    with client() as c, pytest.raises(error) as info:
        c.fetch_inventory()
    assert info.value.status == status
    assert title in str(info.value)
    assert f"HTTP {status}" in str(info.value)


@respx.mock
def test_401_is_auth_error():
    body = {"errors": [{"title": "Unauthorized", "detail": f"Api-Key {KEY} is invalid", "status": "401"}]}
    serve(respx.mock, "/dids", [httpx.Response(401, json=body)])
    with client() as c, pytest.raises(AuthError) as info:
        c.test_connection()
    assert str(info.value).startswith("authentication failed")
    assert "Unauthorized" in str(info.value)
    assert KEY not in str(info.value) and KEY not in info.value.detail


@pytest.mark.parametrize("header, expected", [({"Retry-After": "7"}, 7.0), ({}, None)])
@respx.mock
def test_429_rate_limited(header, expected):
    serve(respx.mock, "/dids", [httpx.Response(429, headers=header)])
    with client() as c, pytest.raises(RateLimited) as info:
        c.fetch_inventory()
    assert info.value.retry_after == expected


@respx.mock
def test_500_on_page_3_is_unavailable_and_returns_nothing():
    template = fx("ruby_dids_list_no_include_200.json")["data"][0]
    dids = [dict(copy.deepcopy(template), id=f"did-{i}") for i in range(3)]
    route = serve(
        respx.mock,
        "/dids",
        [list_doc(dids[0:1], 3), list_doc(dids[1:2], 3), httpx.Response(500, text="<html>oops</html>")],
    )
    trunks = serve(respx.mock, "/voice_in_trunks", [list_doc([], 0)])
    with client(page_size=1, fetch_concurrency=1) as c, pytest.raises(Unavailable) as info:  # exact sequence
        c.fetch_inventory()  # raises: a partial listing is never returned
    assert "HTTP 500" in str(info.value)
    assert pages_requested(route) == [1, 2, 3]
    assert trunks.call_count == 0


@respx.mock
def test_truncated_json_is_bad_response():
    text = fx_text("ruby_dids_list_include_did_group_200.json")
    serve(respx.mock, "/dids", [httpx.Response(200, content=text[: len(text) // 2].encode())])
    with client() as c, pytest.raises(BadResponse, match="invalid or truncated JSON"):
        c.fetch_inventory()


def _did(i: int) -> dict:
    return dict(copy.deepcopy(fx("ruby_dids_list_no_include_200.json")["data"][0]), id=f"did-{i}")


@pytest.mark.parametrize(
    "pages, match",
    [
        # total grows between pages: the listing shifted mid-sync
        ([list_doc([_did(1)], 3), list_doc([_did(2)], 4)], "total_records changed from 3 to 4"),
        # empty page before the total is reached
        ([list_doc([_did(1)], 3), list_doc([], 3)], "page 2 is empty after 1 of 3"),
        # the same id on two pages (offset shifted)
        ([list_doc([_did(1)], 3), list_doc([_did(1)], 3)], "repeated on page 2"),
        # more records than the total claims
        ([list_doc([_did(1), _did(2)], 1)], "received 2 records but total_records is 1"),
        # not a JSON:API list
        ([{"items": [_did(1)], "total": 1}], "no JSON:API 'data' list"),
        ([{"data": [_did(1)], "meta": {}}], "no usable meta.total_records"),
        ([{"data": [_did(1)], "meta": {"total_records": "1"}}], "no usable meta.total_records"),
        ([list_doc([{"type": "orders", "id": "x"}], 1)], "other than dids"),
        ([[1, 2, 3]], "not a JSON:API document"),
        ([{"errors": [{"title": "Oops"}]}], "provider returned errors: Oops"),
    ],
)
@respx.mock
def test_inconsistent_listings_are_bad_responses(pages, match):
    serve(respx.mock, "/dids", pages)
    with client(page_size=1) as c, pytest.raises(BadResponse, match=match):
        c.fetch_inventory()


@respx.mock
def test_page_math_short_listing_is_bad_response():
    """Server caps page size below ours: page math ends early and the count does not match."""
    serve(respx.mock, "/dids", [list_doc([_did(1)], 2)])  # asked for 2 per page, got 1, total 2
    with client(page_size=2) as c, pytest.raises(BadResponse, match="received 1 unique records but total_records is 2"):
        c.fetch_inventory()


@respx.mock
def test_api_key_never_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    echo = {"errors": [{"title": f"bad key {KEY}", "detail": f"{KEY} rejected"}]}
    scenarios = [
        httpx.Response(401, json=echo),
        httpx.Response(403, json=echo),
        httpx.Response(404, json=echo),
        httpx.Response(422, json=echo),
        httpx.Response(429, json=echo, headers={"Retry-After": "1"}),
        httpx.Response(500, json=echo),
        httpx.Response(200, content=b'{"data": ['),
        httpx.Response(200, json=echo),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError(f"refused for {KEY}"),
    ]
    errors: list[ProviderError] = []
    for outcome in scenarios:
        respx.mock.reset()
        route = respx.mock.get(BASE + "/dids")
        route.mock(side_effect=outcome) if isinstance(outcome, Exception) else route.mock(return_value=outcome)
        for call in ("test_connection", "fetch_inventory"):
            with client() as c, pytest.raises(ProviderError) as info:
                getattr(c, call)()
            errors.append(info.value)
    assert {type(e) for e in errors} >= {AuthError, NotFound, InvalidRequest, RateLimited, Unavailable,
                                         BadResponse, ProviderTimeout}
    for err in errors:
        assert KEY not in str(err) and KEY not in err.detail and KEY not in repr(err.args)
    assert KEY not in caplog.text

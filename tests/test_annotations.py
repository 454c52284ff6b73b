"""Local notes and tags: service rules, the number page form (ops), bulk edit (admins only),
filters, and the promise that a sync never overwrites them."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from numbersadmin.inventory.choices import NumberStatus
from numbersadmin.inventory.models import AuditLog, NumberNote, PhoneNumber, Tag
from numbersadmin.inventory.services import annotations

from .support.helpers import sync

pytestmark = pytest.mark.django_db(transaction=True)

Through = Tag.numbers.through


@pytest.fixture
def synced(didww_account):
    run = sync(didww_account)
    assert run.state == "succeeded", run.error_message
    return didww_account


def live(**filters):
    return PhoneNumber.objects.filter(removed_at=None, **filters).order_by("pk")


def tags_of(number) -> list[str]:
    return sorted(number.tags.values_list("name", flat=True))


def note_of(number) -> str | None:
    return NumberNote.objects.filter(number=number).values_list("text", flat=True).first()


def local_state() -> tuple:
    """Everything a rejected edit must leave untouched."""
    return (sorted(Through.objects.values_list("tag_id", "phonenumber_id")),
            sorted(NumberNote.objects.values_list("number_id", "text")),
            sorted(Tag.objects.values_list("name", flat=True)),
            AuditLog.objects.filter(action__in=["bulk_edit", "number.note", "number.tags"]).count())


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def rows(response) -> list[str]:
    return re.findall(r'class="num">([^<]+)</a>', response.content.decode())


# --- service rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, expected", [
    ("  Porting   Q3 ", "porting q3"),
    ("VIP", "vip"),
    ("team/ops:eu-west_1.a", "team/ops:eu-west_1.a"),
    ("Café", "café"),
    ("\tline\nbreak ", "line break"),
    ("   ", ""),
])
def test_tag_names_are_normalised(raw, expected):
    assert annotations.normalise_tag(raw) == expected


@pytest.mark.parametrize("raw, fragment", [
    ("bad!", "!"),
    ("<script>", "<"),
    ("semi;colon", ";"),
    ("x" * 51, "longer than 50"),
])
def test_bad_tag_names_are_rejected_with_a_clear_message(raw, fragment):
    with pytest.raises(ValidationError) as exc:
        annotations.normalise_tag(raw)
    message = " ".join(exc.value.messages)
    assert fragment in message
    if "longer" not in fragment:
        assert "letters, digits, spaces and - _ . : /" in message


def test_parse_tags_splits_dedupes_and_reports_every_bad_name():
    assert annotations.parse_tags(" Porting, porting ,VIP,, ") == ["porting", "vip"]
    assert annotations.parse_tags(["A", "a", "b"]) == ["a", "b"]
    with pytest.raises(ValidationError) as exc:
        annotations.parse_tags("ok, bad!, worse?")
    assert len(exc.value.messages) == 2
    with pytest.raises(ValidationError, match="At most 50"):
        annotations.parse_tags(",".join(f"t{i}" for i in range(51)))


def test_notes_normalise_newlines_and_enforce_the_limit():
    assert annotations.normalise_note(" a\r\nb\r ") == "a\nb"
    assert len(annotations.normalise_note("x\r\n" * 2000)) == 3999  # CRLF counts as one character
    with pytest.raises(ValidationError, match="4001 characters"):
        annotations.normalise_note("x" * 4001)


def test_set_note_and_set_tags(synced, ops_user):
    number, other = live()[:2]
    annotations.set_tags(other, ["shared"], ops_user)
    annotations.set_note(number, "Porting to Acme in May", ops_user)
    assert annotations.set_tags(number, "Porting, VIP, shared", ops_user) == ["porting", "vip", "shared"]
    assert note_of(number) == "Porting to Acme in May"
    assert NumberNote.objects.get(number=number).updated_by == ops_user
    assert tags_of(number) == ["porting", "shared", "vip"]

    annotations.set_tags(number, ["vip"], ops_user)
    assert tags_of(number) == ["vip"]
    # An unused tag is dropped; one still in use elsewhere stays.
    assert set(Tag.objects.values_list("name", flat=True)) == {"vip", "shared"}

    annotations.set_note(number, "   ", ops_user)  # empty text deletes
    assert note_of(number) is None
    actions = list(AuditLog.objects.filter(target=str(number)).values_list("action", flat=True))
    assert actions.count("number.note") == 2 and actions.count("number.tags") == 2


def test_unchanged_single_edit_writes_no_audit(synced, ops_user):
    number = live().first()
    annotations.annotate(number, note="same", tags="a", user=ops_user)
    before = AuditLog.objects.count()
    annotations.annotate(number, note="same", tags="a", user=ops_user)
    assert AuditLog.objects.count() == before


# --- the number page (ops) ----------------------------------------------------------------------


def test_ops_adds_note_and_tags_on_the_number_page(ops_client, synced, ops_user):
    number = live().first()
    page = ops_client.get(f"/numbers/{number.pk}/").content.decode()
    assert "Notes and tags (local)" in page and "a sync never changes" in page
    assert f'action="/numbers/{number.pk}/notes/"' in page and "csrfmiddlewaretoken" in page

    response = ops_client.post(f"/numbers/{number.pk}/notes/",
                               {"note": "Reserved for the Paris office\r\nsecond line", "tags": "Porting, Paris Office"})
    assert response.status_code == 302 and response["Location"] == f"/numbers/{number.pk}/"
    assert any("Saved notes and tags" in m for m in message_texts(response))
    assert note_of(number) == "Reserved for the Paris office\nsecond line"
    assert tags_of(number) == ["paris office", "porting"]

    page = ops_client.get(f"/numbers/{number.pk}/").content.decode()
    assert 'href="/numbers/?tag=paris%20office"' in page and 'href="/numbers/?tag=porting"' in page
    assert "Reserved for the Paris office" in page and "by bob" in page


def test_number_page_queries_do_not_grow_with_tags(ops_client, synced):
    number = live().first()
    annotations.set_tags(number, "a", None)
    ops_client.get(f"/numbers/{number.pk}/")  # warm: first-request setup queries
    with CaptureQueriesContext(connection) as one:
        ops_client.get(f"/numbers/{number.pk}/")
    annotations.set_tags(number, "a, b, c, d, e, f", None)
    annotations.set_note(number, "n", None)
    with CaptureQueriesContext(connection) as many:
        ops_client.get(f"/numbers/{number.pk}/")
    assert len(many.captured_queries) == len(one.captured_queries)


def test_annotate_get_is_405_and_unknown_number_is_404(ops_client, synced):
    number = live().first()
    assert ops_client.get(f"/numbers/{number.pk}/notes/").status_code == 405
    assert ops_client.post("/numbers/999999/notes/", {"note": "x", "tags": ""}).status_code == 404


@pytest.mark.parametrize("data, error", [
    ({"note": "fine", "tags": "ok, no!way"}, "may only use letters"),
    ({"note": "x" * 4001, "tags": "ok"}, "the limit is 4000"),
    ({"note": "fine", "tags": "y" * 51}, "longer than 50"),
])
def test_bad_single_edit_writes_nothing_and_keeps_the_input(ops_client, synced, data, error):
    number = live().first()
    annotations.annotate(number, note="original", tags="keep", user=None)
    before = local_state()
    response = ops_client.post(f"/numbers/{number.pk}/notes/", data)
    body = response.content.decode()
    assert response.status_code == 400 and error in body
    assert "Notes and tags were not saved" in body
    assert local_state() == before
    assert data["tags"][:10] in body  # what was typed is shown again


def test_annotate_requires_login(client, synced):
    number = live().first()
    response = client.post(f"/numbers/{number.pk}/notes/", {"note": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert note_of(number) is None


# --- bulk edit ----------------------------------------------------------------------------------


def bulk_url(**params) -> str:
    return "/numbers/bulk-edit/?" + urlencode(params, doseq=True)


def test_ops_cannot_bulk_edit(ops_client, synced):
    before = local_state()
    assert ops_client.get(bulk_url(query="country=US", scope="matching")).status_code == 403
    response = ops_client.post("/numbers/bulk-edit/", {"query": "country=US", "scope": "matching",
                                                       "add_tags": "x", "note_mode": "keep"})
    assert response.status_code == 403
    assert local_state() == before


def test_confirmation_page_shows_exact_count_and_filters(admin_client, synced):
    us_active = live(country="US", status=NumberStatus.ACTIVE).count()
    assert us_active
    response = admin_client.get(bulk_url(query="country=US&status=active&sort=-e164&cursor=abc", scope="matching"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<strong id="bulk-count">{us_active}</strong> numbers will change' in body
    assert "Country" in body and "(US)" in body and "Status" in body and "Active" in body
    assert 'name="query" value="country=US&amp;status=active&amp;sort=-e164"' in body  # paging dropped
    assert 'name="scope" value="matching"' in body and 'name="add_tags"' in body


def test_bulk_edit_by_pks_changes_only_pks_matching_the_query(admin_client, synced):
    us = list(live(country="US")[:3])
    gb = live(country="GB").first()
    ticked = [n.pk for n in us] + [gb.pk, 999999]
    page = admin_client.get(bulk_url(query="country=US", pk=ticked)).content.decode()
    assert '<strong id="bulk-count">3</strong>' in page and "2 ticked rows no longer match" in page

    response = admin_client.post("/numbers/bulk-edit/", {
        "query": "country=US", "pk": ",".join(map(str, ticked)), "add_tags": "Porting", "note_mode": "set",
        "note_text": "Moving to Acme"})
    assert response.status_code == 302 and response["Location"] == "/numbers/?country=US"
    assert "Updated 3 numbers." in message_texts(response)
    assert sorted(PhoneNumber.objects.filter(tags__name="porting").values_list("pk", flat=True)) == sorted(n.pk for n in us)
    assert NumberNote.objects.filter(text="Moving to Acme").count() == 3
    assert tags_of(gb) == [] and note_of(gb) is None

    entry = AuditLog.objects.get(action="bulk_edit")
    assert entry.target == "numbers" and entry.rows == 3 and entry.username == "alice"
    assert entry.detail["query"] == "country=US" and entry.detail["scope"] == "selected"
    assert entry.detail["add_tags"] == ["porting"] and entry.detail["note_mode"] == "set"
    assert entry.detail["ticked"] == 5


def test_repeated_pk_fields_are_accepted(admin_client, synced):
    us = [n.pk for n in live(country="US")[:2]]
    response = admin_client.post("/numbers/bulk-edit/?", {"query": "country=US", "pk": [str(p) for p in us],
                                                         "add_tags": "t", "note_mode": "keep"})
    assert response.status_code == 302
    assert Through.objects.count() == 2


def test_bulk_edit_all_matching(admin_client, synced):
    us = set(live(country="US").values_list("pk", flat=True))
    one = min(us)
    response = admin_client.post("/numbers/bulk-edit/", {  # "all matching" wins over ticked rows
        "query": "?country=US", "scope": "matching", "pk": str(one), "add_tags": "us-fleet, Audit 2025",
        "note_mode": "keep"})
    assert response.status_code == 302
    assert f"Updated {len(us)} numbers." in message_texts(response)
    assert set(PhoneNumber.objects.filter(tags__name="us-fleet").values_list("pk", flat=True)) == us
    assert set(PhoneNumber.objects.filter(tags__name="audit 2025").values_list("pk", flat=True)) == us
    assert AuditLog.objects.get(action="bulk_edit").rows == len(us)
    # Removed numbers are hidden by the list's default, so they are not edited either.
    assert not PhoneNumber.objects.filter(tags__name="us-fleet", removed_at__isnull=False).exists()


def test_bulk_add_and_remove_tags(admin_client, synced):
    a, b, c = live(country="US")[:3]
    annotations.set_tags(a, "old, keep", None)
    annotations.set_tags(b, "old", None)
    annotations.set_tags(live(country="GB").first(), "old", None)  # outside the selection
    response = admin_client.post("/numbers/bulk-edit/", {
        "query": "country=US", "pk": f"{a.pk},{b.pk},{c.pk}", "add_tags": "new", "remove_tags": "OLD",
        "note_mode": "keep"})
    assert response.status_code == 302
    assert (tags_of(a), tags_of(b), tags_of(c)) == (["keep", "new"], ["new"], ["new"])
    assert tags_of(live(country="GB").first()) == ["old"]


def test_note_modes(synced, admin_user):
    a, b = live(country="US")[:2]
    annotations.set_note(a, "first", None)
    ids = [a.pk, b.pk]
    everything = PhoneNumber.objects.all()

    annotations.bulk_apply(everything, note_mode="append", note_text="second", user=admin_user, only=ids)
    assert (note_of(a), note_of(b)) == ("first\nsecond", "second")
    annotations.bulk_apply(everything, note_mode="keep", add_tags="x", user=admin_user, only=ids)
    assert (note_of(a), note_of(b)) == ("first\nsecond", "second")
    annotations.bulk_apply(everything, note_mode="set", note_text="replaced", user=admin_user, only=ids)
    assert (note_of(a), note_of(b)) == ("replaced", "replaced")
    assert set(NumberNote.objects.values_list("updated_by__username", flat=True)) == {"alice"}
    annotations.bulk_apply(everything, note_mode="clear", user=admin_user, only=ids)
    assert NumberNote.objects.count() == 0


def test_bulk_apply_accepts_plain_ids_and_ignores_unknown_ones(synced):
    number = live().first()
    assert annotations.bulk_apply([number.pk, 999999], add_tags=["solo"]) == 1
    assert tags_of(number) == ["solo"]


@pytest.mark.parametrize("data, message", [
    ({"query": "country=US", "pk": "abc", "add_tags": "x"}, "“abc” is not a number id"),
    ({"query": "country=US", "pk": "1,-2", "add_tags": "x"}, "“-2” is not a number id"),
    ({"query": "country=US", "add_tags": "x"}, "No numbers selected"),
    ({"query": "country=US", "scope": "everything", "add_tags": "x"}, "not one of the available choices"),
    ({"query": "country=US", "pk": ",".join(str(i) for i in range(1, 10_002)), "add_tags": "x"},
     "10,001 rows are ticked; at most 10,000"),
    ({"query": "tag=no-such-tag", "scope": "matching", "add_tags": "x"}, "Filter Tag:"),
    ({"query": "country=ZZZ", "scope": "matching", "add_tags": "x"}, "Filter Country:"),
    ({"query": "&".join(["a"] * 1100), "scope": "matching", "add_tags": "x"}, "too many parameters"),
    ({"query": "country=US", "scope": "matching", "add_tags": "ok, bad!"}, "may only use letters"),
    ({"query": "country=US", "scope": "matching", "note_mode": "set", "note_text": "x" * 4001}, "the limit is 4000"),
    ({"query": "country=US", "scope": "matching", "note_mode": "set", "note_text": "  "}, "Write the text"),
    ({"query": "country=US", "scope": "matching", "note_mode": "keep"}, "Nothing to change"),
    ({"query": "country=US", "scope": "matching", "note_mode": "wipe", "add_tags": "x"}, "Select a valid choice"),
    ({"query": "country=US", "scope": "matching", "add_tags": "x", "remove_tags": "X"}, "Cannot add and remove"),
])
def test_bad_bulk_input_gives_a_message_and_writes_nothing(admin_client, synced, data, message):
    annotations.set_note(live(country="US").first(), "existing", None)
    before = local_state()
    response = admin_client.post("/numbers/bulk-edit/", {"note_mode": "keep", **data})
    assert response.status_code == 400
    assert message in response.content.decode() or any(message in m for m in message_texts(response))
    assert local_state() == before


def test_bad_selection_on_the_confirmation_page_is_a_message(admin_client, synced):
    response = admin_client.get(bulk_url(query="country=US", pk=["12", "abc"]))
    assert response.status_code == 400
    assert "“abc” is not a number id" in response.content.decode()
    assert 'name="add_tags"' not in response.content.decode()  # no form to submit


def test_append_that_would_overflow_a_note_writes_nothing(admin_client, synced):
    a, b = live(country="US")[:2]
    annotations.set_note(a, "x" * 3990, None)
    before = local_state()
    response = admin_client.post("/numbers/bulk-edit/", {
        "query": "country=US", "pk": f"{a.pk},{b.pk}", "note_mode": "append", "note_text": "0123456789",
        "add_tags": "would-be-added"})
    assert response.status_code == 400
    assert "Appending would make 1 note longer than 4000 characters" in response.content.decode()
    assert local_state() == before


def test_failure_mid_way_rolls_everything_back(synced, monkeypatch):
    ids = list(live(country="US").values_list("pk", flat=True))
    monkeypatch.setattr(annotations, "BATCH", 5)  # several chunks, so the failure is after writes

    calls = {"n": 0}
    real = annotations._apply_note

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(annotations, "_apply_note", failing)
    before = local_state()
    with pytest.raises(RuntimeError):
        annotations.bulk_apply(PhoneNumber.objects.all(), add_tags="t", note_mode="set", note_text="n", only=ids)
    assert local_state() == before


def test_bulk_edit_is_set_based(synced):
    """Statements grow per 1,000 numbers, not per number."""
    with CaptureQueriesContext(connection) as ctx:
        rows = annotations.bulk_apply(PhoneNumber.objects.all(), add_tags="a, b", remove_tags="c",
                                      note_mode="append", note_text="n")
    assert rows == PhoneNumber.objects.count() > 200
    assert len(ctx.captured_queries) < 25, [q["sql"][:80] for q in ctx.captured_queries]


def test_zero_matching_numbers_changes_nothing(admin_client, synced):
    gb = live(country="GB").first()
    response = admin_client.post("/numbers/bulk-edit/", {"query": "country=US", "pk": str(gb.pk),
                                                         "add_tags": "x", "note_mode": "keep"})
    assert response.status_code == 302
    assert "nothing was changed" in " ".join(message_texts(response))
    assert not Through.objects.exists() and not AuditLog.objects.filter(action="bulk_edit").exists()


# --- filters ------------------------------------------------------------------------------------


def test_tag_and_note_filters_show_the_right_rows(ops_client, synced):
    tagged = list(live(country="US")[:2])
    noted = live(country="GB").first()
    for n in tagged:
        annotations.set_tags(n, "porting", None)
    annotations.set_note(noted, "check owner", None)

    assert sorted(rows(ops_client.get("/numbers/?tag=porting"))) == sorted(n.e164 for n in tagged)
    assert rows(ops_client.get("/numbers/?has_note=yes")) == [noted.e164]
    no_note = rows(ops_client.get("/numbers/?has_note=no&per_page=100&q=" + noted.e164[1:]))
    assert noted.e164 not in no_note
    assert rows(ops_client.get("/numbers/?q=check+owner")) == [noted.e164]


# --- never overwritten by a sync ----------------------------------------------------------------


def test_sync_never_overwrites_notes_or_tags(synced, didww_sim, ops_user):
    changed_did, gone_did = didww_sim.dids[0], didww_sim.dids[5]
    changed = PhoneNumber.objects.get(external_id=changed_did["id"])
    gone = PhoneNumber.objects.get(external_id=gone_did["id"])
    annotations.annotate(changed, note="VIP line: do not release", tags="vip, porting", user=ops_user)
    annotations.annotate(gone, note="Ported out?", tags="watch", user=ops_user)
    annotations.bulk_apply(PhoneNumber.objects.all(), add_tags="inventory-2025", user=ops_user)
    before = local_state()

    # The provider changes the number: the sync rewrites provider columns only.
    didww_sim.update_did(changed_did["id"], description="moved to support line", blocked=True)
    run = sync(synced)
    assert run.state == "succeeded" and run.changed == 1
    changed.refresh_from_db()
    assert changed.description == "moved to support line" and changed.status == NumberStatus.SUSPENDED
    assert local_state() == before

    # The number disappears (soft removal) and comes back (restore).
    saved = didww_sim.remove_did(gone_did["id"])
    run = sync(synced)
    assert run.removed == 1 and PhoneNumber.objects.get(pk=gone.pk).removed_at is not None
    assert local_state() == before
    didww_sim.dids.append(saved)
    run = sync(synced)
    assert run.restored == 1 and PhoneNumber.objects.get(pk=gone.pk).removed_at is None
    assert local_state() == before
    assert note_of(gone) == "Ported out?" and tags_of(gone) == ["inventory-2025", "watch"]
    assert note_of(changed) == "VIP line: do not release" and tags_of(changed) == ["inventory-2025", "porting", "vip"]


def test_ingest_has_no_code_path_to_local_tables():
    """Guard for the rule above: the sync's writer never names the local tables."""
    from pathlib import Path

    import numbersadmin.inventory.services.ingest as ingest
    import numbersadmin.inventory.services.sync as sync_service

    for module in (ingest, sync_service):
        source = Path(module.__file__).read_text()
        for name in ("NumberNote", "Tag", ".tags", ".note", "numbernote", "tag_numbers"):
            assert name not in source, (module.__name__, name)


@pytest.mark.perf
def test_bulk_edit_of_50k_numbers(didww_account, capsys):
    """Opt-in (-m perf): 50k numbers in one bulk edit, a bounded number of statements per 1,000."""
    import time

    PhoneNumber.objects.bulk_create(
        [PhoneNumber(account=didww_account, provider="didww", external_id=f"p{i}", number_raw=f"+1555{i:07d}",
                     e164=f"+1555{i:07d}", digits=f"1555{i:07d}", country="US") for i in range(50_000)],
        batch_size=2000)
    annotations.bulk_apply(PhoneNumber.objects.filter(pk__in=live().values("pk")[:10_000]), note_mode="set",
                           note_text="pre-existing")  # a mix of existing and new notes
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as ctx:
        rows = annotations.bulk_apply(PhoneNumber.objects.filter(country="US"), add_tags="bulk, q3",
                                      note_mode="append", note_text="checked")
    elapsed = time.perf_counter() - started
    assert rows == 50_000
    assert Through.objects.count() == 100_000 and NumberNote.objects.count() == 50_000
    assert len(ctx.captured_queries) <= 10 * 50 + 20
    with capsys.disabled():
        print(f"\nbulk edit of {rows} numbers: {elapsed:.2f}s, {len(ctx.captured_queries)} statements")

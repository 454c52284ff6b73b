"""Issue 13's small things, as behaviour: "Any" as the blank filter choice, country names, the
Settings link for admins, durations and dates for people, acronym labels, the loading indicator
and the copy button (CSP-clean: no inline script or handler)."""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
import pytest
from django.template import Context, Template
from django.utils import timezone

from numbersadmin.inventory.choices import key_label
from numbersadmin.inventory.countries import country_label, country_name
from numbersadmin.inventory.models import Location, PhoneNumber, ProviderAccount, SyncRun
from numbersadmin.inventory.templatetags.inventory_tags import duration

pytestmark = pytest.mark.django_db

LIST_PAGES = ("/numbers/", "/caller-ids/", "/owners/", "/locations/", "/trunks/", "/trunk-groups/", "/audit/",
              "/syncs/")


@pytest.fixture
def inventory():
    account = ProviderAccount.objects.create(provider="didww", name="DIDWW main", base_url="https://example.invalid")
    ProviderAccount.objects.filter(pk=account.pk).update(last_success_at=timezone.now() - dt.timedelta(hours=2))
    Location.objects.create(account=account, external_id="l1", name="Berlin", kind="city", country_code="DE",
                            country_name="GERMANY", city="Berlin")
    number = PhoneNumber.objects.create(
        account=account, provider="didww", external_id="n1", number_raw="4930901820", e164="+4930901820",
        digits="4930901820", country="DE", expires_at=timezone.now() + dt.timedelta(days=9),
        acquired_at=timezone.now() - dt.timedelta(days=300))
    start = timezone.now() - dt.timedelta(minutes=5)
    SyncRun.objects.create(account=account, state="succeeded", started_at=start,
                           finished_at=start + dt.timedelta(microseconds=188091))
    SyncRun.objects.create(account=account, state="succeeded", started_at=start,
                           finished_at=start + dt.timedelta(seconds=125))
    return number


def _selects(body: str) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for name, inner in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        out[name] = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', inner)
    return out


@pytest.mark.parametrize("url", LIST_PAGES)
def test_filters_say_any_never_dashes(admin_client, inventory, url):
    body = admin_client.get(url).content.decode()
    assert "---------" not in body
    selects = _selects(body)
    assert selects, url
    for name, options in selects.items():
        blanks = [label for value, label in options if value == ""]
        assert blanks in ([], ["Any"]), (url, name, blanks)  # "removed" has no blank (its default is a value)
    assert any(label == "Any" for opts in selects.values() for _, label in opts)


def test_country_names_in_filters_tables_pages_and_charts(admin_client, inventory):
    body = admin_client.get("/numbers/").content.decode()
    options = dict(_selects(body)["country"])
    assert options["DE"] == "Germany (DE)"
    # Countries nobody holds are offered once asked for (a URL, a saved view), named the same way.
    for code, label in (("GB", "United Kingdom (GB)"), ("KR", "South Korea (KR)"), ("XK", "Kosovo (XK)")):
        asked = admin_client.get(f"/numbers/?country={code}").content.decode()
        assert dict(_selects(asked)["country"])[code] == label
    assert all(label != value for value, label in options.items() if value not in ("", "null")), "bare ISO code"
    assert '<td data-col="country"><span title="DE">Germany</span></td>' in body
    # A filter chip names the country too.
    assert "Germany (DE)" in admin_client.get("/numbers/?country=DE").content.decode()
    assert "Germany (DE)" in admin_client.get(f"/numbers/{inventory.pk}/").content.decode()
    locations = admin_client.get("/locations/").content.decode()
    assert '<span title="DE">Germany</span>' in locations and "GERMANY" not in locations
    dashboard = admin_client.get("/").content.decode()
    assert re.search(r'class="bar-label"[^>]*>\s*Germany\s*<', dashboard)


def test_every_phonenumbers_region_has_a_name():
    for code in phonenumbers.SUPPORTED_REGIONS:
        assert country_name(code) and country_name(code) != code, code
    assert country_name("") == "" and country_name("ZZ") == "ZZ" and country_label("de") == "Germany (DE)"


def test_settings_link_for_admins_only(admin_client, ops_user, inventory):
    from django.test import Client

    ops = Client()
    ops.force_login(ops_user)
    assert 'href="/settings/"' in admin_client.get("/numbers/").content.decode()
    assert 'href="/settings/"' not in ops.get("/numbers/").content.decode()
    body = admin_client.get("/settings/").content.decode()
    assert re.search(r'<a href="/settings/" aria-current="page">Settings</a>', body)


@pytest.mark.parametrize("value,text", [
    (dt.timedelta(microseconds=188091), "0.19 s"), (dt.timedelta(seconds=12, milliseconds=420), "12.4 s"),
    (dt.timedelta(seconds=125), "2 min 5 s"), (dt.timedelta(minutes=3), "3 min"),
    (dt.timedelta(hours=1, minutes=3, seconds=20), "1 h 3 min"), (dt.timedelta(days=2, hours=4), "2 d 4 h"),
    (dt.timedelta(seconds=59.97), "1 min"), (None, ""), (0.5, "0.50 s"),
])
def test_duration_filter(value, text):
    assert duration(value) == text


def test_run_durations_and_one_date_format_on_account_and_run_pages(admin_client, inventory):
    account = inventory.account
    for url in (account.get_absolute_url(), "/syncs/", SyncRun.objects.first().get_absolute_url(),
                f"/numbers/{inventory.pk}/"):
        body = admin_client.get(url).content.decode()
        assert "0:00:00" not in body, url
        assert not re.search(r"\b(a\.m\.|p\.m\.|noon|midnight)|\b[A-Z][a-z]{2}\. \d{1,2}, 20\d\d", body), url
        # Every timestamp on the page is "YYYY-MM-DD HH:MM" (no seconds, no second style).
        assert not re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", body), url
    runs = admin_client.get(account.get_absolute_url()).content.decode()
    assert "0.19 s" in runs and "2 min 5 s" in runs
    assert re.search(r"<dt>Last good sync</dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d</dd>", runs)


def test_acronyms_in_labels(admin_client):
    body = admin_client.get("/accounts/add/didww/").content.decode()
    assert ">API key<" in body and "Api key" not in body
    plivo = admin_client.get("/accounts/add/plivo/").content.decode()
    assert ">Auth ID<" in plivo
    assert ">Account SID<" in admin_client.get("/accounts/add/apifonica/").content.decode()
    assert key_label("api_key") == "API key" and key_label("org_id") == "Org ID" and key_label("base_url") == "Base URL"
    assert key_label("AI_RECEPTIONIST") == "AI receptionist" and key_label("HUNT_GROUP") == "Hunt group"


def test_loading_indicator_and_copy_button_are_csp_clean(admin_client, inventory):
    body = admin_client.get(f"/numbers/{inventory.pk}/").content.decode()
    assert 'hx-indicator="#loading"' in body and 'id="loading" class="htmx-indicator loading-bar"' in body
    assert 'data-copy="+4930901820"' in body and '<script src="/static/js/ui.js" defer></script>' in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body) and not re.search(r"\son[a-z]+=", body)
    assert "<style" not in body and " style=" not in body
    css = (open("static/css/app.css").read())
    assert ".htmx-request.htmx-indicator" in css and "prefers-color-scheme: dark" in css


def test_date_format_template_default():
    moment = dt.datetime(2026, 12, 4, 9, 5, 7, tzinfo=dt.timezone.utc)
    text = Template('{{ m }}|{{ m|date }}|{{ m|date:"DATETIME_FORMAT" }}|{{ d }}').render(
        Context({"m": moment, "d": dt.date(2026, 1, 2)}))
    assert text == "2026-12-04 09:05|2026-12-04|2026-12-04 09:05|2026-01-02"


def test_main_nav_marks_the_current_section(admin_client, inventory):
    def current(url):
        nav = re.search(r'<nav aria-label="Main">(.*?)</nav>', admin_client.get(url).content.decode(), re.S).group(1)
        return re.findall(r'<a href="([^"]+)" aria-current="page">', nav)

    assert current("/") == ["/"]  # the dashboard only on its own URL
    assert current("/caller-ids/?state=expired") == ["/caller-ids/"]
    number = PhoneNumber.objects.first()
    assert current(f"/numbers/{number.pk}/") == ["/numbers/"]  # and below its URL
    assert current("/syncs/") == ["/syncs/"] and current("/settings/") == []

"""Every in-app setting is bounded: an out-of-range value is a form error on the Settings page, and
a value stored before the bounds existed is clamped when read (never a 500 on the pages using it)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from numbersadmin.inventory.forms import SiteSettingsForm
from numbersadmin.inventory.models import CallerId, ProviderAccount, SiteSettings, bounds

pytestmark = pytest.mark.django_db

HUGE = "999999999"


def test_every_setting_has_a_lower_and_an_upper_bound():
    fields = [f for f in SiteSettings._meta.concrete_fields if not f.primary_key]
    assert fields
    for field in fields:
        lower, upper = bounds(field)
        assert lower is not None and upper is not None, field.name
        assert lower <= field.default <= upper, field.name


@pytest.mark.parametrize("value", [HUGE, "366", "0", "-1", "99999999999999999999999999", "1e9"])
def test_out_of_range_post_is_a_form_error_and_nothing_is_saved(admin_client, value):
    response = admin_client.post("/settings/", {"caller_id_expiry_window_days": value})
    assert response.status_code == 200
    body = response.content.decode()
    assert "field-error" in body or "errorlist" in body
    assert SiteSettings.load().caller_id_expiry_window_days == 30


def test_in_range_values_save_and_the_input_states_the_bounds(admin_client):
    for value in ("1", "365"):
        response = admin_client.post("/settings/", {"caller_id_expiry_window_days": value})
        assert response.status_code == 302
        assert SiteSettings.load().caller_id_expiry_window_days == int(value)
    body = admin_client.get("/settings/").content.decode()
    assert 'min="1"' in body and 'max="365"' in body


def test_form_error_names_the_limit():
    form = SiteSettingsForm({"caller_id_expiry_window_days": HUGE}, instance=SiteSettings.load())
    assert not form.is_valid()
    assert "365" in str(form.errors["caller_id_expiry_window_days"])


def _store_raw(value: int) -> None:
    """A value saved before the bounds existed (a queryset update skips validation)."""
    SiteSettings.load()
    SiteSettings.objects.filter(pk=1).update(caller_id_expiry_window_days=value)


@pytest.mark.parametrize("stored,expected", [(999_999_999, 365), (0, 1), (45, 45)])
def test_stored_out_of_range_value_is_clamped_when_read(stored, expected):
    _store_raw(stored)
    assert SiteSettings.load().caller_id_expiry_window_days == expected


def test_caller_id_pages_survive_a_huge_stored_window(admin_client):
    account = ProviderAccount.objects.create(provider="voximplant", name="vox", base_url="https://example.invalid")
    today = timezone.localdate()
    CallerId.objects.create(account=account, external_id="1", number_raw="442071838750", e164="+442071838750",
                            verified_until=today + dt.timedelta(days=300))
    _store_raw(999_999_999)
    for url in ("/caller-ids/", "/caller-ids/?state=expiring", "/caller-ids/?export=csv", "/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    body = admin_client.get("/caller-ids/").content.decode()
    assert "within 365 days" in body  # the clamped window is what the page explains and uses
    # verified in 300 days is inside the clamped 365-day window: expiring
    assert "badge-verif-expiring" in body
    # The Settings page shows the clamped value, and saving it as is stores a valid row again.
    assert 'value="365"' in admin_client.get("/settings/").content.decode()

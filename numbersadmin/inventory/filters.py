"""FilterSets: query string -> validated filters. Invalid values become form errors that the
view shows as a message (never a 500). Choice lists come from small tables (accounts,
locations), never from ``SELECT DISTINCT`` over the numbers table."""

from __future__ import annotations

import copy
import datetime as dt
import re

import django_filters as df
import phonenumbers
from django import forms
from django.db.models import Q
from django.utils import timezone

from providers import registry
from providers.plivo.mapping import POOL_GROUP_TYPE

from .choices import NumberKind, NumberStatus, VerificationState, key_label
from .countries import country_label
from .widgets import FastSelect
from .models import AuditLog, CallerId, Location, NumberGroup, Owner, PhoneNumber, ProviderAccount, Tag, Trunk, TrunkGroup


def _location_choices() -> dict[str, list[tuple[str, str]]]:
    """Country, region and city choices from the (small) locations table in one query."""
    countries: set[str] = set()
    regions, cities = set(), set()
    for code, region, city in Location.objects.values_list("country_code", "region", "city").distinct():
        if code:
            countries.add(code.upper())
        if region:
            regions.add(region)
        if city:
            cities.add(city)
    # Every region phonenumbers knows, so numbers without a location record (Plivo, Apifonica)
    # are filterable too: a static list, never a DISTINCT over the numbers table.
    countries.update(phonenumbers.SUPPORTED_REGIONS)
    return {
        # "Germany (DE)": names from one table (countries.py), never a bare code or a provider's spelling.
        "country": sorted(((c, country_label(c)) for c in countries), key=lambda x: x[1].casefold()),
        "region": [(r, r) for r in sorted(regions)],
        "city": [(c, c) for c in sorted(cities)],
    }


YES_NO = [("yes", "Yes"), ("no", "No")]
SEARCH_MAX_CHARS = 100  # longer search text is cut (it never matches anything real)


def within_days(field: str, start, days: int) -> Q:
    """``field`` from ``start`` to ``days`` later: the "expires within" filters and the dashboard's
    figures that link to them."""
    return Q(**{f"{field}__gte": start, f"{field}__lte": start + dt.timedelta(days=days)})


def _owner_type_choices() -> list[tuple[str, str]]:
    types = sorted(set(Owner.objects.exclude(owner_type="").values_list("owner_type", flat=True)))
    return [(t, key_label(t)) for t in types]


NULL = "null"  # the "is empty" choice value (django-filter's null_value)
EMPTY_LABEL = "(empty)"
ANY_LABEL = "Any"  # the blank choice of every filter select: no filter


class BlankChoiceFilter(df.ChoiceFilter):
    """A choice filter on a text column where "empty" means '' or NULL (django-filter's null
    choice only tests IS NULL)."""

    def filter(self, qs, value):
        if value == self.null_value:
            empty = Q(**{self.field_name: ""}) | Q(**{f"{self.field_name}__isnull": True})
            return qs.exclude(empty) if self.exclude else qs.filter(empty)
        return super().filter(qs, value)


class FastFilterSet(df.FilterSet):
    """Select widgets rendered in Python (see widgets.FastSelect); explicit widgets are kept.

    ``negatable`` filters also get a hidden ``<name>__n`` twin that excludes instead of filters
    ("is not", NetBox's ``__n``); filters declared with ``null_label`` offer "(empty)". The twins
    are hidden inputs of the same form, so changing another filter keeps them."""

    negatable: tuple[str, ...] = ()
    # Shown first; the rest sit under "More filters" (open when one of them is in use).
    primary: tuple[str, ...] | None = None
    # Values that mean "no filter" (no chip, not counted as in use).
    defaults: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.filters.values():
            if isinstance(f, (df.ChoiceFilter, df.ModelChoiceFilter)):
                if "widget" not in f.extra:
                    f.extra["widget"] = FastSelect
                f.extra.setdefault("empty_label", ANY_LABEL)  # "no filter" reads "Any", not "---------"

    def get_form_class(self):
        # Built here, not in __init__: subclasses fill choice lists after super().__init__().
        for name in self.negatable:
            if f"{name}__n" in self.filters:
                continue
            twin = copy.deepcopy(self.filters[name])
            twin.exclude = True
            twin.label = f"{self.filters[name].label} is not"
            twin.extra["widget"] = forms.HiddenInput
            twin.parent = self
            self.filters[f"{name}__n"] = twin
        return super().get_form_class()


def search_q(text: str) -> Q:
    """Formatting-insensitive number search: "+1 (415) 555", "1415555" and "415 555" all find
    +1415555...: digits match the start of the international digits or of the national number
    (a leading national trunk "0" is ignored). Text with letters also searches descriptions."""
    text = (text or "").strip()[:SEARCH_MAX_CHARS]
    digits = re.sub(r"\D", "", text)
    q = Q()
    if digits:
        q |= Q(digits__startswith=digits) | Q(national_digits__startswith=digits)
        if digits.startswith("00") and digits[2:]:  # international prefix: "0044 20..." is +44 20...
            q |= Q(digits__startswith=digits[2:])
        if digits.startswith("0") and digits.lstrip("0"):
            q |= Q(national_digits__startswith=digits.lstrip("0"))
    if re.search(r"[^\d\s()+\-.]", text):
        # Words also match what a number hangs off (owner, location, trunk) and local notes, so
        # Enter in the global search lands on the numbers those results stand for.
        q |= (Q(description__icontains=text) | Q(number_raw__icontains=text) | Q(owner__name__icontains=text)
              | Q(location__name__icontains=text) | Q(city__icontains=text) | Q(trunk__name__icontains=text)
              | Q(note__text__icontains=text) | Q(application__icontains=text))
    return q if q else Q(pk__in=[])


class NumberFilterSet(FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    provider = df.ChoiceFilter(choices=registry.choices, label="Provider")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    country = BlankChoiceFilter(choices=(), label="Country", null_label=EMPTY_LABEL)
    region = BlankChoiceFilter(choices=(), label="Region", null_label=EMPTY_LABEL)
    city = BlankChoiceFilter(choices=(), label="City", null_label=EMPTY_LABEL)
    status = df.ChoiceFilter(choices=NumberStatus.choices, label="Status")
    kind = df.ChoiceFilter(choices=NumberKind.choices, label="Kind")
    # only(): choice lists render names; never load provider payloads for a dropdown.
    trunk = df.ModelChoiceFilter(queryset=Trunk.objects.only("id", "name"), label="Trunk", null_label=EMPTY_LABEL)
    trunk_group = df.ModelChoiceFilter(queryset=TrunkGroup.objects.only("id", "name"), label="Trunk group",
                                       null_label=EMPTY_LABEL)
    number_group = df.ModelChoiceFilter(queryset=NumberGroup.objects.only("id", "name"), label="DID group", widget=forms.HiddenInput)
    location = df.ModelChoiceFilter(
        queryset=Location.objects.filter(removed_at__isnull=True).only("id", "name", "kind", "city", "region", "country_code"),
        label="Location", null_label=EMPTY_LABEL)
    owner = df.ModelChoiceFilter(queryset=Owner.objects.only("id", "name"), label="Owner", widget=forms.HiddenInput,
                                 null_label=EMPTY_LABEL)
    owner_type = BlankChoiceFilter(choices=(), field_name="owner__owner_type", label="Owner type")
    has_owner = df.ChoiceFilter(choices=[("yes", "Has an owner"), ("no", "No owner")], method="filter_has_owner",
                                label="Assigned")
    main_number = df.ChoiceFilter(choices=[("yes", "Main numbers"), ("no", "Not main")], method="filter_main",
                                  label="Main number")
    voice = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="Voice")
    sms = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="SMS")
    mms = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="MMS")
    pool = df.ModelChoiceFilter(queryset=NumberGroup.objects.filter(group_type=POOL_GROUP_TYPE).only("id", "name"),
                                field_name="pools", label="Number pool", distinct=False, null_label=EMPTY_LABEL)
    missing = df.ChoiceFilter(choices=[("yes", "Missing from the last listing"), ("no", "Listed")],
                              method="filter_missing", label="Missing")
    removed = df.ChoiceFilter(
        choices=[("live", "Hide removed"), ("only", "Only removed"), ("all", "Include removed")],
        method="filter_removed", label="Removed", empty_label=None,
    )
    expires_within = df.NumberFilter(method="filter_expires_within", label="Renews within (days)",
                                     min_value=0, max_value=3650)
    # Local data (notes/tags): never written by a sync.
    tag = df.ModelChoiceFilter(queryset=Tag.objects.only("id", "name"), to_field_name="name", field_name="tags",
                               label="Tag", distinct=False, null_label=EMPTY_LABEL)
    has_note = df.ChoiceFilter(choices=[("yes", "Has a note"), ("no", "No note")], method="filter_has_note",
                               label="Note")

    negatable = ("provider", "account", "country", "region", "city", "status", "kind", "trunk", "trunk_group",
                 "location", "owner", "owner_type", "pool", "tag")
    primary = ("q", "provider", "account", "country", "status", "kind", "trunk", "location", "tag")
    defaults = {"removed": "live"}

    class Meta:
        model = PhoneNumber
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, choices in _location_choices().items():
            self.filters[name].extra["choices"] = choices
        self.filters["owner_type"].extra["choices"] = _owner_type_choices()

    def filter_capability(self, queryset, name, value):
        # "no" also matches unknown (None): a provider that does not say is not SMS-capable.
        return queryset.filter(**{name: True}) if value == "yes" else queryset.exclude(**{name: True})

    def filter_has_owner(self, queryset, name, value):
        return queryset.filter(owner__isnull=value != "yes")

    def filter_has_note(self, queryset, name, value):
        return queryset.filter(note__isnull=value != "yes")

    def filter_expires_within(self, queryset, name, value):
        return queryset.filter(within_days("expires_at", timezone.now(), int(value)))

    def filter_main(self, queryset, name, value):
        return queryset.filter(is_main_number=True) if value == "yes" else queryset.exclude(is_main_number=True)

    def filter_q(self, queryset, name, value):
        return queryset.filter(search_q(value)) if value and value.strip() else queryset

    def filter_missing(self, queryset, name, value):
        # Missing numbers are live (not removed): the provider has not said they are gone.
        return queryset.filter(missing_since__isnull=value != "yes")

    def filter_removed(self, queryset, name, value):
        if value == "only":
            return queryset.filter(removed_at__isnull=False)
        if value == "all":
            return queryset
        return queryset

    @property
    def qs(self):
        qs = super().qs
        data = self.form.cleaned_data if self.form.is_valid() else {}
        removed = data.get("removed") or "live"
        if removed == "live" and data.get("status") != NumberStatus.REMOVED:
            qs = qs.filter(removed_at__isnull=True)
        return qs


class TrunkFilterSet(FastFilterSet):
    q = df.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.all(), label="Account")
    trunk_group = df.ModelChoiceFilter(queryset=TrunkGroup.objects.only("id", "name"), label="Trunk group",
                                       null_label=EMPTY_LABEL)
    negatable = ("account", "trunk_group")

    class Meta:
        model = Trunk
        fields: list[str] = []


class TrunkGroupFilterSet(FastFilterSet):
    q = df.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    negatable = ("account",)

    class Meta:
        model = TrunkGroup
        fields: list[str] = []


class NumberGroupFilterSet(FastFilterSet):
    """DIDWW DID groups and Plivo number pools (one model, told apart by ``group_type``)."""

    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    kind = df.ChoiceFilter(choices=[("did_group", "DID group (DIDWW)"), ("pool", "Number pool (Plivo)")],
                           method="filter_kind", label="Kind")
    negatable = ("account",)

    class Meta:
        model = NumberGroup
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()[:SEARCH_MAX_CHARS]
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(prefix__icontains=value))

    def filter_kind(self, queryset, name, value):
        pools = Q(group_type=POOL_GROUP_TYPE)
        return queryset.filter(pools if value == "pool" else ~pools)


class CallerIdFilterSet(FastFilterSet):
    """Expects a queryset annotated with ``state`` and ``owned_number_id`` (selectors.caller_id_queryset)."""

    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    state = df.ChoiceFilter(choices=VerificationState.choices, label="Verification")
    expires_within = df.NumberFilter(method="filter_expires_within", label="Expires within (days)",
                                     min_value=0, max_value=3650)
    owned = df.ChoiceFilter(choices=[("yes", "Owned in a connected account"), ("no", "Not owned anywhere")],
                            method="filter_owned", label="Ownership")
    active = df.ChoiceFilter(choices=[("yes", "Active"), ("no", "Inactive")], method="filter_active", label="Active")
    negatable = ("account", "state")

    class Meta:
        model = CallerId
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        digits = re.sub(r"\D", "", value or "")
        if not digits:
            text = (value or "").strip()[:SEARCH_MAX_CHARS]
            return queryset.filter(number_raw__icontains=text) if text else queryset
        return queryset.filter(Q(e164__startswith="+" + digits) | Q(e164__contains=digits) | Q(number_raw__contains=digits))

    def filter_expires_within(self, queryset, name, value):
        return queryset.filter(within_days("verified_until", timezone.localdate(), int(value)))

    def filter_active(self, queryset, name, value):
        return queryset.filter(active=value == "yes")

    def filter_owned(self, queryset, name, value):
        return queryset.filter(owned_number_id__isnull=value != "yes")


class OwnerFilterSet(FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search name")
    owner_type = df.ChoiceFilter(choices=(), label="Type")
    location = df.ModelChoiceFilter(queryset=Location.objects.filter(kind="site").only("id", "name", "kind"),
                                    label="Location", null_label=EMPTY_LABEL)
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    negatable = ("owner_type", "location", "account")

    class Meta:
        model = Owner
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner_type"].extra["choices"] = _owner_type_choices()

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()[:SEARCH_MAX_CHARS]
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(first_name__icontains=value) | Q(last_name__icontains=value))


class LocationFilterSet(FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    country = BlankChoiceFilter(choices=(), field_name="country_code", label="Country", null_label=EMPTY_LABEL)
    kind = df.ChoiceFilter(choices=[("site", "Site (Webex)"), ("city", "City"), ("region", "Region"), ("country", "Country")],
                           label="Kind")
    negatable = ("account", "country", "kind")

    class Meta:
        model = Location
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["country"].extra["choices"] = _location_choices()["country"]

    def filter_q(self, queryset, name, value):
        value = (value or "").strip()[:SEARCH_MAX_CHARS]
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(city__icontains=value) | Q(region__icontains=value))


class AuditLogFilterSet(FastFilterSet):
    action = df.ChoiceFilter(choices=(), label="Action")
    user = df.CharFilter(field_name="username", lookup_expr="icontains", label="User", max_length=150)
    target = df.CharFilter(lookup_expr="icontains", label="Target", max_length=200)
    date_from = df.DateFilter(field_name="at", lookup_expr="date__gte", label="From",
                              widget=forms.DateInput(attrs={"type": "date"}))
    date_to = df.DateFilter(field_name="at", lookup_expr="date__lte", label="To",
                            widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditLog
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The audit table is small (exports and admin actions only).
        actions = AuditLog.objects.order_by("action").values_list("action", flat=True).distinct()
        self.filters["action"].extra["choices"] = [(a, a) for a in actions]

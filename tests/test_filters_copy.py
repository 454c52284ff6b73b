"""FastFilterSet copies its declared filters one level deep (attributes and ``extra``) instead of
django-filter's deepcopy, and its one form takes the fields built for it. Nothing an instance does
may reach the class or another instance."""

from __future__ import annotations

import django_filters as df
import pytest
from django.http import QueryDict

from numbersadmin.inventory import scopes
from numbersadmin.inventory.filters import CallerIdFilterSet, FastFilterSet, NumberFilterSet
from numbersadmin.inventory.models import CallerId, Location, PhoneNumber, ProviderAccount

pytestmark = pytest.mark.django_db


def _extras(cls) -> dict:
    return {name: dict(f.extra) for name, f in cls.base_filters.items()}


def test_same_state_as_django_filters_own_init():
    ours = CallerIdFilterSet(QueryDict("state=expired"), request=None, prefix="p")
    theirs = df.FilterSet.__new__(CallerIdFilterSet)
    df.filterset.BaseFilterSet.__init__(theirs, QueryDict("state=expired"), ours.queryset, prefix="p")
    assert set(vars(theirs)) <= set(vars(ours))
    for attr in ("is_bound", "data", "queryset", "request", "form_prefix"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert list(ours.filters) == list(theirs.filters)
    for name, f in ours.filters.items():
        base = CallerIdFilterSet.base_filters[name]
        assert f is not base and f.extra is not base.extra
        assert f.model is CallerId and f.parent is ours
        assert (f.field_name, f.lookup_expr, f.label, f.method) == (base.field_name, base.lookup_expr, base.label, base.method)


def test_instances_never_change_the_class_or_each_other(django_user_model):
    before = {cls: _extras(cls) for cls in (CallerIdFilterSet, NumberFilterSet)}
    account = ProviderAccount.objects.create(provider="didww", name="A", base_url="https://example.invalid")
    Location.objects.create(account=account, name="HQ", kind="site", external_id="l1")
    user = django_user_model.objects.create(username="u")
    with scopes.acting_for(user):  # a scoped viewer: the dropdown querysets are replaced per instance
        one = CallerIdFilterSet(QueryDict(""))
        str(one.form["location"])  # the form built and a dropdown rendered
    two = CallerIdFilterSet(QueryDict(""))
    assert one.filters["location"].queryset is not two.filters["location"].queryset
    assert one.filters["location"].extra is not two.filters["location"].extra
    numbers = NumberFilterSet(QueryDict("country=GB"), queryset=PhoneNumber.objects.all())
    numbers.form.is_valid()
    assert {cls: _extras(cls) for cls in (CallerIdFilterSet, NumberFilterSet)} == before
    assert "HQ" in str(two.form["location"])


def test_the_form_takes_its_fields_and_a_second_form_gets_copies():
    class Small(FastFilterSet):
        name = df.CharFilter()
        provider = df.ChoiceFilter(choices=[("didww", "DIDWW")])

        class Meta:
            model = ProviderAccount
            fields: list[str] = []

    fs = Small(QueryDict("provider=didww"))
    form = fs.form
    assert form.is_valid() and form.cleaned_data["provider"] == "didww"
    assert form.fields["provider"] is fs.filters["provider"].field  # taken, not copied
    again = type(form)(QueryDict("provider=nope"))
    assert again.fields["provider"] is not form.fields["provider"]
    assert not again.is_valid() and form.is_valid()  # each form its own errors
    assert Small(QueryDict("")).form.fields["provider"] is not form.fields["provider"]


def test_method_filters_call_their_own_filtersets_method():
    # A ``method=`` filter's FilterMethod points at its filter; a copy that kept the class's
    # would find no parent FilterSet.
    account = ProviderAccount.objects.create(provider="didww", name="A", base_url="https://example.invalid")
    CallerId.objects.create(account=account, external_id="c1", number_raw="+14155550100", e164="+14155550100",
                            active=True)
    CallerId.objects.create(account=account, external_id="c2", number_raw="+14155550101", e164="+14155550101",
                            active=False)
    fs = CallerIdFilterSet(QueryDict("active=no"), queryset=CallerId.objects.all())
    assert fs.filters["active"].filter.f is fs.filters["active"]
    assert [c.external_id for c in fs.qs] == ["c2"]

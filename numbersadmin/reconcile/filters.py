"""The findings list's filters (the inventory lists' vocabulary: FastFilterSet, ``__n`` negations)."""

from __future__ import annotations

import django_filters as df

from numbersadmin.inventory.filters import FastFilterSet, text_search_q
from numbersadmin.inventory.models import ProviderAccount

from .models import Finding, FindingKind, FindingState


class FindingFilterSet(FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    kind = df.ChoiceFilter(choices=FindingKind.choices, label="Kind")
    state = df.ChoiceFilter(choices=FindingState.choices, label="State")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), field_name="accounts",
                                   distinct=False, label="Account")
    negatable = ("kind", "state", "account")

    class Meta:
        model = Finding
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        # Every word in the summary, the rows involved (numbers, caller IDs, accounts) or the reason.
        return queryset.filter(text_search_q(value, ("summary", "involved", "reason")))

"""The findings list as a ListSpec: registered into inventory's lists.LISTS from apps.py, so the
page (/reconcile/), exports, saved views, ``manage.py export findings`` and /api/v1/findings/
all come from it."""

from __future__ import annotations

from numbersadmin.inventory.lists import ListSpec

from .filters import FindingFilterSet
from .models import Finding
from .tables import FINDING_COLUMNS, FINDING_SORTS


def finding_list(params) -> FindingFilterSet:
    return FindingFilterSet(params, queryset=Finding.objects.select_related("account"))


FINDINGS = ListSpec("findings", "Reconciliation", "findings", finding_list, FINDING_COLUMNS, FINDING_SORTS, "kind",
                    keyset=False, table_id="findings-table", empty_text="No findings match these filters.",
                    search_placeholder="Number, account, reason…", intro_template="reconcile/intro.html",
                    model=Finding)

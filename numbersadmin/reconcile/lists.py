"""The findings list as a ListSpec: registered into inventory's lists.LISTS from apps.py, so the
page (/reconcile/), exports, saved views, ``manage.py export findings`` and /api/v1/findings/
all come from it."""

from __future__ import annotations

from numbersadmin.inventory.lists import ListSpec
from numbersadmin.inventory.scopes import scoped_all

from .filters import FindingFilterSet
from .models import Finding
from .tables import FINDING_COLUMNS, FINDING_SORTS


def finding_list(params) -> FindingFilterSet:
    return FindingFilterSet(params, queryset=visible_findings().select_related("account"))


def visible_findings():
    """Findings whose every account the viewer sees (inventory.scopes): a finding names the
    accounts involved, so one that also involves an out-of-scope account is not shown at all."""
    return scoped_all(Finding.objects.all())


FINDINGS = ListSpec("findings", "Reconciliation", "findings", finding_list, FINDING_COLUMNS, FINDING_SORTS, "kind",
                    keyset=False, table_id="findings-table", empty_text="No findings match these filters.",
                    search_placeholder="Number, account, reason…", intro_template="reconcile/intro.html",
                    model=Finding)

"""DID groups (DIDWW) and number pools (Plivo): a drill-down page with the group's numbers."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse

from .. import selectors
from ..models import NumberGroup
from .common import detail_page


def group_detail(request, pk: int):
    group = get_object_or_404(selectors.scoped(NumberGroup.objects.select_related("account", "location")), pk=pk)
    numbers, param, _ = selectors.numbers_of(group)
    live = numbers.filter(removed_at__isnull=True).order_by("e164", "pk")
    services = sorted({s for n in live[:500] for s, on in (("voice", n.voice), ("sms", n.sms), ("mms", n.mms)) if on})
    memberships = selectors.pool_members(group) if param == "pool" else []
    return detail_page(request, "inventory/groups/detail.html", group, name="group", crumb=("DID groups & pools", reverse("groups")),
                       is_pool=param == "pool", services=services, memberships=memberships)

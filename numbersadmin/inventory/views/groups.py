"""DID groups (DIDWW) and number pools (Plivo): a drill-down page with the group's numbers."""

from __future__ import annotations

from django.db.models import Q
from django.shortcuts import get_object_or_404, render

from .. import selectors
from ..models import NumberGroup
from ..tables import number_table
from .trunks import RELATED_LIMIT


def group_detail(request, pk: int):
    group = get_object_or_404(NumberGroup.objects.select_related("account", "location"), pk=pk)
    qs = selectors.number_queryset().filter(Q(number_group=group) | Q(pools=group), removed_at__isnull=True)
    qs = qs.distinct().order_by("e164", "pk")
    total = qs.count()
    is_pool = group.group_type == "number_pool"
    services = sorted({s for n in qs[:500] for s, on in (("voice", n.voice), ("sms", n.sms), ("mms", n.mms)) if on})
    return render(request, "inventory/groups/detail.html", {
        "group": group, "table": number_table(list(qs[:RELATED_LIMIT])), "total": total, "limit": RELATED_LIMIT,
        "is_pool": is_pool, "services": services,
        "list_url": f"/numbers/?{'pool' if is_pool else 'number_group'}={group.pk}",
    })

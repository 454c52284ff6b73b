from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from .. import selectors
from ..models import Trunk, TrunkGroup
from ..tables import number_table

RELATED_LIMIT = 50  # drill-down pages cap related rows and link to the filtered list


def _related_numbers(**lookup):
    qs = selectors.number_queryset().filter(removed_at__isnull=True, **lookup).order_by("e164", "pk")
    return number_table(list(qs[:RELATED_LIMIT])), qs.count()


def trunk_detail(request, pk: int):
    trunk = get_object_or_404(Trunk.objects.select_related("account", "trunk_group"), pk=pk)
    table, total = _related_numbers(trunk=trunk)
    return render(request, "inventory/trunks/detail.html", {
        "trunk": trunk, "table": table, "total": total, "limit": RELATED_LIMIT,
    })


def trunk_group_detail(request, pk: int):
    group = get_object_or_404(TrunkGroup.objects.select_related("account"), pk=pk)
    table, total = _related_numbers(trunk_group=group)
    via_trunks = selectors.number_queryset().filter(removed_at__isnull=True, trunk__trunk_group=group).count()
    return render(request, "inventory/trunks/group_detail.html", {
        "group": group, "trunks": group.trunks.all(), "table": table, "total": total, "limit": RELATED_LIMIT,
        "via_trunks": via_trunks,
    })

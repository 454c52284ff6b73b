"""Trunks and trunk groups: drill-down pages with their numbers."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse

from .. import selectors
from ..models import Trunk, TrunkGroup
from .common import detail_page


def trunk_detail(request, pk: int):
    trunk = get_object_or_404(selectors.scoped(Trunk.objects.select_related("account", "trunk_group")), pk=pk)
    return detail_page(request, "inventory/trunks/detail.html", trunk, name="trunk", title_prefix="Trunk ",
                       crumb=("Trunks", reverse("trunks")))


def trunk_group_detail(request, pk: int):
    group = get_object_or_404(selectors.scoped(TrunkGroup.objects.select_related("account")), pk=pk)
    via_trunks = selectors.number_queryset().filter(removed_at__isnull=True, trunk__trunk_group=group).count()
    return detail_page(request, "inventory/trunks/group_detail.html", group, name="group", title_prefix="Trunk group ",
                       crumb=("Trunk groups", reverse("trunk_groups")),
                       trunks=group.trunks.all(),
                       via_trunks=via_trunks)

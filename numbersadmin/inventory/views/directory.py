"""Owners and locations: lists and drill-down pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.utils.http import urlencode

from .. import selectors
from ..models import CallerId, Location, Owner
from .trunks import RELATED_LIMIT, _related_numbers


def owner_detail(request, pk: int):
    owner = get_object_or_404(Owner.objects.select_related("account", "location"), pk=pk)
    table, total = _related_numbers(owner=owner)
    return render(request, "inventory/directory/owner_detail.html", {
        "owner": owner, "table": table, "total": total, "limit": RELATED_LIMIT,
    })


def location_detail(request, pk: int):
    location = get_object_or_404(Location.objects.select_related("account"), pk=pk)
    table, total = _related_numbers(location=location)
    candidates = CallerId.objects.filter(location=location, removed_at__isnull=True).order_by("e164")
    neighbours = selectors.location_neighbours(location)
    for n in neighbours:
        query = {"account": n["account_id"], "country": location.country_code}
        if location.city:
            query["city"] = location.city
        n["url"] = "/numbers/?" + urlencode(query)
    main = location.main_number and selectors.number_queryset().filter(e164=location.main_number,
                                                                       account=location.account).first()
    return render(request, "inventory/directory/location_detail.html", {
        "location": location, "table": table, "total": total, "limit": RELATED_LIMIT, "candidates": candidates,
        "neighbours": neighbours, "main": main,
        "owners": location.owners.filter(removed_at__isnull=True).order_by("name")[:RELATED_LIMIT],
    })

"""Owners and locations: lists and drill-down pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import urlencode

from .. import history, selectors
from ..models import CallerId, Location, Owner
from .common import RELATED_LIMIT, detail_page


def owner_detail(request, pk: int):
    owner = get_object_or_404(selectors.scoped(Owner.objects.select_related("account", "location")), pk=pk)
    return detail_page(request, "inventory/directory/owner_detail.html", owner, name="owner",
                       crumb=("Owners", reverse("owners")), timeline=history.timeline(owner))


def location_detail(request, pk: int):
    location = get_object_or_404(selectors.scoped(Location.objects.select_related("account")), pk=pk)
    # The numbers this location may present as external caller ID (its candidate list; each
    # candidate's own location can be another one).
    candidates = selectors.scoped(CallerId.objects.filter(listed_for=location, removed_at__isnull=True)).order_by("e164")
    neighbours = selectors.location_neighbours(location)
    for n in neighbours:
        query = {"account": n["account_id"], "country": location.country_code}
        if location.city:
            query["city"] = location.city
        n["url"] = "/numbers/?" + urlencode(query)
    main = location.main_number and selectors.number_queryset().filter(e164=location.main_number,
                                                                       account=location.account).first()
    return detail_page(request, "inventory/directory/location_detail.html", location, name="location",
                       crumb=("Locations", reverse("locations")), timeline=history.timeline(location),
                       candidates=candidates,
                       neighbours=neighbours, main=main,
                       owners=location.owners.filter(removed_at__isnull=True).order_by("name")[:RELATED_LIMIT])

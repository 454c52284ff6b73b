from __future__ import annotations

import json

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import render

from .. import history, selectors
from ..forms import NumberAnnotateForm
from ..models import CallerId, PhoneNumber, Tag


def number_detail(request, pk: int, annotate_form=None):
    try:
        number = selectors.number_get(pk)
    except PhoneNumber.DoesNotExist:
        raise Http404("No such number")
    # Local notes/tags: one query each (a missing note caches as absent, no extra query).
    prefetch_related_objects([number], Prefetch("tags", queryset=Tag.objects.only("id", "name")),
                             "note__updated_by")
    tags = list(number.tags.all())
    note = getattr(number, "note", None)
    selectors.attach_health([number.account])  # the health badge next to the number
    if annotate_form is None:  # else: a rejected POST, shown with what was typed
        annotate_form = NumberAnnotateForm(initial={"note": note.text if note else "",
                                                    "tags": ", ".join(t.name for t in tags)})
    return render(request, "inventory/numbers/detail.html", {
        "number": number,
        "timeline": history.number_timeline(number),
        "caller_ids": selectors.caller_ids_for_number(number),
        "pool_memberships": selectors.pool_memberships_of(number),
        "raw_json": json.dumps(number.raw, indent=2, sort_keys=True),
        "trunk_raw": json.dumps(number.trunk.raw, indent=2, sort_keys=True) if number.trunk else "",
        "tags": tags, "note": note, "annotate_form": annotate_form,
    })


def caller_id_detail(request, pk: int):
    """One caller ID: its state, where it lives (Webex candidates), the number that owns it and
    its history (verified_until, active and attempts-left changes between syncs)."""
    caller_id = selectors.caller_id_get(pk)
    if caller_id is None:
        raise Http404("No such caller ID")
    selectors.attach_owners([caller_id])
    selectors.attach_health([caller_id.account])
    return render(request, "inventory/caller_ids/detail.html", {
        "caller_id": caller_id,
        "history": selectors.caller_id_history(caller_id),
        "raw_json": json.dumps(caller_id.raw, indent=2, sort_keys=True),
    })

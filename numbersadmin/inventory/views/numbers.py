from __future__ import annotations

import json

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.shortcuts import render

from .. import history, selectors
from ..forms import NumberAnnotateForm
from ..models import PhoneNumber, Tag


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
        "raw_json": json.dumps(number.raw, indent=2, sort_keys=True),
        "trunk_raw": json.dumps(number.trunk.raw, indent=2, sort_keys=True) if number.trunk else "",
        "tags": tags, "note": note, "annotate_form": annotate_form,
    })

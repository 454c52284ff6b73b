from __future__ import annotations

import itertools
import json

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404, QueryDict
from django.shortcuts import render
from django.utils import timezone

from .. import diff, forms, history, lists, selectors
from ..forms import NumberAnnotateForm
from ..services.audit import audit
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
        "timeline": history.timeline(caller_id),
        "raw_json": json.dumps(caller_id.raw, indent=2, sort_keys=True),
    })


DIFF_SHOWN = 500  # rows on the page; the export has them all


def numbers_diff(request):
    """What changed between two moments (``from``, ``to``: dates or times; ``to`` defaults to now),
    for the numbers the list's filters select at ``to``; ``export=csv|xlsx`` writes every row."""
    form = forms.DiffForm(request.GET if "from" in request.GET else None)
    kept = lists.without(request.GET, "from", "to", "export")[1:]
    context = {"form": form, "list_params": kept, "form_hidden": [(k, v) for k, vs in QueryDict(kept).lists() for v in vs], "rows": None,
               "notices": [f"{form.fields[f].label + ': ' if f in form.fields else ''}{e}"
                           for f, errors in form.errors.items() for e in errors] if form.is_bound else []}
    if form.is_bound and form.is_valid():
        plan = lists.diff_plan(request.GET, form.cleaned_data["start"], form.cleaned_data["end"])
        notices = lists.form_notices(plan.filterset)
        fmt = request.GET.get("export")
        if fmt in ("csv", "xlsx") and not notices:
            return _diff_export(request, fmt, plan)
        shown = list(itertools.islice(plan.rows(), DIFF_SHOWN + 1))
        context.update(start=plan.start, end=plan.end, rows=shown[:DIFF_SHOWN], more=len(shown) > DIFF_SHOWN,
                       summary=diff.summary(shown[:DIFF_SHOWN]), notices=context["notices"] + notices,
                       shown_limit=DIFF_SHOWN,
                       query=request.GET.urlencode())
    return render(request, "inventory/numbers/diff.html", context)


def _diff_export(request, fmt, plan):
    manifest = plan.manifest(request.user.get_username(), request.GET.urlencode())
    base = (f"numbers-diff-{timezone.localtime(plan.start):%Y%m%d-%H%M}-"
            f"{timezone.localtime(plan.end):%Y%m%d-%H%M}")
    audit(request.user, "export", "numbers_diff", {"format": fmt, "from": plan.start.isoformat(),
                                                    "to": plan.end.isoformat(), "filters": manifest.filters})
    return lists.file_response(fmt, base, diff.FIELDS, manifest, rows=(r.values() for r in plan.rows()))

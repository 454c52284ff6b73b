from __future__ import annotations

import json

from django.http import Http404
from django.shortcuts import render

from .. import selectors
from ..models import PhoneNumber
from ..pagination import count_rows
from ..services import exports
from ..tables import number_table
from .common import active_filters, csv_response, form_notices, paged, parse_per_page, render_page, PER_PAGE_CHOICES


def number_list(request):
    filterset = selectors.number_list(request.GET)
    notices = form_notices(filterset)
    sort, error = selectors.parse_sort(request.GET.get("sort"), selectors.NUMBER_SORTS, selectors.DEFAULT_NUMBER_SORT)
    if error:
        notices.append(error)
    qs = filterset.qs
    if request.GET.get("export") == "csv":
        ordered = qs.order_by(f"-{sort.field}" if sort.descending else sort.field, "-pk" if sort.descending else "pk")
        return csv_response(request, ordered, exports.NUMBER_COLUMNS, "numbers", active_filters(filterset),
                            count_rows(qs)[0])
    per_page = parse_per_page(request.GET.get("per_page"), notices)
    page = paged(request, qs, field=sort.field, descending=sort.descending, per_page=per_page, notices=notices)
    table = number_table(page.rows)
    # Filters without a visible control (reached from drill-down links) are shown as removable chips.
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    hidden = [(filterset.form.fields[name].label, data[name], _without(request.GET, name))
              for name in ("number_group", "owner") if data.get(name)]
    return render_page(request, "inventory/numbers/list.html", {
        "filterset": filterset, "table": table, "page": page, "sort": sort, "notices": notices,
        "per_page_choices": PER_PAGE_CHOICES, "per_page": per_page, "hidden_filters": hidden,
    })


def number_detail(request, pk: int):
    try:
        number = selectors.number_get(pk)
    except PhoneNumber.DoesNotExist:
        raise Http404("No such number")
    return render(request, "inventory/numbers/detail.html", {
        "number": number,
        "history": selectors.number_history(number),
        "caller_ids": selectors.caller_ids_for_number(number),
        "raw_json": json.dumps(number.raw, indent=2, sort_keys=True),
        "trunk_raw": json.dumps(number.trunk.raw, indent=2, sort_keys=True) if number.trunk else "",
    })


def _without(params, *names: str) -> str:
    query = params.copy()
    for name in (*names, "cursor", "page"):
        query.pop(name, None)
    return "?" + query.urlencode()

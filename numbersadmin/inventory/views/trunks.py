from __future__ import annotations

from django.shortcuts import get_object_or_404, render

from .. import selectors
from ..models import Trunk, TrunkGroup
from ..pagination import count_rows
from ..services import exports
from ..tables import number_table, trunk_group_table, trunk_table
from .common import active_filters, csv_response, form_notices, paged, parse_per_page, render_page

RELATED_LIMIT = 50  # drill-down pages cap related rows and link to the filtered list


def _simple_list(request, filterset, table_class, columns, list_name, template):
    notices = form_notices(filterset)
    qs = filterset.qs
    if request.GET.get("export") == "csv":
        return csv_response(request, qs.order_by("name", "pk"), columns, list_name, active_filters(filterset),
                            count_rows(qs)[0])
    per_page = parse_per_page(request.GET.get("per_page"), notices)
    page = paged(request, qs, field="name", descending=False, per_page=per_page, notices=notices)
    return render_page(request, template, {
        "filterset": filterset, "table": table_class(page.rows), "page": page, "notices": notices,
        "per_page": per_page,
    })


def trunk_list(request):
    return _simple_list(request, selectors.trunk_list(request.GET), trunk_table, exports.TRUNK_COLUMNS, "trunks",
                        "inventory/trunks/list.html")


def trunk_group_list(request):
    return _simple_list(request, selectors.trunk_group_list(request.GET), trunk_group_table,
                        exports.TRUNK_GROUP_COLUMNS, "trunk-groups", "inventory/trunks/group_list.html")


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

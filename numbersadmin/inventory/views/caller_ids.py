from __future__ import annotations

from django.core.paginator import InvalidPage, Paginator

from .. import selectors
from ..models import SiteSettings
from ..services import exports
from ..tables import caller_id_table
from .common import PER_PAGE_CHOICES, active_filters, csv_response, form_notices, parse_per_page, render_page


def caller_id_list(request):
    """Caller IDs are few (hundreds per account), so plain page numbers are fine here; sorting by
    verified_until keeps never-verified ones last."""
    filterset = selectors.caller_id_list(request.GET)
    notices = form_notices(filterset)
    sort, error = selectors.parse_sort(request.GET.get("sort"), selectors.CALLER_ID_SORTS, "verified_until")
    if error:
        notices.append(error)
    qs = selectors.caller_id_order(filterset.qs, sort)
    if request.GET.get("export") == "csv":
        return csv_response(request, qs, exports.CALLER_ID_COLUMNS, "caller-ids", active_filters(filterset), qs.count())
    per_page = parse_per_page(request.GET.get("per_page"), notices)
    paginator = Paginator(qs, per_page)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        notices.append(f"There is no page {str(request.GET.get('page'))[:20]!r}; showing the first page.")
        page = paginator.page(1)
    rows = list(page.object_list)
    selectors.attach_owners(rows)
    return render_page(request, "inventory/caller_ids/list.html", {
        "filterset": filterset, "table": caller_id_table(rows), "page_obj": page, "sort": sort, "notices": notices,
        "per_page": per_page, "per_page_choices": PER_PAGE_CHOICES,
        "window": SiteSettings.load().caller_id_expiry_window_days,
    })

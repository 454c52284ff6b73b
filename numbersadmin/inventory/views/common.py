"""Helpers shared by the views: one URL serves the page, its HTMX partial and the export; one
shape for the drill-down pages."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode

from .. import selectors
from ..pagination import InvalidCursor, KeysetPage, keyset_page
from ..tables import number_table


def htmx_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(request: HttpRequest, template: str, context: dict, partial: str | None = "results"):
    name = f"{template}#{partial}" if partial and htmx_partial(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def paged(request: HttpRequest, qs, *, field: str, descending: bool, per_page: int, notices: list[str]) -> KeysetPage:
    cursor = request.GET.get("cursor") or None
    page_param = request.GET.get("page")
    if page_param not in (None, "", "first", "last"):
        notices.append(f"Unknown page {page_param[:20]!r}; showing the first page.")
    try:
        return keyset_page(qs, field=field, descending=descending, cursor=cursor, per_page=per_page,
                           last=page_param == "last" and not cursor)
    except InvalidCursor:
        notices.append("That page link is not valid (it may be from an older view); showing the first page.")
        return keyset_page(qs, field=field, descending=descending, cursor=None, per_page=per_page)


RELATED_LIMIT = 50  # drill-down pages cap related rows and link to the filtered list


def detail_page(request: HttpRequest, template: str, obj, *, name: str, crumb: tuple[str, str],
                title_prefix: str = "", **extra):
    """A drill-down page on inventory/detail_base.html: ``obj`` (also as ``name`` in the template),
    its live numbers (first RELATED_LIMIT rows, and the total) and a link to the filtered list."""
    numbers, param, value = selectors.numbers_of(obj)
    numbers = numbers.filter(removed_at__isnull=True).order_by("e164", "pk")
    list_url = f"{reverse('numbers')}?{urlencode({param: value})}"
    selectors.attach_health([obj.account])  # the health badge in the page head
    return render(request, template, {
        "object": obj, name: obj, "crumb_label": crumb[0], "crumb_url": crumb[1], "title_prefix": title_prefix,
        "table": number_table(list(numbers[:RELATED_LIMIT])), "total": numbers.count(), "limit": RELATED_LIMIT,
        "list_url": list_url, **extra,
    })

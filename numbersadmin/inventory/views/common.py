"""Helpers shared by the list views: one URL serves the page, its HTMX partial and the export."""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify

from ..pagination import InvalidCursor, KeysetPage, keyset_page
from ..services import exports
from ..services.accounts import audit

PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 50


def htmx_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(request: HttpRequest, template: str, context: dict, partial: str | None = "results"):
    name = f"{template}#{partial}" if partial and htmx_partial(request) else template
    response = render(request, name, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def form_notices(filterset) -> list[str]:
    notices = []
    if filterset.is_bound and not filterset.is_valid():
        for field, errors in filterset.form.errors.items():
            label = filterset.form.fields[field].label if field in filterset.form.fields else field
            notices.append(f"Ignored filter {label}: {' '.join(errors)}")
    return notices


def parse_per_page(value: str | None, notices: list[str]) -> int:
    if not value:
        return DEFAULT_PER_PAGE
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number not in PER_PAGE_CHOICES:
        notices.append(f"Page size must be one of {', '.join(map(str, PER_PAGE_CHOICES))}; showing {DEFAULT_PER_PAGE}.")
        return DEFAULT_PER_PAGE
    return number


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


def csv_response(request: HttpRequest, qs, columns, list_name: str, filters: dict, rows: int) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    filename = f"{slugify(list_name)}-{stamp}.csv"  # slugified: no header injection
    audit(request.user, "export", list_name, {"format": "csv", "filters": filters}, rows=rows)
    response = StreamingHttpResponse(exports.csv_rows(qs, columns), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def active_filters(filterset) -> dict:
    """The valid filters in use (invalid ones were ignored, so they are not reported either)."""
    filterset.is_valid()  # runs cleaning when bound
    data = getattr(filterset.form, "cleaned_data", {})
    return {k: str(v) for k, v in data.items() if v not in (None, "", [])}

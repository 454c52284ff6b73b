"""Refuse requests carrying NUL characters in the path, query or form fields: PostgreSQL text cannot
hold them (a 500 deep in a query otherwise), and no legitimate input here contains one."""

from __future__ import annotations

from django.http import HttpResponseBadRequest

MESSAGE = "This request contains a NUL character (\\0), which no field here accepts. Remove it and try again."


def _has_nul(query_dict) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in query_dict.lists())


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or _has_nul(request.GET) or (
                request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

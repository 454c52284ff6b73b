"""Request-scoped memos: read once per request, never kept across requests."""

from __future__ import annotations

from .models import site_settings_memo


class SiteSettingsMemoMiddleware:
    """``SiteSettings.load()`` reads the settings row once per request (the caller-ID list asked
    twice: its queryset and its intro line). Nothing is cached between requests, so a saved
    change is seen by the next request in every process."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with site_settings_memo():
            return self.get_response(request)

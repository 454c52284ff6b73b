"""The 500 handler. Django's default renders 500.html without the request, so the page would lose
its navigation; this one renders it with the request (user, menu) and falls back to the bare
template, then to plain text, when rendering itself fails (a broken database, a broken template)."""

from __future__ import annotations

import logging

from django.http import HttpResponseServerError
from django.template import loader

logger = logging.getLogger(__name__)


def server_error(request, template_name: str = "500.html"):
    template = None
    try:
        template = loader.get_template(template_name)
        return HttpResponseServerError(template.render({}, request))
    except Exception:  # noqa: BLE001 - the error page must not fail: degrade step by step
        logger.warning("500 page: rendering with the request failed; showing it without navigation", exc_info=True)
    try:
        if template is not None:
            return HttpResponseServerError(template.render())
    except Exception:  # noqa: BLE001
        logger.warning("500 page: template failed; answering in plain text", exc_info=True)
    return HttpResponseServerError("Server error. The error has been logged; reload in a moment.",
                                   content_type="text/plain; charset=utf-8")

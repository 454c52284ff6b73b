"""Global search (header box): grouped matches with counts. The header shows the ``results``
partial in a dropdown; the full page is the no-JS fallback and the "all results" link."""

from __future__ import annotations

from .. import selectors
from .common import render_page


def global_search(request):
    q = selectors.clean_search_text(request.GET.get("q"))
    groups = selectors.global_search(q)
    return render_page(request, "inventory/search.html", {
        "q": q, "groups": groups, "matches": [g for g in groups if g.count],
    })

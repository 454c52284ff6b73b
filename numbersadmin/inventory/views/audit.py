"""Audit log browsing for admins (issue 7). Being built."""

from django.http import Http404


def audit_list(request):
    raise Http404("Not built yet")

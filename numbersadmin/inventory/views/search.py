"""Global search (issue 7). Being built."""

from django.http import Http404


def global_search(request):
    raise Http404("Not built yet")

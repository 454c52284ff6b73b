"""Local notes and tags on numbers (issue 7). Being built."""

from django.http import Http404


def number_annotate(request, pk: int):
    raise Http404("Not built yet")


def bulk_edit(request):
    raise Http404("Not built yet")

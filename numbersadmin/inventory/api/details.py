"""One object of a list (owner, location, trunk, trunk group, DID group or pool, caller ID): the
list's fields, its related objects as nested summaries with their URLs, and, for the objects
numbers hang on, how many live numbers it holds and the numbers endpoint that lists them."""

from __future__ import annotations

from django.db import models
from django.http import Http404, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import lists, selectors
from ..lists import ListSpec
from ..models import CallerId, Location, NumberGroup, Owner, PhoneNumber, ProviderAccount, Trunk, TrunkGroup
from .lists import DETAIL, camel, rows

# The objects numbers hang on: their detail carries a live-number count and the numbers endpoint.
# Lists other apps register (reconcile's findings) get the list's fields and relations only.
NUMBER_HOLDERS = (Owner, Location, Trunk, TrunkGroup, NumberGroup)

REF = inline_serializer("Ref", {
    "id": serializers.IntegerField(), "name": serializers.CharField(),
    "url": serializers.URLField(allow_null=True, help_text="this object in the API"),
    "web_url": serializers.CharField(allow_null=True),
}, allow_null=True)


def api_url(request, obj) -> str | None:
    """The API detail URL of an inventory object, where it has one."""
    if isinstance(obj, PhoneNumber):
        name = "api_number"
    elif isinstance(obj, ProviderAccount):
        name = "api_account"
    else:
        spec = next((s for s in lists.LISTS.values() if s.name != "numbers" and s.model is type(obj)), None)
        if spec is None:
            return None
        name = f"api_{spec.name}_detail"
    try:
        return request.build_absolute_uri(reverse(name, args=[obj.pk]))
    except NoReverseMatch:
        return None


def ref(request, obj) -> dict | None:
    if obj is None:
        return None
    web = getattr(obj, "get_absolute_url", None)
    return {"id": obj.pk, "name": str(obj), "url": api_url(request, obj), "web_url": web() if web else None}


def _relations(model) -> list[str]:
    """The model's foreign keys shown as nested summaries (the provider account first)."""
    return [f.name for f in model._meta.concrete_fields if isinstance(f, models.ForeignKey)]


def detail_data(request, spec: ListSpec, obj, base) -> dict:
    (row,) = rows(base, [obj.pk], spec.fields)
    data = {"id": obj.pk, "fields": {k: v for k, v in row.items() if k != "id"},
            **{name: ref(request, getattr(obj, name)) for name in _relations(spec.model)}}
    if isinstance(obj, CallerId):
        owner = PhoneNumber.objects.filter(pk=obj.owned_number_id).first() if obj.owned_number_id else None
        data["owned_by"] = ref(request, owner)  # the live number with this E.164 in a connected account
    elif isinstance(obj, NUMBER_HOLDERS):
        numbers, param, value = selectors.numbers_of(obj)
        data["numbers_count"] = numbers.filter(removed_at__isnull=True).count()
        data["numbers_url"] = request.build_absolute_uri(reverse("api_numbers")) + "?" + urlencode({param: value})
    web = getattr(obj, "get_absolute_url", None)
    data["web_url"] = web() if web else None
    return data


def _schema(spec: ListSpec):
    extra = ({"owned_by": REF} if spec.model is CallerId else
             {"numbers_count": serializers.IntegerField(help_text="live numbers"),
              "numbers_url": serializers.URLField(help_text="the numbers endpoint filtered to this object")}
             if spec.model in NUMBER_HOLDERS else {})
    return inline_serializer(f"{camel(spec)}Detail", {
        "id": serializers.IntegerField(),
        "fields": serializers.DictField(help_text=f"the {spec.title.lower()} list's fields "
                                                  f"(see /api/v1/{spec.name.replace('_', '-')}/)"),
        **{name: REF for name in _relations(spec.model)}, **extra,
        "web_url": serializers.CharField(allow_null=True),
    })


def detail_endpoint(spec: ListSpec):
    class DetailEndpoint(APIView):
        @extend_schema(operation_id=f"{spec.name}_detail", summary=f"{spec.title}: one", tags=[spec.title],
                       responses={200: _schema(spec), 401: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)})
        def get(self, request, pk: int):
            # The list's own queryset: what the list cannot show (e.g. a removed owner) is a 404 here too.
            base = spec.filterset(QueryDict()).queryset
            obj = base.select_related(*_relations(spec.model)).filter(pk=pk).first()
            if obj is None:
                raise Http404("Not found.")
            return Response(detail_data(request, spec, obj, base))

    DetailEndpoint.__name__ = DetailEndpoint.__qualname__ = f"{camel(spec)}Detail"
    return DetailEndpoint

"""One number: its fields (the numbers list's vocabulary) with related objects as nested summaries,
its history, and the local note and tags (PATCH; ops may edit them, as on the page)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import history, lists, selectors
from ..models import PhoneNumber
from ..services import annotations
from .auth import audited_as
from .details import REF, ref

# Response key -> the number's relation (the key is the numbers list's word: "did_group").
RELATED = (("account", "account"), ("trunk", "trunk"), ("trunk_group", "trunk_group"), ("location", "location"),
           ("owner", "owner"), ("did_group", "number_group"))
from .lists import DETAIL, _json, rows

NUMBER = inline_serializer("Number", {
    "id": serializers.IntegerField(),
    "fields": serializers.DictField(help_text="the numbers list's fields (see /api/v1/numbers/)"),
    **{key: REF for key, _ in RELATED},
    "pools": serializers.ListField(child=REF),
    "tags": serializers.ListField(child=serializers.CharField()),
    "note": serializers.CharField(allow_null=True),
    "caller_ids": serializers.ListField(child=serializers.DictField()),
    "web_url": serializers.CharField(), "history_url": serializers.CharField(),
})
CHANGE = inline_serializer("Change", {
    "at": serializers.DateTimeField(), "kind": serializers.CharField(), "field": serializers.CharField(),
    "old_value": serializers.CharField(), "new_value": serializers.CharField(), "run": serializers.IntegerField(allow_null=True),
    "field_label": serializers.CharField(help_text="the field as the page names it"),
    "old_display": serializers.CharField(help_text="the old value as people read it (names, labels, local time)"),
    "new_display": serializers.CharField(),
}, many=True)
EDIT = inline_serializer("NumberEdit", {
    "note": serializers.CharField(required=False, allow_blank=True, help_text="empty deletes the note"),
    "tags": serializers.ListField(child=serializers.CharField(), required=False, help_text="replaces the tags"),
})


def _number(pk: int) -> PhoneNumber:
    try:
        return selectors.number_get(pk)
    except PhoneNumber.DoesNotExist:
        raise Http404("No such number.") from None


def number_data(request, number: PhoneNumber) -> dict:
    (row,) = rows(PhoneNumber._base_manager.all(), [number.pk], lists.LISTS["numbers"].fields)
    note = getattr(number, "note", None)
    return {
        "id": number.pk, "fields": {k: v for k, v in row.items() if k != "id"},
        **{key: ref(request, getattr(number, attr)) for key, attr in RELATED},
        "pools": [ref(request, p) for p in number.pools.all()],
        "tags": sorted(t.name for t in number.tags.all()),
        "note": note.text if note else None,
        "caller_ids": [{"e164": c.e164, "account": c.account.name, "state": c.state,
                        "verified_until": _json(c.verified_until)} for c in selectors.caller_ids_for_number(number)],
        "web_url": number.get_absolute_url(),
        "history_url": request.build_absolute_uri(reverse("api_number_history", args=[number.pk])),
    }


class NumberDetail(APIView):
    @extend_schema(operation_id="number_detail", summary="One number", tags=["Numbers"],
                   responses={200: NUMBER, 401: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)})
    def get(self, request, pk: int):
        return Response(number_data(request, _number(pk)))

    @extend_schema(operation_id="number_edit", summary="Set a number's note and/or tags", tags=["Numbers"],
                   request=EDIT, responses={200: NUMBER, 400: OpenApiResponse(OpenApiTypes.OBJECT),
                                            401: OpenApiResponse(DETAIL), 403: OpenApiResponse(DETAIL),
                                            404: OpenApiResponse(DETAIL)})
    def patch(self, request, pk: int):
        number = _number(pk)
        data = request.data if isinstance(request.data, dict) else None
        if data is None or not set(data) <= {"note", "tags"} or not data:
            raise ValidationError({"body": ["Send a JSON object with 'note' and/or 'tags'."]})
        note, tags = data.get("note"), data.get("tags")
        if "note" in data and not isinstance(note, str):
            raise ValidationError({"note": ["A string (empty deletes the note)."]})
        if "tags" in data and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
            raise ValidationError({"tags": ["A list of strings."]})
        errors = {}
        for key, check in (("note", annotations.normalise_note), ("tags", annotations.parse_tags)):
            if key in data:
                try:
                    check(data[key])
                except DjangoValidationError as exc:
                    errors[key] = exc.messages
        if errors:
            raise ValidationError(errors)  # nothing written
        with transaction.atomic(), audited_as(request):
            if "note" in data:
                annotations.set_note(number, note, request.user)
            if "tags" in data:
                annotations.set_tags(number, tags, request.user)
        return Response(number_data(request, _number(pk)))


class NumberHistory(APIView):
    @extend_schema(operation_id="number_history", summary="A number's recorded changes (newest first, up to 100)",
                   tags=["Numbers"], responses={200: CHANGE, 401: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)})
    def get(self, request, pk: int):
        changes = list(selectors.number_history(_number(pk)))
        names = history.related_names(changes)
        return Response([{"at": _json(c.at), "kind": c.kind, "field": c.field, "old_value": c.old_value,
                          "new_value": c.new_value, "run": c.run_id, **history.readable_change(c, names)}
                         for c in changes])

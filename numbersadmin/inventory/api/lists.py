"""One endpoint per web list, driven by the same ``ListSpec``: the filterset (names, ``__n``
negations, ``null`` for "is empty"), ``q``, the sort keys and the columns' fields. Where the web
page explains a bad parameter and carries on, the API refuses with a 400 naming it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from decimal import Decimal

from django import forms
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field as ModelField
from django.http import QueryDict
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import lists, selectors
from ..lists import ListSpec
from ..pagination import InvalidCursor, count_rows, keyset_page, load_only
from ..services import exports
from ..services.exports import Field

PAGE_KEYS = ("limit", "cursor", "fields", "view")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
ID = Field("id", "pk")


def camel(spec: ListSpec) -> str:
    """The list's name for schema components and classes: "trunk_groups" -> "TrunkGroups"."""
    return "".join(part.title() for part in spec.name.split("_"))


def _fail(param: str, message: str):
    raise ValidationError({param: [message]})


def _filter_params(spec: ListSpec, params: QueryDict, extra: tuple[str, ...] = PAGE_KEYS):
    """The bound filterset; unknown parameters and invalid values are 400s naming the parameter.
    ``extra``: the endpoint's own parameters (paging, fields)."""
    filter_params = params.copy()
    for key in extra:
        filter_params.pop(key, None)
    filterset = spec.filterset(filter_params)
    known = lists.filter_keys(filterset) | {"q", "sort"}
    unknown = sorted(set(filter_params) - known)
    if unknown:
        raise ValidationError({key[:50]: ["Unknown parameter."] for key in unknown[:20]})
    if not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.form.errors.items()})
    return filterset


def effective_params(request, spec: ListSpec) -> QueryDict:
    """The request's parameters over those of the saved view it names (``view=<id>``): the view's
    filters, search and sort, and its columns as ``fields``. A view the user may not see (another
    user's private view) is a 404, as on the web."""
    params = request.query_params
    raw = params.get("view")
    if raw in (None, ""):
        return params
    if not raw.isdigit() or len(raw) > 12:
        _fail("view", "A saved view's id (see /api/v1/saved-views/).")
    view = selectors.visible_views(request.user, spec.name).filter(pk=int(raw)).first()
    if view is None:
        raise NotFound("No such saved view for this list.")
    merged = QueryDict(view.params, mutable=True)
    # Its columns, less names a later version dropped (the web skips those quietly too).
    known = {c.name for c in spec.columns}
    cols = [c for value in merged.pop("cols", []) for c in value.split(",") if c in known]
    merged.pop("per_page", None)
    if cols:
        merged["fields"] = ",".join(cols)
    for key in params:
        merged.setlist(key, params.getlist(key))
    return merged


def _limit(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    try:
        limit = int(value)
    except ValueError:
        limit = 0
    if not 1 <= limit <= MAX_LIMIT:
        _fail("limit", f"A whole number from 1 to {MAX_LIMIT}.")
    return limit


def _fields(spec: ListSpec, value: str | None) -> list[Field]:
    """``fields=`` names: a field ("provider_status") or a column standing for its fields ("status")."""
    if not value:
        return spec.fields
    by_header = {f.header: f for f in spec.fields}
    by_column = {c.name: c.fields for c in spec.columns}
    chosen: list[Field] = []
    for name in (n.strip() for n in value.split(",")):
        if not name:
            continue
        found = (by_header[name],) if name in by_header else by_column.get(name)
        if found is None:
            _fail("fields", f"Unknown field {name[:40]!r}. Known: {', '.join(by_header)}.")
        chosen.extend(f for f in found if f not in chosen)
    if not chosen:
        _fail("fields", "Name at least one field.")
    return chosen


def _offset(cursor: str | None) -> int:
    """Lists without keyset paging (caller IDs: small) use an opaque offset cursor."""
    if not cursor:
        return 0
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = payload["o"]
    except (binascii.Error, ValueError, UnicodeDecodeError, TypeError, KeyError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 2**31:
        _fail("cursor", "Invalid cursor (use the next/previous links as given).")
    return offset


def _offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _page(spec: ListSpec, qs, sort, cursor: str | None, limit: int) -> tuple[list[int], str | None, str | None]:
    """(row ids in order, next cursor, previous cursor)."""
    if spec.keyset:
        try:
            # Only ids and the sort value are needed here (the fields come from rows()): no joins,
            # no full model instances (about half the page time at 1,000 rows otherwise).
            page = keyset_page(load_only(qs.order_by().select_related(None), sort.field), field=sort.field,
                               descending=sort.descending, cursor=cursor, per_page=limit)
        except InvalidCursor:
            _fail("cursor", "Invalid cursor (use the next/previous links as given).")
        return [row.pk for row in page.rows], page.next_cursor, page.prev_cursor
    offset = _offset(cursor)
    ids = list(spec.order(qs, sort).values_list("pk", flat=True)[offset:offset + limit + 1])
    more = len(ids) > limit
    return (ids[:limit], _offset_cursor(offset + limit) if more else None,
            _offset_cursor(max(0, offset - limit)) if offset else None)


def _json(value):
    if isinstance(value, Decimal):
        return str(value)  # money stays exact
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def rows(qs, ids: list[int], fields: list[Field]) -> list[dict]:
    """The fields of these rows, in ``ids`` order: the export's value path, one query (plus one
    per many-valued field)."""
    columns = [ID, *fields]
    found = {row[0]: row for row in exports.iter_rows(exports.with_annotations(qs.filter(pk__in=ids).order_by(), fields),
                                                       columns)}
    return [{f.header: _json(v) for f, v in zip(columns, found[pk])} for pk in ids if pk in found]


def _link(request, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    query = request.query_params.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(request.path) + "?" + query.urlencode()


def list_response(request, spec: ListSpec) -> Response:
    params = effective_params(request, spec)
    filterset = _filter_params(spec, params)
    sort, error = selectors.parse_sort(params.get("sort"), spec.sorts, spec.default_sort)
    if error:
        _fail("sort", f"Unknown sort key. Known: {', '.join(sorted(spec.sorts))} (prefix - for descending).")
    limit = _limit(params.get("limit"))
    fields = _fields(spec, params.get("fields"))
    qs = filterset.qs
    ids, next_cursor, prev_cursor = _page(spec, qs, sort, params.get("cursor"), limit)
    count, estimated = count_rows(qs)
    return Response({"count": count, "count_is_estimate": estimated, "next": _link(request, next_cursor),
                     "previous": _link(request, prev_cursor), "results": rows(qs, ids, fields)})


# -- OpenAPI -------------------------------------------------------------------------------------
def _model_field(model, path: str) -> ModelField | None:
    field = None
    for part in path.split("__"):
        if model is None:
            return None
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        model = field.related_model if field.is_relation else None
    return field


SCHEMA_TYPES = {
    "AutoField": serializers.IntegerField, "BigAutoField": serializers.IntegerField,
    "IntegerField": serializers.IntegerField, "PositiveIntegerField": serializers.IntegerField,
    "PositiveSmallIntegerField": serializers.IntegerField, "SmallIntegerField": serializers.IntegerField,
    "BigIntegerField": serializers.IntegerField, "BooleanField": serializers.BooleanField,
    "DateTimeField": serializers.DateTimeField, "DateField": serializers.DateField,
}


def _schema_field(model, field: Field, annotations: dict):
    """The OpenAPI type of a field: from the model path, else the list query's annotation."""
    model_field = _model_field(model, field.path)
    if model_field is None and field.path in annotations:
        model_field = getattr(annotations[field.path], "output_field", None)
    kind = model_field.get_internal_type() if model_field is not None else "TextField"
    if kind == "DecimalField":
        return serializers.CharField(allow_null=True, help_text="decimal as a string")
    return SCHEMA_TYPES.get(kind, serializers.CharField)(allow_null=True, required=False)


def _param_schema(field) -> dict:
    """A filter's value as JSON schema: ids for objects, the choices for choices, "null" for "is
    empty" where the filter offers it, a string otherwise."""
    null = [{"type": "string", "enum": ["null"]}] if getattr(field, "null_label", None) else []
    if isinstance(field, forms.ModelChoiceField) and getattr(field, "to_field_name", None) in (None, "pk", "id"):
        base = {"type": "integer", "minimum": 1}
    elif isinstance(field, forms.ChoiceField) and not callable(getattr(field, "_choices", None)):
        keys = [str(k) for k, _ in field.choices if str(k) not in ("", "null")]
        base = {"type": "string", "enum": keys} if keys else {"type": "string"}
    elif isinstance(field, (forms.IntegerField, forms.DecimalField, forms.FloatField)):
        base = {"type": "integer"}
    else:
        return {"type": "string"}
    return {"anyOf": [base, *null]} if null else base


DETAIL = inline_serializer("Problem", {"detail": serializers.CharField()})


class ListSchema(AutoSchema):
    """The endpoint's OpenAPI operation, built from its ListSpec when the schema is generated (the
    filter choices come from the database, so nothing is computed at import)."""

    spec: ListSpec

    def get_operation_id(self) -> str:
        return f"{self.spec.name}_list"

    def get_summary(self) -> str:
        return self.spec.title

    def get_tags(self) -> list[str]:
        return [self.spec.title]

    def get_override_parameters(self):
        spec = self.spec
        form = spec.filterset(QueryDict()).form

        def meaning(name, field) -> str:
            base = name[:-3] if name.endswith("__n") else name
            label = str(form.fields[base].label if base in form.fields else field.label or name)
            empty = bool(getattr(field, "null_label", None))  # django-filter offers "null" = is empty
            return (f"{label} is not" if base != name else label) + ("; 'null' = is empty" if empty else "")

        return [OpenApiParameter(name, _param_schema(field), description=meaning(name, field))
                for name, field in form.fields.items() if name != "q"] + [
            OpenApiParameter("q", str, description="search, as in the page's search box"),
            OpenApiParameter("sort", str, enum=sorted([*spec.sorts, *(f"-{k}" for k in spec.sorts)])),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                             description=f"default {DEFAULT_LIMIT}"),
            OpenApiParameter("cursor", str, description="from a next/previous link"),
            OpenApiParameter("fields", str, description="comma-separated field or column names; default all"),
            OpenApiParameter("view", {"type": "integer", "minimum": 1},
                             description="a saved view's id: its filters, search, sort and columns (other "
                                         "parameters given here win); another user's private view is a 404"),
        ]

    def get_response_serializers(self):
        spec = self.spec
        qs = spec.filterset(QueryDict()).qs
        name = camel(spec)
        rows_schema = inline_serializer(f"{name}Row", {
            "id": serializers.IntegerField(),
            **{f.header: _schema_field(qs.model, f, qs.query.annotations) for f in spec.fields},
        }, many=True)
        page = inline_serializer(f"{name}Page", {
            "count": serializers.IntegerField(), "count_is_estimate": serializers.BooleanField(),
            "next": serializers.URLField(allow_null=True), "previous": serializers.URLField(allow_null=True),
            "results": rows_schema,
        })
        return {
            200: page,
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="a parameter was refused: "
                                 "{parameter name: [messages]}"),
            401: OpenApiResponse(DETAIL, description="no, unknown, revoked or expired token"),
            403: OpenApiResponse(DETAIL, description="not allowed (e.g. a write with a read-only token)"),
            404: OpenApiResponse(DETAIL, description="no such saved view (view=)"),
            429: OpenApiResponse(DETAIL, description="rate limit (API_RATE); see Retry-After"),
        }


def endpoint(spec: ListSpec):
    """An APIView class for one list (the URL conf builds one per ListSpec)."""

    class ListEndpoint(APIView):
        schema = type(f"{camel(spec)}Schema", (ListSchema,), {"spec": spec})()

        def get(self, request):
            return list_response(request, spec)

    ListEndpoint.__name__ = ListEndpoint.__qualname__ = f"{camel(spec)}List"
    return ListEndpoint

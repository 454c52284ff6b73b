"""Saved views: the ones a user may open (their own and shared ones). A list or export endpoint
applies one with ``view=<id>``."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import lists, selectors
from ..models import SavedView
from .lists import DETAIL

VIEW_FIELDS = {
    "id": serializers.IntegerField(), "name": serializers.CharField(), "list": serializers.CharField(),
    "shared": serializers.BooleanField(), "mine": serializers.BooleanField(),
    "owner": serializers.CharField(help_text="the owner's user name"),
    "query": serializers.CharField(help_text="the view as a query string (filters, q, sort, cols)"),
    "url": serializers.URLField(help_text="the list endpoint with this view applied"),
    "web_url": serializers.CharField(),
}
VIEW = inline_serializer("SavedView", VIEW_FIELDS)


def view_data(request, view: SavedView) -> dict:
    return {"id": view.pk, "name": view.name, "list": view.list_name, "shared": view.shared,
            "mine": view.owner_id == request.user.pk, "owner": view.owner.get_username(), "query": view.params,
            "url": request.build_absolute_uri(reverse(f"api_{view.list_name}")) + f"?view={view.pk}",
            "web_url": view.get_absolute_url()}


def _views(request):
    # Views of a list that no longer exists are skipped (as on the web's index).
    return selectors.visible_views(request.user).select_related("owner").filter(list_name__in=list(lists.LISTS))


class SavedViewList(APIView):
    @extend_schema(operation_id="saved_views_list", summary="Saved views you can open (yours and shared ones)",
                   tags=["Saved views"], responses={200: inline_serializer("SavedViews", {
                       "results": inline_serializer("SavedView", VIEW_FIELDS, many=True)}),
                                                    400: OpenApiResponse(DETAIL), 401: OpenApiResponse(DETAIL)},
                   parameters=[OpenApiParameter("list", str, enum=sorted(lists.LISTS), description="only this list's views")])
    def get(self, request):
        views = _views(request).order_by("list_name", "name", "pk")
        name = request.query_params.get("list")
        if name is not None:
            if name not in lists.LISTS:
                return Response({"list": [f"Unknown list. Known: {', '.join(sorted(lists.LISTS))}."]}, status=400)
            views = views.filter(list_name=name)
        return Response({"results": [view_data(request, v) for v in views]})


class SavedViewDetail(APIView):
    @extend_schema(operation_id="saved_view_detail", summary="One saved view (another user's private view: 404)",
                   tags=["Saved views"], responses={200: VIEW, 401: OpenApiResponse(DETAIL), 404: OpenApiResponse(DETAIL)})
    def get(self, request, pk: int):
        view = _views(request).filter(pk=pk).first()
        if view is None:
            raise Http404("No such saved view.")
        return Response(view_data(request, view))

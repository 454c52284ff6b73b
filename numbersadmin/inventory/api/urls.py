"""/api/v1/: one endpoint per web list (same URL words as the pages), the schema and its docs."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from .. import lists
from . import lists as api_lists
from .docs import schema_docs

# Web URL name -> API path: the same words as the pages (/numbers/, /caller-ids/, /trunk-groups/).
urlpatterns = [
    path(f"v1/{spec.name.replace('_', '-')}/", login_not_required(api_lists.endpoint(spec).as_view()), name=f"api_{spec.name}")
    for spec in lists.LISTS.values()
] + [
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="api_schema"),
    path("docs/", schema_docs, name="api_docs"),
]

from django.contrib import admin
from django.urls import include, path

from numbersadmin.inventory.api import metrics

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("api/", include("numbersadmin.inventory.api.urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("alerts/", include("numbersadmin.alerts.urls")),
    path("reconcile/", include("numbersadmin.reconcile.urls")),
    path("", include("numbersadmin.identity.urls")),  # users, invitations, password, /oidc/ sign-in
    path("", include("numbersadmin.inventory.urls")),
]

# 400/403/404 use Django's handlers with templates/<code>.html (rendered with the request, so the
# layout shows the navigation); 500 needs its own to get the request too.
handler500 = "numbersadmin.inventory.views.errors.server_error"

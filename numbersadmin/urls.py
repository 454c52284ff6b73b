from django.contrib import admin
from django.urls import include, path

from numbersadmin.inventory.api import metrics

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("api/", include("numbersadmin.inventory.api.urls")),
    path("metrics", metrics.metrics, name="metrics"),
    path("", include("numbersadmin.inventory.urls")),
]

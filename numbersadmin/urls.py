from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("api/", include("numbersadmin.inventory.api.urls")),
    path("", include("numbersadmin.inventory.urls")),
]

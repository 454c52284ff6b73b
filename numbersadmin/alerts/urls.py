# Placeholder routes until the alert pages land (branch alertsui replaces this file).
from django.http import HttpResponse
from django.urls import path


def _placeholder(request, pk=None):
    return HttpResponse("alerts")


urlpatterns = [
    path("", _placeholder, name="alert_rules"),
    path("rules/<int:pk>/", _placeholder, name="alert_rule"),
    path("items/<int:pk>/", _placeholder, name="alert_item"),
    path("notifications/", _placeholder, name="alert_notifications"),
    path("notifications/<int:pk>/", _placeholder, name="alert_notification"),
]

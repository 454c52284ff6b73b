from django.urls import path

from . import views

urlpatterns = [
    path("", views.rule_list, name="alert_rules"),
    path("rules/<int:pk>/", views.rule_detail, name="alert_rule"),
    path("rules/<int:pk>/remove/", views.rule_remove, name="alert_rule_remove"),
    path("items/<int:pk>/", views.item_detail, name="alert_item"),
    path("items/<int:pk>/acknowledge/", views.item_acknowledge, name="alert_item_acknowledge"),
    path("items/<int:pk>/snooze/", views.item_snooze, name="alert_item_snooze"),
    path("items/<int:pk>/reopen/", views.item_reopen, name="alert_item_reopen"),
    path("notifications/", views.notification_list, name="alert_notifications"),
    path("notifications/<int:pk>/", views.notification_detail, name="alert_notification"),
    path("notifications/<int:pk>/retry/", views.notification_retry, name="alert_notification_retry"),
    path("settings/", views.alert_settings, name="alert_settings"),
]

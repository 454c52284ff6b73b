from django.urls import path

from numbersadmin.inventory.views.lists import list_page

from . import views

urlpatterns = [
    path("", list_page, {"list_name": "findings"}, name="findings"),
    path("<int:pk>/", views.finding_detail, name="finding_detail"),
    path("<int:pk>/acknowledge/", views.finding_action, {"action": "acknowledge"}, name="finding_acknowledge"),
    path("<int:pk>/ignore/", views.finding_action, {"action": "ignore"}, name="finding_ignore"),
    path("<int:pk>/reopen/", views.finding_action, {"action": "reopen"}, name="finding_reopen"),
]

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import accounts, audit, auth, caller_ids, dashboard, directory, groups, notes, numbers, search, trunks

urlpatterns = [
    path("", dashboard.dashboard, name="home"),
    path("search/", search.global_search, name="search"),
    path("audit/", audit.audit_list, name="audit_log"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("numbers/", numbers.number_list, name="numbers"),
    path("numbers/<int:pk>/", numbers.number_detail, name="number_detail"),
    path("numbers/<int:pk>/notes/", notes.number_annotate, name="number_annotate"),
    path("numbers/bulk-edit/", notes.bulk_edit, name="number_bulk_edit"),
    path("caller-ids/", caller_ids.caller_id_list, name="caller_ids"),
    path("groups/<int:pk>/", groups.group_detail, name="group_detail"),
    path("owners/", directory.owner_list, name="owners"),
    path("owners/<int:pk>/", directory.owner_detail, name="owner_detail"),
    path("locations/", directory.location_list, name="locations"),
    path("locations/<int:pk>/", directory.location_detail, name="location_detail"),
    path("settings/", accounts.site_settings, name="site_settings"),
    path("trunks/", trunks.trunk_list, name="trunks"),
    path("trunks/<int:pk>/", trunks.trunk_detail, name="trunk_detail"),
    path("trunk-groups/", trunks.trunk_group_list, name="trunk_groups"),
    path("trunk-groups/<int:pk>/", trunks.trunk_group_detail, name="trunk_group_detail"),
    path("accounts/", accounts.account_list, name="accounts"),
    path("accounts/add/<slug:provider>/", accounts.account_add, name="account_add"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account_detail"),
    path("accounts/<int:pk>/edit/", accounts.account_edit, name="account_edit"),
    path("accounts/<int:pk>/test/", accounts.account_test, name="account_test"),
    path("accounts/<int:pk>/sync/", accounts.account_sync, name="account_sync"),
    path("syncs/", accounts.sync_run_list, name="sync_runs"),
    path("syncs/<int:pk>/", accounts.sync_run_detail, name="sync_run_detail"),
    path("syncs/<int:pk>/confirm-removals/", accounts.sync_run_confirm, name="sync_run_confirm"),
]

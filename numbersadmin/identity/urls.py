from django.urls import path

from . import views

urlpatterns = [
    path("oidc/authenticate/", views.SsoStart.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", views.SsoCallback.as_view(), name="oidc_authentication_callback"),
    path("users/", views.user_list, name="users"),
    path("users/add/", views.user_add, name="user_add"),
    path("users/<int:pk>/", views.user_detail, name="user_detail"),
    path("users/<int:pk>/deactivate/", views.user_set_active, {"active": False}, name="user_deactivate"),
    path("users/<int:pk>/reactivate/", views.user_set_active, {"active": True}, name="user_reactivate"),
    path("users/<int:pk>/invite/", views.user_reinvite, name="user_reinvite"),
    path("invite/<uidb64>/<token>/", views.InviteAccept.as_view(), name="invite_accept"),
    path("password/", views.PasswordChange.as_view(), name="password_change"),
]

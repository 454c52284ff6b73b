"""Single sign-on views (start, callback) and the Users page (admins: auth.change_user, so
superusers and anyone granted that permission), the invitation link and "change my password".
Thin: forms parse, services write (and audit), selectors read."""

from __future__ import annotations

import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousOperation, ValidationError
from django.core.mail import send_mail
from django.core.paginator import InvalidPage, Paginator
from django.db import IntegrityError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from numbersadmin.inventory.clients import client_address
from numbersadmin.inventory.services.audit import audit

from . import groupmap, oidc, selectors, services
from .forms import SetPasswordForm, UserCreateForm, UserFilterForm, UserGroupsForm

log = logging.getLogger(__name__)
User = get_user_model()
USERS_PERM = "auth.change_user"
PER_PAGE = 50


# --- single sign-on -------------------------------------------------------------------------


def _sso_failed(request, message: str, reason: str) -> HttpResponseRedirect:
    audit("", "auth.sso_failed", "login", {"reason": reason[:100], "client": client_address(request)[:100]})
    messages.error(request, f"Single sign-on failed: {message}")
    return redirect("login")


class _OidcSettings:
    """Both SSO views read their settings through oidc.setting (discovery, explicit values)."""

    @staticmethod
    def get_settings(attr, *args):
        return oidc.setting(attr, *args)

    @staticmethod
    def require_enabled() -> None:
        if not oidc.enabled():
            raise Http404("Single sign-on is not configured.")


@method_decorator(login_not_required, name="dispatch")
class SsoStart(_OidcSettings, OIDCAuthenticationRequestView):
    def __init__(self, *args, **kwargs):  # endpoints are read in get(), where a failure is a message
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        self.require_enabled()
        try:
            self.OIDC_OP_AUTH_ENDPOINT = self.get_settings("OIDC_OP_AUTHORIZATION_ENDPOINT")
            self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        except oidc.SsoUnavailable as exc:
            log.warning("SSO unavailable: %s", exc)
            return _sso_failed(request, "the identity provider cannot be reached. Try again later.", "unavailable")
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class SsoCallback(_OidcSettings, OIDCAuthenticationCallbackView):
    """mozilla-django-oidc's callback, with every failure a message on the login page (and an
    audit entry) instead of a bare redirect or a 400/500."""

    def get(self, request):
        self.require_enabled()
        if request.GET.get("error"):
            code = "".join(c for c in request.GET["error"][:40] if c.isalnum() or c in "_-")
            states = request.session.get("oidc_states") or {}
            if request.GET.get("state") in states:  # spent: no replay
                del states[request.GET["state"]]
                request.session.modified = True
            return _sso_failed(request, f"the identity provider refused or the sign-in was cancelled ({code}).",
                               f"idp:{code}")
        state, code = request.GET.get("state"), request.GET.get("code")
        if not state or not code:
            return _sso_failed(request, "the identity provider's answer is incomplete. Start again.", "incomplete")
        if state not in (request.session.get("oidc_states") or {}):
            return _sso_failed(request, "this sign-in expired or was already used. Start again.", "state")
        try:
            response = super().get(request)
        except services.SsoRefused as exc:
            return _sso_failed(request, exc.message, exc.reason)
        except (SuspiciousOperation, jwt.PyJWTError) as exc:
            log.warning("SSO callback rejected: %s", exc)
            return _sso_failed(request, "the identity provider's answer could not be verified.", "verification")
        except (requests.RequestException, ValueError, KeyError, oidc.SsoUnavailable, ImproperlyConfigured,
                IntegrityError) as exc:
            # Never the exception text: a token endpoint's error body could echo what we sent.
            log.warning("SSO callback failed: %s", type(exc).__name__)
            return _sso_failed(request, "the identity provider did not accept the sign-in (the code may be "
                                        "expired or used). Start again.", f"exchange:{type(exc).__name__}")
        return response

    def login_failure(self):
        return _sso_failed(self.request, "you could not be signed in.", "no_user")

    def login_success(self):
        response = super().login_success()
        audit(self.user, "auth.login", "login", {"via": "sso", "client": client_address(self.request)[:100]})
        return response


# --- Users page ------------------------------------------------------------------------------


def _days() -> int:
    return max(1, round(settings.PASSWORD_RESET_TIMEOUT / 86400))


def _rows(users):
    return [(u, selectors.user_kind(u)) for u in users]


@permission_required(USERS_PERM, raise_exception=True)
def user_list(request):
    form = UserFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.user_list(q=data.get("q") or "", active=data.get("active") or "",
                             group=data["group"].pk if data.get("group") else None, kind=data.get("kind") or "")
    paginator = Paginator(qs, PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page") or 1)
    except InvalidPage:
        page = paginator.page(1)
    return render(request, "identity/users.html", {
        "form": form, "page_obj": page, "rows": _rows(page.object_list), "kinds": selectors.KINDS,
        "sso_enabled": oidc.enabled(), "local_login": settings.LOCAL_LOGIN_ENABLED,
    })


def _send_invite(request, user, link: str) -> bool:
    """Email the link when an email backend is configured (EMAIL_URL) and the user has an address."""
    if not (user.email and settings.INVITE_EMAIL):
        return False
    try:
        send_mail("Your numbersadmin account", f"Set your password (the link works once): {link}",
                  None, [user.email])
    except Exception as exc:  # noqa: BLE001 - a mail server problem falls back to showing the link
        log.warning("invitation email failed: %s", type(exc).__name__)
        return False
    return True


@permission_required(USERS_PERM, raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_add(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("username", "email", "first_name", "last_name", "groups")}
        try:
            if data["mode"] == "password":
                user = services.create_user(request.user, password=data["password1"], **fields)
            else:
                user, path = services.invite_user(request.user, **fields)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error("password1" if data["mode"] == "password" else None, exc)
        else:
            if data["mode"] == "password":
                messages.success(request, f"User {user.username} created.")
                return redirect("user_detail", pk=user.pk)
            link = request.build_absolute_uri(path)
            if _send_invite(request, user, link):
                messages.success(request, f"Invitation sent to {user.email}.")
                return redirect("user_detail", pk=user.pk)
            response = render(request, "identity/invite_created.html", {"invited": user, "link": link, "days": _days()})
            response["Cache-Control"] = "no-store"  # the link is shown once
            return response
    return render(request, "identity/user_add.html", {"form": form, "local_login": settings.LOCAL_LOGIN_ENABLED})


@permission_required(USERS_PERM, raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_detail(request, pk: int):
    subject = get_object_or_404(selectors.user_list(), pk=pk)
    kind = selectors.user_kind(subject)
    groups_form = UserGroupsForm(initial={"groups": list(subject.groups.all())})
    password_form = SetPasswordForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "groups":
                groups_form = UserGroupsForm(request.POST)
                if groups_form.is_valid():
                    services.set_groups(request.user, subject, groups_form.cleaned_data["groups"])
                    messages.success(request, "Groups saved.")
                    return redirect("user_detail", pk=pk)
            elif action == "password":
                password_form = SetPasswordForm(request.POST)
                if password_form.is_valid():
                    try:
                        services.set_password(request.user, subject, password_form.cleaned_data["password1"])
                    except ValidationError as exc:
                        if kind == "sso":  # no password form on the page: say it above
                            messages.error(request, " ".join(exc.messages))
                        password_form.add_error("password1", exc)
                    else:
                        messages.success(request, f"Password of {subject.username} set.")
                        return redirect("user_detail", pk=pk)
            else:
                messages.error(request, "Unknown action.")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
    identity = getattr(subject, "sso_identity", None)
    scopes = selectors.account_scopes_of(subject)
    return render(request, "identity/user_detail.html", {
        "subject": subject, "kind": kind, "kind_label": selectors.KINDS[kind], "groups_form": groups_form,
        "password_form": password_form, "identity": identity,
        "managed": sorted(groupmap.managed(groupmap.parse(settings.OIDC_GROUP_MAP))),
        "can_change": request.user.is_superuser or not subject.is_superuser,
        "invite_pending": kind == "invited",
        "scopes": scopes,
        # scopes.visibility's rule: superusers, and users in no scope while SCOPES_DEFAULT_ALL is on.
        "sees_everything": subject.is_superuser or (not scopes and settings.SCOPES_DEFAULT_ALL),
    })


@require_POST
@permission_required(USERS_PERM, raise_exception=True)
def user_set_active(request, pk: int, active: bool):
    subject = get_object_or_404(User, pk=pk)
    try:
        services.set_active(request.user, subject, active)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, f"{subject.username} {'reactivated' if active else 'deactivated'}.")
    return redirect("user_detail", pk=pk)


@require_POST
@permission_required(USERS_PERM, raise_exception=True)
def user_reinvite(request, pk: int):
    """A new one-time link for a user who has not set a password yet (the old one stops working
    only when a password is set; both are the same kind of token)."""
    subject = get_object_or_404(User, pk=pk)
    if selectors.user_kind(subject) != "invited":
        messages.error(request, "Only a user who has not set a password yet can get an invitation link.")
        return redirect("user_detail", pk=pk)
    if subject.is_superuser and not request.user.is_superuser:
        raise PermissionDenied("Only a superuser can change a superuser.")
    audit(request.user, "user.invite", f"user {subject.username}", {"again": True})
    link = request.build_absolute_uri(services.invite_path(subject))
    response = render(request, "identity/invite_created.html", {"invited": subject, "link": link, "days": _days()})
    response["Cache-Control"] = "no-store"
    return response


class InviteAccept(auth_views.PasswordResetConfirmView):
    """The invitation link: set a password once (Django's reset token: spent when the password changes)."""

    template_name = "identity/invite_accept.html"
    success_url = reverse_lazy("login")
    reset_url_token = "set-password"

    def form_valid(self, form):
        response = super().form_valid(form)
        services.invite_accepted(form.user)
        messages.success(self.request, "Password set. Log in with it.")
        return response


class PasswordChange(auth_views.PasswordChangeView):
    """"Change my password" for local users (SSO users change theirs at the identity provider)."""

    template_name = "identity/password_change.html"
    success_url = reverse_lazy("home")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and (hasattr(request.user, "sso_identity") or not request.user.has_usable_password()):
            messages.error(request, "You sign in with single sign-on: change your password at the identity provider.")
            return redirect("home")
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_changed(self.request.user)
        messages.success(self.request, "Password changed.")
        return response

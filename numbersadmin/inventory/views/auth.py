"""Login with throttling on the identity Django authenticates and on the client address.

The username is keyed as the form normalises it (NFKC + stripped, as ``UsernameField`` does before
``authenticate``) and case-folded, so "ops ", "ops\\t" and a full-width "ｏｐｓ" share one counter.
Three fixed windows of LOGIN_THROTTLE_WINDOW seconds:
- (client, username): LOGIN_THROTTLE_ATTEMPTS failures, then that client is refused for that user;
- username, any client: 5x that (slow distributed guessing); then clients that already failed
  for that user are refused, while a client with no failure for it can still log in, so nobody
  can lock a user out for everyone;
- client, any username: 5x that (password spraying).
IPv6 clients are counted per /64.
The client is REMOTE_ADDR, or behind a proxy (DJANGO_BEHIND_PROXY=1) the address the proxy
appended to X-Forwarded-For. Successes, failures and refusals go to the audit log.
"""

from __future__ import annotations

import hashlib
import ipaddress

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.cache import cache
from django.core.exceptions import ValidationError

from ..clients import client_address
from ..services.audit import audit

SPREAD = 5  # the per-user and per-client buckets allow this many times the per-pair limit


def client_key(address: str) -> str:
    """IPv6 clients own a /64 (and can rotate inside it for free): count them per /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else str(ip)


def normalised_username(raw) -> str:
    try:
        return (UsernameField().to_python(str(raw or "")[:300]) or "").casefold()
    except ValidationError:
        return ""


def _key(*parts: str) -> str:
    return "login-fail:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


class ThrottledAuthenticationForm(AuthenticationForm):
    def _refused(self, pair: str, user_bucket: str, client_bucket: str) -> str:
        limit = settings.LOGIN_THROTTLE_ATTEMPTS
        failures = cache.get_many([pair, user_bucket, client_bucket])
        if failures.get(pair, 0) >= limit:
            return "pair"
        if failures.get(client_bucket, 0) >= limit * SPREAD:
            return "client"
        # Many clients failing for one user: only clients that already failed for this user are
        # refused, so nobody can lock a user out from addresses the user never used.
        if failures.get(user_bucket, 0) >= limit * SPREAD and failures.get(pair, 0) > 0:
            return "user"
        return ""

    def clean(self):
        user = normalised_username(self.data.get("username"))
        address = client_address(self.request) if self.request else ""
        client = client_key(address)
        pair, user_bucket, client_bucket = _key("pair", client, user), _key("user", user), _key("client", client)
        reason = self._refused(pair, user_bucket, client_bucket)
        if reason:
            # One audit row per refused bucket and window, not one per attempt.
            if cache.add(f"{pair}:{reason}:audited", 1, settings.LOGIN_THROTTLE_WINDOW):
                audit(user[:150], "auth.login_refused", "login", {"reason": reason, "client": address[:100]})
            raise ValidationError("Too many failed attempts. Try again in a few minutes.", code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            for key in (pair, user_bucket, client_bucket):
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, settings.LOGIN_THROTTLE_WINDOW)
            audit(user[:150], "auth.login_failed", "login", {"client": address[:100]})
            raise
        audit(self.get_user(), "auth.login", "login", {"client": address[:100]})
        return cleaned


class LoginView(auth_views.LoginView):
    """The password form, and the "Sign in with SSO" button when OIDC is configured. With
    LOCAL_LOGIN_ENABLED off the form is not shown and a password POST is refused (403) before any
    password is checked (the backends refuse it too, so Django admin's login cannot be used either)."""

    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "local_login": settings.LOCAL_LOGIN_ENABLED,
                "sso_enabled": settings.OIDC_ENABLED, "sso_name": settings.OIDC_PROVIDER_NAME}

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_LOGIN_ENABLED:
            response = self.render_to_response(self.get_context_data(
                refused="Password sign-in is turned off here: sign in with single sign-on."))
            response.status_code = 403
            return response
        return super().post(request, *args, **kwargs)

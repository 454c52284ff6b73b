"""Login with throttling on the identity Django authenticates and on the client address.

The username is keyed as the form normalises it (NFKC + stripped, as ``UsernameField`` does before
``authenticate``) and case-folded, so "ops ", "ops\\t" and a full-width "ｏｐｓ" share one counter.
Three fixed windows of LOGIN_THROTTLE_WINDOW seconds:
- (client, username): LOGIN_THROTTLE_ATTEMPTS failures, then that client is refused for that user;
- username, any client: 5x that (slow distributed guessing). One client stops at its own limit and
  refused attempts are not counted, so one address cannot lock a user out for everyone;
- client, any username: 5x that (password spraying).
The client is REMOTE_ADDR, or behind a proxy (DJANGO_BEHIND_PROXY=1) the address the proxy
appended to X-Forwarded-For. Successes, failures and refusals go to the audit log.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.cache import cache
from django.core.exceptions import ValidationError

from ..services.accounts import audit

SPREAD = 5  # the per-user and per-client buckets allow this many times the per-pair limit


def client_address(request) -> str:
    if settings.BEHIND_PROXY:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= settings.PROXY_COUNT:
            return hops[-settings.PROXY_COUNT]  # appended by our own proxy: not client-controlled
    return request.META.get("REMOTE_ADDR", "")


def normalised_username(raw) -> str:
    try:
        return (UsernameField().to_python(str(raw or "")[:300]) or "").casefold()
    except ValidationError:
        return ""


class ThrottledAuthenticationForm(AuthenticationForm):
    def _buckets(self) -> list[tuple[str, int]]:
        user = normalised_username(self.data.get("username"))
        client = client_address(self.request) if self.request else ""
        limit = settings.LOGIN_THROTTLE_ATTEMPTS
        keys = [(f"pair|{client}|{user}", limit), (f"user|{user}", limit * SPREAD), (f"client|{client}", limit * SPREAD)]
        return [("login-fail:" + hashlib.sha256(key.encode()).hexdigest(), n) for key, n in keys]

    def clean(self):
        buckets = self._buckets()
        user = normalised_username(self.data.get("username"))[:150]
        if any(cache.get(key, 0) >= limit for key, limit in buckets):
            audit(user, "auth.login_refused", "login", {"reason": "throttled"})
            raise ValidationError("Too many failed attempts. Try again in a few minutes.", code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            for key, _ in buckets:
                try:
                    cache.incr(key)
                except ValueError:
                    cache.set(key, 1, settings.LOGIN_THROTTLE_WINDOW)
            audit(user, "auth.login_failed", "login")
            raise
        audit(self.get_user(), "auth.login", "login")
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

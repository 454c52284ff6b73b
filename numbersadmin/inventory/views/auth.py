"""Login with throttling: after LOGIN_THROTTLE_ATTEMPTS failures per (client, username) within
LOGIN_THROTTLE_WINDOW seconds, further attempts are refused until the window passes."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError


class ThrottledAuthenticationForm(AuthenticationForm):
    def _key(self) -> str:
        client = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        user = (self.data.get("username") or "").lower()
        return "login-fail:" + hashlib.sha256(f"{client}|{user}".encode()).hexdigest()

    def clean(self):
        key = self._key()
        if cache.get(key, 0) >= settings.LOGIN_THROTTLE_ATTEMPTS:
            raise ValidationError("Too many failed attempts. Try again in a few minutes.", code="throttled")
        try:
            return super().clean()
        except ValidationError:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, settings.LOGIN_THROTTLE_WINDOW)
            raise


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

"""Authentication backends: passwords (LocalBackend) and OIDC single sign-on (SsoBackend).

SsoBackend only ever acts for our callback view (it receives the session's nonce/PKCE verifier
there); called with a username or password (the login form, Django admin) it returns None, so no
password path can reach the code exchange, and the login throttle stays the only way to try
passwords. It verifies the ID token's signature (JWKS), algorithm, ``aud`` (our client id), ``iss``
(when known), expiry and nonce, checks the userinfo ``sub`` against the ID token's, then hands the
claims to services.sso_sign_in."""

from __future__ import annotations

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from numbersadmin.inventory.clients import client_address

from . import oidc, services


class LocalBackend(ModelBackend):
    """Django's password check, only while LOCAL_LOGIN_ENABLED (every password form goes through it)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.LOCAL_LOGIN_ENABLED:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class SsoBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # mozilla's __init__ reads every endpoint (and would run discovery): only on an SSO sign-in.
        self.UserModel = get_user_model()

    @staticmethod
    def get_settings(attr, *args):
        return oidc.setting(attr, *args)

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None or username is not None or password is not None or "nonce" not in kwargs:
            return None
        if not oidc.enabled():
            return None
        super().__init__()
        return super().authenticate(request, **kwargs)

    def get_user(self, user_id):
        return ModelBackend.get_user(self, user_id)  # deactivated users lose their sessions

    def _verify_jws(self, payload, key):
        try:
            header = jwt.get_unverified_header(payload)
        except jwt.PyJWTError:
            raise SuspiciousOperation("The ID token is not a JWT.") from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation("The ID token is not signed with OIDC_RP_SIGN_ALGO.")
        issuer = self.get_settings("OIDC_OP_ISSUER", "")
        try:
            return jwt.decode(payload, key, algorithms=[self.OIDC_RP_SIGN_ALGO], audience=self.OIDC_RP_CLIENT_ID,
                              issuer=issuer or None, leeway=30,
                              options={"require": ["exp", "iat", "sub", "aud"], "verify_iss": bool(issuer)})
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token rejected: {type(exc).__name__}") from None

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict):
            raise SuspiciousOperation("The userinfo answer is not a JSON object.")
        if str(claims.get("sub")) != str(payload.get("sub")):
            raise SuspiciousOperation("The userinfo subject differs from the ID token's.")
        merged = {**payload, **claims}  # groups may come in the ID token, the userinfo, or both
        return services.sso_sign_in(issuer=str(payload.get("iss", "")), subject=str(payload["sub"]), claims=merged,
                                    client=client_address(self.request)[:100])

"""Configuration checks (``manage.py check`` and every start): a bad OIDC_GROUP_MAP or a missing
client secret is reported, not discovered at someone's first sign-in."""

from django.conf import settings
from django.core.checks import Error, Warning

from . import groupmap, oidc


def sso_settings(app_configs, **kwargs):
    problems = []
    try:
        groupmap.parse(settings.OIDC_GROUP_MAP)
    except groupmap.GroupMapError as exc:
        problems.append(Error(str(exc), id="identity.E001"))
    if oidc.enabled() and not settings.OIDC_RP_CLIENT_SECRET:
        problems.append(Error("OIDC_RP_CLIENT_ID is set but OIDC_RP_CLIENT_SECRET is not", id="identity.E002"))
    if oidc.enabled() and not (settings.OIDC_OP_DISCOVERY_URL or settings.OIDC_OP_JWKS_ENDPOINT) \
            and settings.OIDC_RP_SIGN_ALGO[:2] in ("RS", "ES"):
        problems.append(Error("OIDC_OP_JWKS_ENDPOINT (or OIDC_OP_DISCOVERY_URL) is needed to verify ID tokens",
                              id="identity.E003"))
    if not settings.LOCAL_LOGIN_ENABLED and not oidc.enabled():
        problems.append(Warning("LOCAL_LOGIN_ENABLED is off and SSO is not configured: nobody can sign in",
                                id="identity.W001"))
    return problems

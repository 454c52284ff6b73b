"""Which identity-provider account a user signs in with (OIDC ``iss`` + ``sub``: stable, unlike
emails and usernames). A user with one is an SSO user: no usable password, groups that the
OIDC_GROUP_MAP manages follow the IdP's groups claim at every sign-in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class SsoIdentity(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)
    idp_groups = models.JSONField(default=list, blank=True)  # the groups claim at the last sign-in

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique_subject")]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"

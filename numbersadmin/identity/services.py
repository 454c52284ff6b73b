"""Writes about users: SSO sign-in (link or create the user, sync managed groups) and the Users
page (create, invite, groups, deactivate/reactivate, passwords). Every change is audited; passwords
never appear in an audit entry or a log line."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from numbersadmin.inventory.services.audit import audit

from . import groupmap
from .models import SsoIdentity

User = get_user_model()
USERNAME_CHARS = re.compile(r"[^\w.@+-]")


class SsoRefused(Exception):
    """Sign-in refused for a reason the user should read (deactivated, unknown user, ...)."""

    def __init__(self, message: str, reason: str, who=""):
        super().__init__(message)
        self.message, self.reason, self.who = message, reason, who


# --- single sign-on --------------------------------------------------------------------------


def free_username(claims: dict) -> str:
    """From preferred_username, else the email, else "sso-user": Django's username characters only,
    and a free one ("ana", then "ana-2", "ana-3", ...; compared case-insensitively)."""
    raw = str(claims.get("preferred_username") or claims.get("email") or "sso-user")
    base = USERNAME_CHARS.sub("", raw.strip().replace(" ", "."))[:140] or "sso-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _text_claim(claims: dict, key: str, limit: int) -> str:
    value = claims.get(key)
    return value.strip()[:limit] if isinstance(value, str) else ""


def sso_sign_in(*, issuer: str, subject: str, claims: dict, client: str = "") -> "User":
    """The user for a verified IdP identity: the linked one; else an existing user with the same
    email when the IdP says the email is verified (and that user has no identity yet and is not a
    superuser; their password stops working: they sign in at the IdP from then on); else a new
    user (OIDC_CREATE_USERS). Names and email follow the claims; managed groups follow the groups
    claim. Raises SsoRefused (audited) for deactivated users and unknown ones when not creating."""
    try:
        return _sign_in(issuer=issuer, subject=subject, claims=claims)
    except SsoRefused as exc:  # audited after the rollback, so the entry stays
        audit(exc.who, "auth.sso_refused", "login", {"reason": exc.reason, "client": client})
        raise


@transaction.atomic
def _sign_in(*, issuer: str, subject: str, claims: dict) -> "User":
    issuer, subject = str(issuer)[:255], str(subject)[:255]
    if not subject:
        raise SsoRefused("The identity provider did not say who you are (no subject).", "no_subject")
    identity = SsoIdentity.objects.select_related("user").select_for_update().filter(issuer=issuer, subject=subject).first()
    email = _text_claim(claims, "email", 254)
    created = linked = False
    if identity is None:
        user = None
        if email and claims.get("email_verified") is True:
            # Superusers are never linked by email: they keep their password (emergency access).
            matches = list(User.objects.filter(email__iexact=email, sso_identity__isnull=True, is_superuser=False)[:2])
            user = matches[0] if len(matches) == 1 else None
            linked = user is not None
            if linked and user.has_usable_password():
                user.set_unusable_password()  # from now on they sign in at the IdP
                user.save(update_fields=["password"])
        if user is None:
            if not settings.OIDC_CREATE_USERS:
                raise SsoRefused("There is no user for your single sign-on account here. Ask an admin to add you.",
                                 "unknown_user", subject[:150])
            user = User(username=free_username(claims), email=email)
            user.set_unusable_password()
            user.save()
            created = True
        identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
    user = identity.user
    if not user.is_active:
        raise SsoRefused("Your user is deactivated here. Ask an admin to reactivate it.", "inactive", user)
    if created:
        audit(user, "user.create", f"user {user.username}", {"via": "sso", "issuer": issuer})
    elif linked:
        audit(user, "user.sso_link", f"user {user.username}", {"via": "sso", "issuer": issuer})
    changed = []
    for field, claim, limit in (("first_name", "given_name", 150), ("last_name", "family_name", 150), ("email", "email", 254)):
        value = _text_claim(claims, claim, limit)
        if value and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    idp_groups = groupmap.claim_groups(claims.get(settings.OIDC_GROUPS_CLAIM))
    mapping = groupmap.parse(settings.OIDC_GROUP_MAP)
    sync_managed_groups(user, wanted=groupmap.wanted(mapping, idp_groups), managed=groupmap.managed(mapping))
    identity.last_login_at = timezone.now()
    identity.idp_groups = idp_groups[:100]
    identity.save(update_fields=["last_login_at", "idp_groups"])
    return user


def sync_managed_groups(user, *, wanted: set[str], managed: set[str]) -> tuple[list[str], list[str]]:
    """Add the wanted managed groups, remove the other managed ones; unmanaged groups stay."""
    current = set(user.groups.values_list("name", flat=True))
    add = sorted((wanted & managed) - current)
    remove = sorted((current & managed) - wanted)
    for name in add:
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    if remove:
        user.groups.remove(*Group.objects.filter(name__in=remove))
    if add or remove:
        audit(user, "user.groups", f"user {user.username}", {"via": "sso", "groups_added": add, "groups_removed": remove})
    return add, remove


# --- the Users page --------------------------------------------------------------------------


def is_sso_user(user) -> bool:
    return SsoIdentity.objects.filter(user=user).exists()


def _guard(actor, user) -> None:
    """Only superusers change superusers (an admin cannot lock out or take over one)."""
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser can change a superuser.")


def _save_new(user) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a same-named user created at the same moment
        raise ValidationError({"username": "A user with that username already exists."}) from None


def _group_names(groups) -> list[str]:
    return sorted(g.name for g in groups)


def _check_username(username: str) -> str:
    username = (username or "").strip()
    User.username_validator(username)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": "A user with that username already exists."})
    return username


@transaction.atomic
def create_user(actor, *, username: str, password: str, email: str = "", first_name: str = "", last_name: str = "",
                groups=()) -> "User":
    """A local user who signs in with this password."""
    username = _check_username(username)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    password_validation.validate_password(password, user)
    user.set_password(password)
    _save_new(user)
    user.groups.set(groups)
    audit(actor, "user.create", f"user {username}", {"email": email, "groups": _group_names(groups), "local": True})
    return user


@transaction.atomic
def invite_user(actor, *, username: str, email: str = "", first_name: str = "", last_name: str = "",
                groups=()) -> tuple["User", str]:
    """A local user without a password yet, and the one-time link (path) to set one: Django's
    password-reset token, valid PASSWORD_RESET_TIMEOUT seconds and spent once a password is set."""
    username = _check_username(username)
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    user.set_unusable_password()
    _save_new(user)
    user.groups.set(groups)
    audit(actor, "user.invite", f"user {username}", {"email": email, "groups": _group_names(groups)})
    return user, invite_path(user)


def invite_path(user) -> str:
    return reverse("invite_accept", args=[urlsafe_base64_encode(force_bytes(user.pk)),
                                          default_token_generator.make_token(user)])


def invite_accepted(user) -> None:
    audit(user, "user.invite_accepted", f"user {user.username}", {})


@transaction.atomic
def set_groups(actor, user, groups) -> tuple[list[str], list[str]]:
    _guard(actor, user)
    before = set(user.groups.values_list("name", flat=True))
    user.groups.set(groups)
    after = {g.name for g in groups}
    added, removed = sorted(after - before), sorted(before - after)
    if added or removed:
        audit(actor, "user.groups", f"user {user.username}", {"groups_added": added, "groups_removed": removed})
    return added, removed


@transaction.atomic
def set_active(actor, user, active: bool) -> None:
    _guard(actor, user)
    if not active:
        if user.pk == actor.pk:
            raise ValidationError("You cannot deactivate yourself.")
        if user.is_superuser and not User.objects.select_for_update().filter(
                is_superuser=True, is_active=True).exclude(pk=user.pk).exists():
            raise ValidationError("This is the last active superuser: make another one first.")
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit(actor, "user.activate" if active else "user.deactivate", f"user {user.username}", {})


@transaction.atomic
def set_password(actor, user, password: str) -> None:
    """An admin sets a local user's password (SSO users have none: they sign in at the IdP)."""
    _guard(actor, user)
    if is_sso_user(user):
        raise ValidationError("This user signs in with single sign-on and has no password here.")
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit(actor, "user.set_password", f"user {user.username}", {"by_admin": True})


def password_changed(user) -> None:
    """A user changed their own password (the change itself is Django's PasswordChangeForm)."""
    audit(user, "user.change_own_password", f"user {user.username}", {})

"""Reads for the Users page."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet

from numbersadmin.inventory.models import AccountScope

User = get_user_model()
KINDS = {"local": "Local", "sso": "SSO", "invited": "Invited (no password yet)"}


def group_list() -> QuerySet:
    return Group.objects.order_by("name")


def user_list(*, q: str = "", active: str = "", group: int | None = None, kind: str = "") -> QuerySet:
    qs = User.objects.select_related("sso_identity").prefetch_related("groups").order_by("username", "pk")
    for word in (q or "").split()[:10]:
        qs = qs.filter(Q(username__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
                       | Q(email__icontains=word))
    if active in ("yes", "no"):
        qs = qs.filter(is_active=active == "yes")
    if group:
        qs = qs.filter(groups=group)
    if kind == "sso":
        qs = qs.filter(sso_identity__isnull=False)
    elif kind == "local":
        qs = qs.filter(sso_identity__isnull=True).exclude(password__startswith="!")
    elif kind == "invited":
        qs = qs.filter(sso_identity__isnull=True, password__startswith="!")
    return qs


def user_kind(user) -> str:
    if hasattr(user, "sso_identity"):
        return "sso"
    return "local" if user.has_usable_password() else "invited"


def account_scopes_of(user) -> list[tuple[AccountScope, str]]:
    """The account scopes that apply to ``user`` (issue 14), each with how: "directly" or the
    names of the user's groups that hold it. Granted on the Scopes page, not here."""
    groups = set(user.groups.values_list("pk", flat=True))
    scopes = (AccountScope.objects.filter(Q(users=user) | Q(groups__in=groups)).distinct()
              .prefetch_related("accounts", "groups", "users").order_by("name"))
    found = []
    for scope in scopes:
        via = [g.name for g in scope.groups.all() if g.pk in groups]
        found.append((scope, "directly" if any(u.pk == user.pk for u in scope.users.all()) else ", ".join(via)))
    return found

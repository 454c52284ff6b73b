"""Writes of account scopes (who sees which provider accounts; inventory/scopes.py has the rules).
Every change is audited with the scope's full membership after it, so the log shows who could see
what from when."""

from __future__ import annotations

from django.db import transaction

from ..models import AccountScope
from .audit import audit


def _snapshot(scope: AccountScope) -> dict:
    return {"scope_id": scope.pk, "name": scope.name, "can_manage": scope.can_manage,
            "accounts": sorted(scope.accounts.values_list("name", flat=True)),
            "groups": sorted(scope.groups.values_list("name", flat=True)),
            "users": sorted(u.get_username() for u in scope.users.all())}


@transaction.atomic
def scope_save(scope: AccountScope, *, accounts, groups, users, user) -> AccountScope:
    """Creates or updates ``scope`` (its plain fields already set) with these members."""
    created = scope.pk is None
    before = None if created else _snapshot(AccountScope.objects.get(pk=scope.pk))
    scope.full_clean(exclude=["accounts", "groups", "users"])
    scope.save()
    scope.accounts.set(accounts)
    scope.groups.set(groups)
    scope.users.set(users)
    after = _snapshot(scope)
    audit(user, "scope.create" if created else "scope.update", f"scope {scope.name}",
          {**after, **({"before": before} if before else {})})
    return scope


@transaction.atomic
def scope_delete(scope: AccountScope, *, user) -> None:
    snapshot = _snapshot(scope)
    scope.delete()
    audit(user, "scope.delete", f"scope {snapshot['name']}", snapshot)


def audit_saved(scope: AccountScope, *, user, created: bool) -> None:
    """For Django admin, which saves the scope and its members itself."""
    audit(user, "scope.create" if created else "scope.update", f"scope {scope.name}", {**_snapshot(scope), "via": "django-admin"})

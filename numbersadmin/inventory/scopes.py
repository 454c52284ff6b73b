"""Account scopes (issue 14): which provider accounts a user sees and manages. The one place every
inventory read is filtered: selectors, costs, the API, exports and alerts call ``scoped(qs, path)``.

The rules
---------
- Superusers see and manage every account.
- A user in at least one ``AccountScope`` (directly, or through one of their Django groups) sees
  only the accounts of those scopes. A scope with no accounts still counts: its users see nothing.
- A user in no scope sees every account while ``SCOPES_DEFAULT_ALL`` is on (the default, so
  single-team installs keep working), and nothing when it is off.
- Managing an account (edit, test, sync now, archive, confirm held removals, bulk edit of its
  numbers) needs the account to be visible AND one of: the global ``inventory.manage_accounts``
  permission, or a scope with ``can_manage`` that holds the account. So the global permission
  given to a scoped user means "manage everything you see"; a scoped manager without it manages
  only their ``can_manage`` scopes' accounts.
- "Global" pages (adding an account, site settings, the audit log, managing scopes) need a
  global manager: a superuser, or a ``manage_accounts`` holder who sees every account.

Whose scope applies
-------------------
Reads are filtered for the *current viewer*: ``ScopeMiddleware`` makes it the request's user (for
the API that is the token's user, as DRF sets ``request.user`` when it authenticates). Code that
runs outside a request on behalf of someone wraps its reads in ``acting_for(user)`` (background
export jobs: the requester; alert rules: the rule's owner). Without a viewer (management commands,
syncs, the metrics scrape) nothing is filtered: those are system/superuser tools.

An anonymous user (never past LoginRequiredMiddleware, but API requests before DRF rejects them)
sees nothing. The filter is ``<path>__in (ids)`` on the base queryset, i.e. ``account_id IN (...)``;
users who see everything get no extra SQL at all.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Callable

from django.conf import settings
from django.db.models import Manager, Q, QuerySet

from .models import AccountScope, ProviderAccount

MANAGE = "inventory.manage_accounts"


@dataclass(frozen=True)
class Visibility:
    accounts: frozenset[int] | None  # None: every account
    managed: frozenset[int] | None  # None: every account the user sees
    manage_perm: bool  # superuser or the global manage_accounts permission

    @property
    def unrestricted(self) -> bool:
        return self.accounts is None

    def sees(self, account_id) -> bool:
        return self.accounts is None or account_id in self.accounts

    def manages(self, account_id) -> bool:
        if not self.sees(account_id):
            return False
        return self.managed is None or account_id in self.managed

    @property
    def manages_any(self) -> bool:
        return self.managed is None or bool(self.managed)

    @property
    def global_manager(self) -> bool:
        return self.manage_perm and self.accounts is None


EVERYTHING = Visibility(None, None, True)
NOTHING = Visibility(frozenset(), frozenset(), False)
_CACHE = "_account_visibility"


def visibility(user) -> Visibility:
    """What ``user`` sees and manages (one query, remembered on the user object for the request)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    if user.is_superuser:
        return EVERYTHING
    cached = getattr(user, _CACHE, None)
    if cached is not None:
        return cached
    rows = list(AccountScope.objects.filter(Q(users=user) | Q(groups__user=user)).order_by()
                .values_list("pk", "can_manage", "accounts"))
    perm = user.has_perm(MANAGE)
    if not rows:
        result = Visibility(None, None if perm else frozenset(), perm) if settings.SCOPES_DEFAULT_ALL else NOTHING
    else:
        seen = frozenset(a for _, _, a in rows if a is not None)
        managed = seen if perm else frozenset(a for _, manage, a in rows if manage and a is not None)
        result = Visibility(seen, managed, perm)
    try:
        setattr(user, _CACHE, result)
    except AttributeError:
        pass
    return result


def forget(user) -> None:
    """Drop the remembered visibility (after the user's scopes changed)."""
    if user is not None and hasattr(user, _CACHE):
        delattr(user, _CACHE)


# --- the current viewer -----------------------------------------------------------------------
# A callable returning the user (the request's user is read when the first query is built: DRF
# authenticates a token after the middleware ran). None: no viewer, nothing is filtered.
_viewer: ContextVar[Callable | None] = ContextVar("scope_viewer", default=None)


@contextmanager
def acting_for(user):
    """Reads inside are filtered for ``user`` (background jobs, alert rules, tests)."""
    reset = _viewer.set(lambda: user)
    try:
        yield
    finally:
        _viewer.reset(reset)


@contextmanager
def unscoped():
    """System reads inside (a sync, the metrics scrape): nothing filtered."""
    reset = _viewer.set(None)
    try:
        yield
    finally:
        _viewer.reset(reset)


class ScopeMiddleware:
    """Makes the request's user the viewer of every read made while the view runs and renders."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reset = _viewer.set(lambda: getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _viewer.reset(reset)


def current_user():
    viewer = _viewer.get()
    return viewer() if viewer is not None else None


def current() -> Visibility:
    viewer = _viewer.get()
    return EVERYTHING if viewer is None else visibility(viewer())


def visible_account_ids(user=None) -> frozenset[int] | None:
    """The viewer's (or ``user``'s) account ids; None = every account."""
    return (visibility(user) if user is not None else current()).accounts


def scoped(qs: QuerySet, path: str = "account", user=None) -> QuerySet:
    """``qs`` limited to rows of accounts the viewer (or ``user``) sees. ``path``: the lookup from
    the row to its ProviderAccount ("account", "run__account", "pk" for accounts themselves).
    Adds nothing to the query for a viewer who sees every account."""
    if isinstance(qs, Manager):
        qs = qs.all()
    ids = visible_account_ids(user)
    if ids is None:
        return qs
    return qs.filter(**{f"{path}__in": sorted(ids)})


def scoped_all(qs: QuerySet, path: str = "accounts", user=None) -> QuerySet:
    """Rows tied to several accounts (``path`` a many-to-many, e.g. reconciliation findings):
    visible when every one of their accounts is in scope, and they have at least one; a row that
    also names an out-of-scope account would leak it."""
    ids = visible_account_ids(user)
    if ids is None:
        return qs
    ids = sorted(ids)
    model = qs.model
    inside = model._base_manager.filter(**{f"{path}__in": ids}).values("pk")
    return qs.filter(pk__in=inside).exclude(**{f"{path}__in": ProviderAccount.objects.exclude(pk__in=ids)})


def scope_q(path: str = "account", user=None) -> Q:
    """The same filter as a Q (for subqueries and OR-ed conditions); empty Q when unrestricted."""
    ids = visible_account_ids(user)
    return Q() if ids is None else Q(**{f"{path}__in": sorted(ids)})


def can_manage_account(user, account) -> bool:
    account_id = getattr(account, "pk", account)
    return visibility(user).manages(account_id)


def is_global_manager(user) -> bool:
    return visibility(user).global_manager

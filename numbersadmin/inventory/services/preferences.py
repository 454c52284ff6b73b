"""Writes for per-user list state: visible columns, saved views, default view.

Ownership is enforced here, not only in the views: a saved view can be changed or deleted by
its owner only, whoever asks and however they ask."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ..models import ListPreference, SavedView

MAX_VIEWS_PER_USER = 200


def save_columns(user, list_name: str, names: list[str]) -> ListPreference:
    pref, _ = ListPreference.objects.update_or_create(user=user, list_name=list_name, defaults={"columns": names})
    return pref


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if "\x00" in name:  # PostgreSQL text cannot hold NUL
        raise ValidationError("View names cannot contain NUL characters.")
    if not name:
        raise ValidationError("Give the view a name.")
    if len(name) > 100:
        raise ValidationError("View names are at most 100 characters.")
    return name


def _clean_params(params: str) -> str:
    if "\x00" in params:
        raise ValidationError("These filters contain a NUL character; remove it before saving the view.")
    if len(params) > SavedView._meta.get_field("params").max_length:
        raise ValidationError("These filters are too long to save as a view (at most 4,000 characters).")
    return params


def create_view(user, list_name: str, name: str, params: str, *, shared: bool, make_default: bool) -> SavedView:
    name = _clean_name(name)
    params = _clean_params(params)
    if SavedView.objects.filter(owner=user).count() >= MAX_VIEWS_PER_USER:
        raise ValidationError(f"You already have {MAX_VIEWS_PER_USER} saved views; delete some first.")
    try:
        with transaction.atomic():
            view = SavedView.objects.create(owner=user, list_name=list_name, name=name, params=params, shared=shared)
            if make_default:
                set_default(user, list_name, view)
    except IntegrityError:
        raise ValidationError(f"You already have a view called “{name}” on this list.") from None
    return view


def _own(view: SavedView, user) -> None:
    if view.owner_id != user.pk:
        raise PermissionDenied("Only the owner of a saved view can change or delete it.")


def update_view(view: SavedView, user, *, params: str | None = None, name: str | None = None,
                shared: bool | None = None) -> SavedView:
    _own(view, user)
    if params is not None:
        view.params = _clean_params(params)
    if name is not None:
        view.name = _clean_name(name)
    if shared is not None:
        view.shared = shared
    try:
        with transaction.atomic():
            view.save()
    except IntegrityError:
        raise ValidationError(f"You already have a view called “{view.name}” on this list.") from None
    return view


def delete_view(view: SavedView, user) -> None:
    _own(view, user)
    view.delete()  # others' defaults pointing at it fall back to nothing (SET_NULL)


def set_default(user, list_name: str, view: SavedView | None) -> None:
    if view is not None and not view.is_visible_to(user):
        raise PermissionDenied("That view is not shared with you.")
    if view is not None and view.list_name != list_name:
        raise ValidationError("That view belongs to another list.")
    ListPreference.objects.update_or_create(user=user, list_name=list_name, defaults={"default_view": view})

"""Small querysets whose SQL is compiled once per shape.

Building and compiling a small ORM query (a health lookup, a list preference, a dropdown's
choices) costs 2-4x running it, and a list page runs several on every request.
``rows(model, key, build, params)`` compiles ``build()`` the first time ``key`` is seen (per
database), checks that the compiled parameters end with exactly ``params`` (the values that change
from call to call; everything else in the query must be fixed by ``key``) and from then on runs the
kept SQL with the new ``params`` through ``Model.objects.raw``: model instances with the selected
columns loaded (the rest deferred), as the queryset gives. No ``select_related`` or
``prefetch_related`` (raw SQL cannot fill them). A key whose parameters did not come out as
``params`` is never kept: its queryset runs as usual every time.
"""

from __future__ import annotations

from typing import Callable

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet

_SQL: dict[tuple, tuple[str, tuple]] = {}
_MAX = 512  # keys include the viewer's accounts; a full cache starts again


def rows(model, key: tuple, build: Callable[[], QuerySet], params: tuple = ()) -> list:
    db = router.db_for_read(model)
    full_key = (model._meta.label, db, connections[db].vendor, *key)
    cached = _SQL.get(full_key)
    if cached is not None:
        sql, fixed = cached
        return list(model.objects.db_manager(db).raw(sql, (*fixed, *params)))
    qs = build().using(db)
    if qs.model is not model or qs.query.select_related or qs._prefetch_related_lookups:
        raise ValueError("sqlcache.rows: a queryset of the model itself, without related objects to fill")
    try:
        sql, compiled = qs.query.get_compiler(db).as_sql()
    except EmptyResultSet:  # e.g. "account in ()" for a viewer who sees no account: no SQL to keep
        return list(qs)
    cut = len(compiled) - len(params)
    fixed, tail = tuple(compiled[:cut]), tuple(compiled[cut:])
    # Compared with their types: True == 1, and a user pk of 1 must not pass for a True.
    same = len(tail) == len(params) and all(type(a) is type(b) and a == b for a, b in zip(tail, params))
    if cut >= 0 and same and all(p is None or isinstance(p, (str, int)) for p in fixed):
        if len(_SQL) >= _MAX:
            _SQL.clear()
        _SQL[full_key] = (sql, fixed)
    return list(qs)

"""Small querysets whose SQL is compiled once per shape.

Building and compiling a small ORM query (a health lookup, a list preference, a dropdown's
choices) costs 2-4x running it, and a list page runs several on every request.
``rows(model, key, build, params)`` compiles ``build()`` the first time ``key`` is seen (per
database), checks that the compiled parameters end with exactly ``params`` (the values that change
from call to call; everything else in the query must be fixed by ``key``) and from then on runs the
kept SQL with the new ``params``: model instances with the selected columns loaded (the rest
deferred), as the queryset gives. The rows are read with a plain cursor and built with
``Model.from_db`` and the compiled query's converters (what ``Model.objects.raw`` does, without its
per-call column mapping, ~0.1 ms a query); a query selecting anything but the model's own columns
runs through ``raw()``. No ``select_related`` or ``prefetch_related`` (raw SQL cannot fill them).
A key whose parameters did not come out as ``params`` is never kept: its queryset runs as usual
every time.
"""

from __future__ import annotations

from typing import Callable

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.expressions import Col

# key -> (SQL, fixed parameters, attnames for Model.from_db or None for raw(), converters)
_SQL: dict[tuple, tuple[str, tuple, list[str] | None, list]] = {}
_MAX = 512  # keys include the viewer's accounts; a full cache starts again


def rows(model, key: tuple, build: Callable[[], QuerySet], params: tuple = ()) -> list:
    db = router.db_for_read(model)
    full_key = (model._meta.label, db, connections[db].vendor, *key)
    cached = _SQL.get(full_key)
    if cached is not None:
        sql, fixed, names, converters = cached
        if names is None:
            return list(model.objects.db_manager(db).raw(sql, (*fixed, *params)))
        connection = connections[db]
        with connection.cursor() as cursor:
            cursor.execute(sql, (*fixed, *params))
            found = cursor.fetchall()
        if converters:
            found = [_convert(row, converters, connection) for row in found]
        return [model.from_db(db, names, row) for row in found]
    qs = build().using(db)
    if qs.model is not model or qs.query.select_related or qs._prefetch_related_lookups:
        raise ValueError("sqlcache.rows: a queryset of the model itself, without related objects to fill")
    compiler = qs.query.get_compiler(db)
    try:
        sql, compiled = compiler.as_sql()
    except EmptyResultSet:  # e.g. "account in ()" for a viewer who sees no account: no SQL to keep
        return list(qs)
    cut = len(compiled) - len(params)
    fixed, tail = tuple(compiled[:cut]), tuple(compiled[cut:])
    # Compared with their types: True == 1, and a user pk of 1 must not pass for a True.
    same = len(tail) == len(params) and all(type(a) is type(b) and a == b for a, b in zip(tail, params))
    if cut >= 0 and same and all(p is None or isinstance(p, (str, int)) for p in fixed):
        if len(_SQL) >= _MAX:
            _SQL.clear()
        names = _own_columns(model, qs.query, compiler)
        converters = list(compiler.get_converters([col for col, _, _ in compiler.select]).items()) if names else []
        _SQL[full_key] = (sql, fixed, names, converters)
    return list(qs)


def _own_columns(model, query, compiler) -> list[str] | None:
    """The attnames the SELECT reads, when it reads only the model's own columns in field order
    (what ``Model.from_db`` takes); otherwise None."""
    if query.annotation_select or query.extra_select:
        return None
    fields = model._meta.concrete_fields
    names, at = [], 0
    for col, _, _ in compiler.select:
        target = getattr(col, "target", None)
        if not isinstance(col, Col) or col.alias != model._meta.db_table or target not in fields[at:]:
            return None
        at = fields.index(target) + 1
        names.append(target.attname)
    return names


def _convert(row, converters, connection) -> list:
    # Compiler.apply_converters, for one row. The backend's converters were bound at compile time
    # to the same database alias's operations (settings only, no connection state).
    row = list(row)
    for pos, (convs, expression) in converters:
        value = row[pos]
        for convert in convs:
            value = convert(value, expression, connection)
        row[pos] = value
    return row

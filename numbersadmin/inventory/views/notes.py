"""Local notes and tags on numbers: any user edits one number; admins bulk-edit a
filtered selection. Writes go through services/annotations.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from .. import lists, selectors
from ..forms import BulkEditForm, BulkSelectionForm, NumberAnnotateForm
from ..services import annotations
from .. import scopes
from .numbers import number_detail

@require_POST
def number_annotate(request, pk: int):
    number = get_object_or_404(selectors.number_queryset().select_related(None).only("pk", "e164", "number_raw"), pk=pk)
    form = NumberAnnotateForm(request.POST)
    if form.is_valid():
        try:
            annotations.annotate(number, note=form.cleaned_data["note"], tags=form.cleaned_data["tags"],
                                 user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Saved notes and tags for {number}.")
            return redirect("number_detail", pk=number.pk)
    messages.error(request, "Notes and tags were not saved: " + " ".join(_errors(form)))
    # Re-render the number page with what was typed, so nothing is lost.
    response = number_detail(request, pk, annotate_form=form)
    response.status_code = 400
    return response


@require_http_methods(["GET", "POST"])
def bulk_edit(request):
    """GET: confirmation page (exact count, filters, form). POST: re-select server-side and apply.
    Managers only; a scoped manager's selection is cut to the accounts they manage (scopes.py)."""
    seen = scopes.visibility(request.user)
    if not seen.manages_any:
        raise PermissionDenied("Only admins can bulk edit.")
    posted = request.method == "POST"
    selection = BulkSelectionForm(request.POST if posted else request.GET)
    errors = _errors(selection) if not selection.is_valid() else []
    query = _query(selection)
    filterset = selectors.number_list(QueryDict(query))
    if not filterset.is_valid():
        # The list skips a bad filter; here that would silently widen the selection.
        errors += [f"Filter {_label(filterset.form, name)}: {' '.join(errs)}"
                   for name, errs in filterset.form.errors.items()]
    context = {"back_url": _list_url(query), "query": query,
               "filters": [(c.heading, c.value) for c in lists.chips(filterset, QueryDict(query))]}
    if errors:
        for error in errors:
            messages.error(request, f"Cannot bulk edit: {error}")
        return render(request, "inventory/numbers/bulk_edit.html", {**context, "invalid": True}, status=400)

    managed = filterset.qs if seen.managed is None else filterset.qs.filter(account__in=sorted(seen.managed))
    scope = "matching" if selection.cleaned_data["scope"] == "matching" else "selected"
    pks = None if scope == "matching" else selection.cleaned_data["pk"]
    form = BulkEditForm(request.POST if posted else None)
    if posted and form.is_valid():
        d = form.cleaned_data
        try:
            rows = annotations.bulk_apply(
                managed, d["add_tags"], d["remove_tags"], d["note_mode"], d["note_text"], request.user,
                only=pks, audit_detail={"query": query, "scope": scope, "filters": _filters_detail(filterset),
                                        "ticked": len(pks) if pks is not None else None},
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if rows:
                messages.success(request, f"Updated {rows} number{'s' if rows != 1 else ''}.")
            else:
                messages.warning(request, "No numbers matched the selection; nothing was changed.")
            return redirect(context["back_url"])
    if posted:
        messages.error(request, "Nothing was changed: " + " ".join(_errors(form)))
    count = annotations.count_selected(managed, pks)
    return render(request, "inventory/numbers/bulk_edit.html", {
        **context, "form": form, "count": count, "scope": scope,
        "pk_csv": ",".join(map(str, pks or [])), "ticked": len(pks) if pks is not None else None,
        "skipped": len(pks) - count if pks is not None else 0,
    }, status=400 if posted else 200)


def _label(form, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


def _errors(form) -> list[str]:
    return [f"{_label(form, name)}: {e}" if name != "__all__" and not form.fields[name].widget.is_hidden else e
            for name, errs in form.errors.items() for e in errs]


def _query(selection) -> str:
    """The list's query string, minus paging and export keys (rows may have moved after the edit)."""
    raw = selection.cleaned_data.get("query", "") if hasattr(selection, "cleaned_data") else ""
    return lists.without(QueryDict(raw or ""))[1:]


def _list_url(query: str) -> str:
    return reverse("numbers") + (f"?{query}" if query else "")


def _filters_detail(filterset) -> dict[str, str]:
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    return {k: str(getattr(v, "pk", v)) for k, v in data.items() if v not in (None, "", [])}

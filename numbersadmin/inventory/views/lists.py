"""The list pages (one view for all six lists), their exports, column chooser and saved views.

A list URL's query string is the whole view (lists.py); the user's column choice and default
view are the only server-side state, and the URL wins over both."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage, Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render

from .. import export_jobs, lists, runner, scopes, selectors, widgets
from ..lists import ListSpec
from ..models import ExportJob, ListPreference, SavedView
from ..services import preferences
from ..services.audit import audit
from ..tables import Column, Table, unread_fields
from .common import htmx_partial, paged, render_page



def _spec(list_name: str) -> ListSpec:
    spec = lists.get_spec(list_name)
    if spec is None:
        raise Http404("No such list")
    return spec


def _visible_view(user, pk) -> SavedView | None:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return selectors.visible_views(user).filter(pk=pk).first()


@dataclass
class ViewState:
    """What the request asks to see, before any rows are read: the saved view it names, the
    visible columns (URL, else the user's choice, else the defaults) and the notices so far."""

    saved_views: list[SavedView]
    saved: SavedView | None
    visible: list[Column]
    cols_from_url: bool
    notices: list[str] = field(default_factory=list)
    column_notices: list[str] = field(default_factory=list)


def _saved_view(params, saved_views: list[SavedView], notices: list[str]) -> SavedView | None:
    if params.get("view") in (None, "", "none"):
        return None
    saved = next((v for v in saved_views if str(v.pk) == params.get("view")), None)
    if saved is None:
        notices.append("That saved view does not exist or is not shared with you.")
    return saved


def _view_state(request, spec: ListSpec, pref: ListPreference | None) -> ViewState:
    params = request.GET
    notices: list[str] = []
    saved_views = selectors.list_views(request.user, spec.name)
    saved = _saved_view(params, saved_views, notices)
    column_notices: list[str] = []
    visible = lists.parse_columns(spec, params.getlist("cols"), column_notices)
    cols_from_url = visible is not None
    if visible is None and pref and pref.columns:
        visible = lists.parse_columns(spec, pref.columns, [])  # stale names in a preference are dropped quietly
    return ViewState(saved_views, saved, visible or spec.default_columns, cols_from_url,
                     notices + column_notices, column_notices)


@dataclass
class Results:
    filterset: object
    sort: selectors.Sort
    per_page: int
    rows: list
    page: object = None  # KeysetPage (keyset lists)
    page_obj: object = None  # Django Page (numbered lists)


def _with_related(spec: ListSpec, qs, visible: list[Column], sort_field=None):
    """Only what the visible columns render is joined, loaded or prefetched."""
    related = [r for c in visible for r in c.select]
    prefetch = [r for c in visible for r in c.prefetch]
    if spec.page_related is not None:
        qs = qs.select_related(None)
        related = [*spec.page_related, *related]
    if related:
        qs = qs.select_related(*related)
    if spec.page_reads is not None:
        reads = [*spec.page_reads, *([sort_field] if isinstance(sort_field, str) else [])]
        qs = qs.defer(*unread_fields(spec.model, visible, reads))
    return qs.prefetch_related(*prefetch) if prefetch else qs


def _numbered_page(spec: ListSpec, qs, sort, per_page: int, number, notices: list[str]):
    paginator = Paginator(spec.order(qs, sort), per_page)
    try:
        return paginator.page(number or 1)
    except InvalidPage:
        notices.append(f"There is no page {str(number)[:20]!r}; showing the first page.")
        return paginator.page(1)


def _results(request, spec: ListSpec, state: ViewState) -> Results:
    params, notices = request.GET, state.notices
    filterset = spec.filterset(params)
    notices.extend(lists.form_notices(filterset))
    sort, error = selectors.parse_sort(params.get("sort"), spec.sorts, spec.default_sort)
    if error:
        notices.append(error)
    per_page = lists.parse_per_page(params.get("per_page"), notices)
    qs = _with_related(spec, filterset.qs, state.visible, sort.field)
    if spec.keyset:
        page = paged(request, qs, field=sort.field, descending=sort.descending, per_page=per_page, notices=notices)
        results = Results(filterset, sort, per_page, page.rows, page=page)
    else:
        page_obj = _numbered_page(spec, qs, sort, per_page, params.get("page"), notices)
        results = Results(filterset, sort, per_page, list(page_obj.object_list), page_obj=page_obj)
    return results


def _filter_context(params, filterset) -> dict:
    primary_fields, more_fields, hidden_fields = _split_fields(filterset)
    return {
        "filterset": filterset, "chips": lists.chips(filterset, params), "clear_all_url": lists.clear_all_url(params),
        "primary_fields": widgets.labelled_fields(primary_fields), "more_fields": widgets.labelled_fields(more_fields),
        "hidden_fields": widgets.plain_fields(hidden_fields),
        "more_active": sum(1 for f in more_fields if params.get(f.name) not in (None, "", filterset.defaults.get(f.name))),
    }


def _column_context(spec: ListSpec, state: ViewState) -> dict:
    visible_names = [c.name for c in state.visible]
    hidden = [c for c in spec.column_map.values() if c.name not in visible_names]
    return {
        "chooser": [(c, True) for c in state.visible] + [(c, False) for c in hidden],
        "cols_param": ",".join(visible_names) if state.cols_from_url else "",
        "visible_cols": ",".join(visible_names), "visible_count": len(state.visible),
    }


def _view_context(params, spec: ListSpec, state: ViewState, current: QueryDict, pref: ListPreference | None) -> dict:
    """Saved views, and what the export form re-sends (the view, its saved view for the file name)."""
    saved = state.saved
    export_params = [(k, v) for k, values in current.lists() for v in values]
    if saved:
        export_params.append(("view", saved.pk))
    if not state.cols_from_url:
        export_params.append(("cols", ",".join(c.name for c in state.visible)))
    return {
        "saved_views": state.saved_views, "saved": saved, "default_view_id": pref.default_view_id if pref else None,
        "current_query": current.urlencode(), "back_query": lists.without(params)[1:], "export_params": export_params,
        "view_modified": saved is not None and current.urlencode() != saved.params,
        "view_param": params.get("view", ""),
    }


def _context(request, spec: ListSpec, state: ViewState, results: Results, pref: ListPreference | None) -> dict:
    params = request.GET
    current = lists.normalise_params(spec, params, results.filterset)
    table = Table(results.rows, state.visible, table_id=spec.table_id, empty_text=spec.empty_text, selectable=True)
    table.set_sort(results.sort, params)
    context = {
        "spec": spec, "page": results.page, "page_obj": results.page_obj, "sort": results.sort,
        "table": table,
        "notices": state.notices, "per_page": results.per_page, "per_page_choices": lists.PER_PAGE_CHOICES,
        "can_bulk_edit": spec.bulk_editable and scopes.visibility(request.user).manages_any,
        "xlsx_sync_rows": settings.EXPORT_XLSX_SYNC_ROWS,
        **_filter_context(params, results.filterset),
        **_column_context(spec, state),
        **_view_context(params, spec, state, current, pref),
    }
    if spec.intro_context:
        context.update(spec.intro_context())
    form = results.filterset.form
    context["as_of"] = form.cleaned_data.get("as_of") if form.is_valid() and "as_of" in form.fields else None
    return context


def list_page(request, list_name: str):
    spec = _spec(list_name)
    pref = selectors.list_preference(request.user, spec.name)
    # A bare list URL opens the user's default view (if it still exists and is still visible).
    if not request.GET and pref and pref.default_view_id and not htmx_partial(request):
        default = pref.default_view
        if default.is_visible_to(request.user):
            return redirect(default.get_absolute_url())
    state = _view_state(request, spec, pref)
    if request.GET.get("export"):
        response, refused = _export(request, spec, request.GET, state.visible, state.saved, state.column_notices)
        if response is not None:
            return response
        state.notices.extend(refused)
    results = _results(request, spec, state)
    return render_page(request, "inventory/list.html", _context(request, spec, state, results, pref))


def _split_fields(filterset):
    """(shown, under "More filters", hidden inputs); the search box is rendered on its own."""
    primary = getattr(filterset, "primary", None)
    shown, more, hidden = [], [], []
    for bound in filterset.form:
        if bound.name == "q":
            continue
        if bound.is_hidden:
            hidden.append(bound)
        elif primary is None or bound.name in primary:
            shown.append(bound)
        else:
            more.append(bound)
    return shown, more, hidden


# --- export -----------------------------------------------------------------------------------


def _export(request, spec: ListSpec, params: QueryDict, visible, saved, column_notices: list[str]):
    """(file response, []) or (None, reasons): a refused export renders the page with the reasons.
    A large XLSX becomes a queued job (the response is a redirect to its page)."""
    notices: list[str] = list(column_notices)
    fmt = params.get("export")
    if fmt not in ("csv", "xlsx"):
        notices.append(f"Unknown export format {fmt[:10]!r}; choose CSV or XLSX. Nothing was exported.")
        return None, notices
    selected = None if params.get("scope") == "matching" else lists.parse_selected(params.getlist("pk"), notices)
    plan = lists.export_plan(spec, params, visible=visible, columns_mode=params.get("columns") or "view",
                             selected=selected, notices=notices)
    if notices:
        return None, ["Nothing was exported: fix the view first."]
    rows = plan.qs.count()
    base = lists.export_file_name(spec, saved)
    detail = {"format": fmt, "columns": plan.columns_mode, "column_names": [f.header for f in plan.fields],
              "query": plan.query, "filters": plan.filters, "selection": plan.selection,
              "view": saved.name if saved else ""}
    if fmt == "xlsx" and rows > settings.EXPORT_XLSX_SYNC_ROWS:
        try:
            job = export_jobs.request_job(request.user, plan, selected=selected, rows=rows, file_name=f"{base}.xlsx",
                                          detail=detail)
        except export_jobs.TooManyJobs as exc:
            return None, [str(exc)]
        runner.start_export(job.pk)
        return redirect(job.get_absolute_url()), []
    audit(request.user, "export", spec.name, detail, rows=rows)
    return lists.export_file(plan, request.user, fmt, rows, base), []


def _job_for(request, pk) -> ExportJob:
    job = get_object_or_404(ExportJob, pk=pk)
    # A job's rows are what its requester's scope showed: only managers who see everything may open others'.
    if job.requested_by_id != request.user.pk and not scopes.is_global_manager(request.user):
        raise Http404("No such export")
    return job


def export_job(request, pk: int):
    job = _job_for(request, pk)
    template = "inventory/export_job.html"
    return render(request, f"{template}#status" if htmx_partial(request) else template, {
        "job": job, "spec": lists.get_spec(job.list_name), "retention_hours": settings.EXPORT_RETENTION_HOURS})


def export_download(request, pk: int):
    job = _job_for(request, pk)
    path = settings.EXPORT_DIR / f"{job.pk}.xlsx"
    if job.state != ExportJob.State.SUCCEEDED or not job.file_name or not path.exists():
        messages.error(request, "That export file is not available (not finished, failed or cleaned up).")
        return redirect(job.get_absolute_url())
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name or f"export-{job.pk}.xlsx",
                        content_type=lists.XLSX_TYPE)


# --- column chooser and saved views (POST only; every one returns to the list it came from) ----


def _back(spec: ListSpec, query: str, **replace) -> str:
    params = QueryDict(query or "", mutable=True)
    for key, value in replace.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return spec.url + ("?" + encoded if encoded else "")


def choose_columns(request, list_name: str):
    spec = _spec(list_name)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    query = request.POST.get("next", "")
    if "reset" in request.POST:
        preferences.save_columns(request.user, spec.name, [])
        messages.success(request, "Columns reset to the default.")
        return redirect(_back(spec, query, cols=None))
    notices: list[str] = []
    picked = lists.parse_columns(spec, request.POST.getlist("cols"), notices)
    if picked is None:
        messages.warning(request, "Pick at least one column. " + " ".join(notices))
        return redirect(_back(spec, query))
    names = [c.name for c in picked]
    preferences.save_columns(request.user, spec.name, names)
    for n in notices:
        messages.warning(request, n)
    # The filters come back untouched; a cols= already in the URL is replaced, not dropped.
    had_cols = "cols" in QueryDict(query)
    return redirect(_back(spec, query, cols=",".join(names) if had_cols else None))


def save_view(request, list_name: str):
    spec = _spec(list_name)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    query = request.POST.get("query", "")
    params = QueryDict(query, mutable=True)
    if "cols" not in params and request.POST.get("cols"):
        params["cols"] = request.POST["cols"]  # the columns on screen belong to the view
    normalised = lists.normalise_params(spec, params).urlencode()
    try:
        view = preferences.create_view(request.user, spec.name, request.POST.get("name", ""), normalised,
                                       shared=request.POST.get("shared") == "on",
                                       make_default=request.POST.get("default") == "on")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_back(spec, query))
    messages.success(request, f"Saved view “{view.name}”. Its link: {request.build_absolute_uri(view.get_absolute_url())}")
    return redirect(view.get_absolute_url())


def open_view(request, pk: int):
    view = _visible_view(request.user, pk)
    if view is None or lists.get_spec(view.list_name) is None:
        raise Http404("No such view")
    spec = _spec(view.list_name)
    return redirect(_back(spec, view.params, view=str(view.pk)))


def _update_view(request, view: SavedView, spec: ListSpec):
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    if "cols" not in query and request.POST.get("cols"):
        query["cols"] = request.POST["cols"]
    preferences.update_view(view, request.user, params=lists.normalise_params(spec, query).urlencode(),
                            shared=request.POST.get("shared") == "on" if "shared_present" in request.POST else None)
    messages.success(request, f"Updated view “{view.name}”.")
    return redirect(view.get_absolute_url())


def _delete_view(request, view: SavedView, spec: ListSpec):
    name = view.name
    preferences.delete_view(view, request.user)
    messages.success(request, f"Deleted view “{name}”.")
    return redirect(spec.url + "?view=none")


def _default_view(request, view: SavedView, spec: ListSpec):
    make = request.POST.get("make", "on") == "on"
    preferences.set_default(request.user, spec.name, view if make else None)
    messages.success(request, f"“{view.name}” is now your default {spec.title.lower()} view." if make
                     else "Default view cleared.")
    return redirect(view.get_absolute_url())


VIEW_ACTIONS = {"update": _update_view, "delete": _delete_view, "default": _default_view}


def change_view(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    view = _visible_view(request.user, pk)
    if view is None or action not in VIEW_ACTIONS:
        raise Http404("No such view" if view is None else "No such action")
    try:
        return VIEW_ACTIONS[action](request, view, _spec(view.list_name))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(view.get_absolute_url())


def view_index(request):
    views = selectors.visible_views(request.user).order_by("list_name", "name")
    pref_defaults = selectors.default_view_ids(request.user)
    return render(request, "inventory/saved_views.html", {
        "views": [(v, lists.get_spec(v.list_name), v.pk in pref_defaults) for v in views if lists.get_spec(v.list_name)],
    })

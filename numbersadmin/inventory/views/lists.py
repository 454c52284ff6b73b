"""The list pages (one view for all six lists), their exports, column chooser and saved views.

A list URL's query string is the whole view (lists.py); the user's column choice and default
view are the only server-side state, and the URL wins over both."""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import InvalidPage, Paginator
from django.http import FileResponse, Http404, HttpResponseNotAllowed, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify

from .. import lists, selectors
from ..lists import ListSpec
from ..models import ExportJob, ListPreference, SavedView
from ..services import exports, preferences
from ..services.accounts import audit
from ..services.dispatch import schedule_export
from ..tables import Table
from .accounts import MANAGE
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
    return preferences.visible_views(user).filter(pk=pk).first()


def list_page(request, list_name: str):
    spec = _spec(list_name)
    params = request.GET
    pref = ListPreference.objects.filter(user=request.user, list_name=spec.name).select_related("default_view").first()
    # A bare list URL opens the user's default view (if it still exists and is still visible).
    if not params and pref and pref.default_view and not htmx_partial(request):
        view = pref.default_view
        if view.is_visible_to(request.user):
            return redirect(view.get_absolute_url())

    notices: list[str] = []
    saved_views = list(preferences.visible_views(request.user, spec.name))
    saved = None
    if params.get("view") not in (None, "", "none"):
        saved = next((v for v in saved_views if str(v.pk) == params.get("view")), None)
        if saved is None:
            notices.append("That saved view does not exist or is not shared with you.")

    column_notices: list[str] = []
    visible = lists.parse_columns(spec, params.getlist("cols"), column_notices)
    notices.extend(column_notices)
    cols_from_url = visible is not None
    if visible is None and pref and pref.columns:
        visible = lists.parse_columns(spec, pref.columns, [])  # stale names in a preference are dropped quietly
    visible = visible or [spec.column_map[n] for n in spec.default_columns]

    if params.get("export"):
        response, refused = _export(request, spec, params, visible, saved, column_notices)
        if response is not None:
            return response
        notices.extend(refused)

    filterset = spec.filterset(params)
    notices.extend(lists.form_notices(filterset))
    sort, error = selectors.parse_sort(params.get("sort"), spec.sorts, spec.default_sort)
    if error:
        notices.append(error)
    per_page = lists.parse_per_page(params.get("per_page"), notices)
    qs = filterset.qs
    related = [r for c in visible for r in c.select]
    prefetch = [r for c in visible for r in c.prefetch]
    if related:
        qs = qs.select_related(*related)
    if prefetch:
        qs = qs.prefetch_related(*prefetch)

    page = page_obj = None
    if spec.keyset:
        page = paged(request, qs, field=sort.field, descending=sort.descending, per_page=per_page, notices=notices)
        rows = page.rows
    else:
        paginator = Paginator(spec.order(qs, sort), per_page)
        try:
            page_obj = paginator.page(params.get("page") or 1)
        except InvalidPage:
            notices.append(f"There is no page {str(params.get('page'))[:20]!r}; showing the first page.")
            page_obj = paginator.page(1)
        rows = list(page_obj.object_list)
    if spec.after_page:
        spec.after_page(rows)

    table = Table(rows, visible, table_id=spec.table_id, empty_text=spec.empty_text, selectable=True)
    primary_fields, more_fields, hidden_fields = _split_fields(filterset)
    current = lists.normalise_params(spec, params, filterset)
    visible_names = [c.name for c in visible]
    hidden = [c for c in spec.columns if c.name not in visible_names]
    context = {
        "spec": spec, "filterset": filterset, "table": table, "page": page, "page_obj": page_obj, "sort": sort,
        "notices": notices, "per_page": per_page, "per_page_choices": lists.PER_PAGE_CHOICES,
        "chips": lists.chips(filterset, params), "clear_all_url": lists.clear_all_url(params),
        "primary_fields": primary_fields, "more_fields": more_fields, "hidden_fields": hidden_fields,
        "more_active": sum(1 for f in more_fields if params.get(f.name) not in (None, "", filterset.defaults.get(f.name))),
        "chooser": [(c, True) for c in visible] + [(c, False) for c in hidden],
        "cols_param": ",".join(visible_names) if cols_from_url else "",
        "saved_views": saved_views,
        "saved": saved, "default_view_id": pref.default_view_id if pref else None,
        "current_query": current.urlencode(),
        "back_query": lists.without(params)[1:],
        "visible_cols": ",".join(visible_names), "visible_count": len(visible),
        # The export form re-sends the view (and the saved view, for the file name).
        "export_params": [(k, v) for k, values in current.lists() for v in values]
        + ([("view", saved.pk)] if saved else []) + ([] if cols_from_url else [("cols", ",".join(visible_names))]),
        "view_modified": saved is not None and current.urlencode() != saved.params,
        "view_param": params.get("view", ""),
        "can_bulk_edit": spec.bulk_editable and request.user.has_perm(MANAGE),
        "xlsx_sync_rows": settings.EXPORT_XLSX_SYNC_ROWS,
    }
    if spec.intro_context:
        context.update(spec.intro_context())
    return render_page(request, "inventory/list.html", context)


def _split_fields(filterset):
    """(shown, under "More filters", hidden inputs); the search box is rendered on its own."""
    primary = getattr(filterset, "primary", None)
    shown, more, hidden = [], [], []
    for field in filterset.form:
        if field.name == "q":
            continue
        if field.is_hidden:
            hidden.append(field)
        elif primary is None or field.name in primary:
            shown.append(field)
        else:
            more.append(field)
    return shown, more, hidden


# --- export -----------------------------------------------------------------------------------


def _export(request, spec: ListSpec, params: QueryDict, visible, saved, column_notices: list[str]):
    """(file response, []) or (None, reasons): a refused export renders the page with the reasons."""
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
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    # Only slug characters reach the Content-Disposition header (no header injection).
    base = "-".join(p for p in (slugify(spec.title), slugify(saved.name)[:40] if saved else "", stamp) if p)
    detail = {"format": fmt, "columns": plan.columns_mode, "column_names": [h for h, _ in plan.columns],
              "query": plan.query, "filters": plan.filters, "selection": plan.selection,
              "view": saved.name if saved else ""}
    if fmt == "xlsx" and rows > settings.EXPORT_XLSX_SYNC_ROWS:
        exports.cleanup_export_jobs()  # cheap; keeps the embedded mode (no beat) tidy too
        busy = ExportJob.objects.filter(requested_by=request.user,
                                        state__in=[ExportJob.State.QUEUED, ExportJob.State.RUNNING]).count()
        if busy >= settings.EXPORT_JOBS_PER_USER:
            return None, [f"You already have {busy} Excel exports being prepared; wait for one to finish "
                          "(or export CSV, which streams right away)."]
        job = ExportJob.objects.create(
            requested_by=request.user, list_name=spec.name, params=plan.query, selected=selected or [],
            columns=[h for h, _ in plan.columns], columns_mode=plan.columns_mode, file_format="xlsx",
            rows_total=rows, file_name=f"{base}.xlsx")
        audit(request.user, "export", spec.name, {**detail, "job": job.pk}, rows=rows)
        schedule_export(job.pk)
        return redirect(job.get_absolute_url()), []
    audit(request.user, "export", spec.name, detail, rows=rows)
    manifest = plan.manifest(request.user, rows)
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_rows(plan.qs, plan.columns, manifest),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{base}.csv"'
        return response, []
    fh = tempfile.TemporaryFile()  # anonymous: gone when the response closes it
    exports.write_xlsx(fh, plan.qs, plan.columns, manifest)
    fh.seek(0)
    return FileResponse(fh, as_attachment=True, filename=f"{base}.xlsx",
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), []


def _job_for(request, pk) -> ExportJob:
    job = get_object_or_404(ExportJob, pk=pk)
    if job.requested_by_id != request.user.pk and not request.user.has_perm(MANAGE):
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
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


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


def change_view(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    view = _visible_view(request.user, pk)
    if view is None:
        raise Http404("No such view")
    spec = _spec(view.list_name)
    try:
        if action == "update":
            query = QueryDict(request.POST.get("query", ""), mutable=True)
            if "cols" not in query and request.POST.get("cols"):
                query["cols"] = request.POST["cols"]
            preferences.update_view(view, request.user, params=lists.normalise_params(spec, query).urlencode(),
                                    shared=request.POST.get("shared") == "on" if "shared_present" in request.POST else None)
            messages.success(request, f"Updated view “{view.name}”.")
            return redirect(view.get_absolute_url())
        if action == "delete":
            name = view.name
            preferences.delete_view(view, request.user)
            messages.success(request, f"Deleted view “{name}”.")
            return redirect(spec.url + "?view=none")
        if action == "default":
            make = request.POST.get("make", "on") == "on"
            preferences.set_default(request.user, spec.name, view if make else None)
            messages.success(request, f"“{view.name}” is now your default {spec.title.lower()} view." if make
                             else "Default view cleared.")
            return redirect(view.get_absolute_url())
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(view.get_absolute_url())
    raise Http404("No such action")


def view_index(request):
    views = preferences.visible_views(request.user).order_by("list_name", "name")
    pref_defaults = set(ListPreference.objects.filter(user=request.user).values_list("default_view_id", flat=True))
    return render(request, "inventory/saved_views.html", {
        "views": [(v, lists.get_spec(v.list_name), v.pk in pref_defaults) for v in views if lists.get_spec(v.list_name)],
    })

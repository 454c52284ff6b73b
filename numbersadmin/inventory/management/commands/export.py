import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from ... import diff, lists, scopes
from ...forms import DiffForm
from ...models import SavedView
from ...services import exports
from ...services.audit import audit

# CLI names are the UI's list names (lists.LISTS).
CHOICES = sorted(lists.LISTS)


class Command(BaseCommand):
    help = ("Export a list with the UI's filters, sort, columns and CSV-injection rules. "
            "Files start with a manifest (CSV: lines beginning with '# '; XLSX: a 'manifest' sheet).")

    def add_arguments(self, parser):
        parser.add_argument("list", choices=CHOICES)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--filter", action="append", metavar="KEY=VALUE", default=[],
                            help="a list filter, as in the page's URL (e.g. country=GB, trunk__n=3, trunk=null)")
        parser.add_argument("--search", default="")
        parser.add_argument("--sort", default="")
        parser.add_argument("--columns", default="",
                            help="comma-separated on-screen column names (the page's cols=); default: all columns")
        parser.add_argument("--as-of", default="", metavar="DATETIME",
                            help="numbers only: the list as it was then, rebuilt from history (2026-03-01 = end of that day)")
        parser.add_argument("--diff-from", default="", metavar="DATETIME",
                            help="numbers only: instead of the list, what changed from then to --as-of (default now)")
        parser.add_argument("--view", type=int, default=None, help="a saved view's id (its filters, sort, columns)")
        parser.add_argument("--no-manifest", action="store_true", help="data rows only")
        parser.add_argument("-o", "--output", default="-", help="file path, or - for stdout (csv only)")
        parser.add_argument("--as-user", default="", metavar="USERNAME",
                            help="export what this user sees (their account scopes); default: every account "
                                 "(the CLI is a superuser tool)")

    def handle(self, *args, **opts):
        if not opts.get("as_user"):
            return self._export(**opts)
        user = get_user_model().objects.filter(username=opts["as_user"]).first()
        if user is None:
            raise CommandError(f"No user {opts['as_user']!r}.")
        with scopes.acting_for(user):
            return self._export(**opts)

    def _export(self, **opts):
        spec = lists.LISTS[opts["list"]]
        params = QueryDict(mutable=True)
        if opts["view"] is not None:
            view = SavedView.objects.filter(pk=opts["view"], list_name=spec.name).first()
            if view is None:
                raise CommandError(f"No saved {spec.name} view with id {opts['view']}.")
            params = QueryDict(view.params, mutable=True)
        for item in opts["filter"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"Expected KEY=VALUE, got {item!r}")
            params.appendlist(key, value)
        if opts["search"]:
            params["q"] = opts["search"]
        if opts["sort"]:
            params["sort"] = opts["sort"]
        if opts["columns"]:
            params["cols"] = opts["columns"]
        if opts["as_of"]:
            params["as_of"] = opts["as_of"]
        known = lists.filter_keys(spec.filterset(QueryDict())) | set(lists.STATE_KEYS)
        unknown = sorted(set(params) - known)
        if unknown:
            raise CommandError(f"Unknown filter(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        if opts["diff_from"]:
            return self._diff(spec, params, opts)
        filterset = spec.filterset(params)
        if not filterset.is_valid():
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.form.errors.items()))
        notices: list[str] = []
        visible = lists.parse_columns(spec, params.getlist("cols"), notices)
        plan = lists.export_plan(spec, params, visible=visible, columns_mode="view" if visible else "all",
                                 selected=None, notices=notices)
        if notices:
            raise CommandError(" ".join(notices))
        rows = plan.qs.count()
        manifest = None if opts["no_manifest"] else plan.manifest("cli", rows)
        written = self._write(opts, plan.fields, manifest, qs=plan.qs)
        rows = rows if written is None else written
        audit("cli", "export", spec.name, {"format": opts["format"], "columns": plan.columns_mode,
                                           "query": plan.query, "filters": plan.filters}, rows=rows)
        if opts["output"] != "-":
            self.stderr.write(f"Wrote {rows} rows to {opts['output']}")

    def _write(self, opts, fields, manifest, *, qs=None, rows=None) -> int | None:
        """The file (or stdout for CSV) from ``qs`` or ready ``rows``; XLSX returns its row count."""
        if opts["format"] == "xlsx":
            if opts["output"] == "-":
                raise CommandError("XLSX needs -o FILE.")
            return exports.write_xlsx(opts["output"], qs, fields, manifest, rows=rows)
        fh = sys.stdout if opts["output"] == "-" else open(opts["output"], "w", newline="", encoding="utf-8")
        try:
            exports.write_csv(fh, exports.csv_rows(qs, fields, manifest, rows=rows))
        finally:
            if fh is not sys.stdout:
                fh.close()
        return None

    def _diff(self, spec, params, opts):
        """``--diff-from A [--as-of B]``: every difference between A and B (diff.py), one row each."""
        if spec.name != "numbers":
            raise CommandError("--diff-from works with the numbers list only.")
        form = DiffForm({"from": opts["diff_from"], "to": params.pop("as_of", [""])[-1]})
        if not form.is_valid():
            raise CommandError("; ".join(e for errors in form.errors.values() for e in errors))
        plan = lists.diff_plan(params, form.cleaned_data["start"], form.cleaned_data["end"])
        if not plan.filterset.is_valid():
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in plan.filterset.form.errors.items()))
        manifest = None if opts["no_manifest"] else plan.manifest("cli", plan.params.urlencode())
        counted = _Counted(r.values() for r in plan.rows())
        self._write(opts, diff.FIELDS, manifest, rows=counted)
        audit("cli", "export", "numbers_diff", {"format": opts["format"], "from": plan.start.isoformat(),
                                                "to": plan.end.isoformat(), "filters": plan.filters}, rows=counted.n)
        if opts["output"] != "-":
            self.stderr.write(f"Wrote {counted.n} differences to {opts['output']}")


class _Counted:
    """Counts the rows a writer takes from ``source`` (a diff is not counted before writing)."""

    def __init__(self, source):
        self.source, self.n = source, 0

    def __iter__(self):
        for item in self.source:
            self.n += 1
            yield item

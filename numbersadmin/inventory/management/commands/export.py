import sys

from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from ... import selectors
from ...services import exports

LISTS = {
    "numbers": (selectors.number_list, exports.NUMBER_COLUMNS, ("e164", "pk")),
    "caller_ids": (selectors.caller_id_list, exports.CALLER_ID_COLUMNS, None),
    "owners": (selectors.owner_list, exports.OWNER_COLUMNS, ("name", "pk")),
    "locations": (selectors.location_list, exports.LOCATION_COLUMNS, ("country_code", "name", "pk")),
    "trunks": (selectors.trunk_list, exports.TRUNK_COLUMNS, ("name", "pk")),
    "trunk_groups": (selectors.trunk_group_list, exports.TRUNK_GROUP_COLUMNS, ("name", "pk")),
}


class Command(BaseCommand):
    help = "Export a list with the UI's filters, columns and CSV-injection rules."

    def add_arguments(self, parser):
        parser.add_argument("list", choices=sorted(LISTS))
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--filter", action="append", metavar="KEY=VALUE", default=[])
        parser.add_argument("--search", default="")
        parser.add_argument("--sort", default="")
        parser.add_argument("-o", "--output", default="-", help="file path, or - for stdout (csv only)")

    def handle(self, *args, **opts):
        selector, columns, default_order = LISTS[opts["list"]]
        params = QueryDict(mutable=True)
        for item in opts["filter"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"Expected KEY=VALUE, got {item!r}")
            params.appendlist(key, value)
        if opts["search"]:
            params["q"] = opts["search"]
        filterset = selector(params)
        known = set(filterset.form.fields)
        unknown = sorted(set(params) - known)
        if unknown:
            raise CommandError(f"Unknown filter(s): {', '.join(unknown)}. Known: {', '.join(sorted(known))}.")
        if not filterset.is_valid():
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.form.errors.items()))
        if opts["list"] == "caller_ids":
            sort, error = selectors.parse_sort(opts["sort"], selectors.CALLER_ID_SORTS, "verified_until")
            if error:
                raise CommandError(error)
            qs = selectors.caller_id_order(filterset.qs, sort)
        else:
            order = default_order
            if opts["list"] == "numbers" and opts["sort"]:
                sort, error = selectors.parse_sort(opts["sort"], selectors.NUMBER_SORTS, selectors.DEFAULT_NUMBER_SORT)
                if error:
                    raise CommandError(error)
                order = (f"-{sort.field}", "-pk") if sort.descending else (sort.field, "pk")
            qs = filterset.qs.order_by(*order)
        if opts["format"] == "xlsx":
            if opts["output"] == "-":
                raise CommandError("XLSX needs -o FILE.")
            rows = exports.write_xlsx(opts["output"], qs, columns)
        else:
            fh = sys.stdout if opts["output"] == "-" else open(opts["output"], "w", newline="", encoding="utf-8")
            try:
                exports.write_csv(fh, exports.csv_rows(qs, columns))
            finally:
                if fh is not sys.stdout:
                    fh.close()
            rows = qs.count()
        from ...services.accounts import audit

        audit("cli", "export", opts["list"], {"format": opts["format"], "filters": dict(params.lists())}, rows=rows)
        if opts["output"] != "-":
            self.stderr.write(f"Wrote {rows} rows to {opts['output']}")

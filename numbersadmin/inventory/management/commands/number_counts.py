from django.core.management.base import BaseCommand, CommandError

from ... import counts


class Command(BaseCommand):
    help = ("Check the dashboard's number counts (NumberCount) against the numbers table, or rebuild them. "
            "Exit code 1 when --check finds drift.")

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="compare with a GROUP BY of the numbers table")
        action.add_argument("--rebuild", action="store_true", help="recount from the numbers table")

    def handle(self, *args, check=False, rebuild=False, **opts):
        if rebuild:
            self.stdout.write(f"Rebuilt number counts: {counts.rebuild()} key(s).")
            return
        found = counts.drift()
        for key, (stored, actual) in sorted(found.items(), key=str):
            self.stdout.write(f"{dict(zip(counts.KEY, key))}: stored {stored}, actual {actual}")
        if found:
            raise CommandError(f"{len(found)} count(s) differ from the numbers table; run number_counts --rebuild.")
        self.stdout.write("Number counts match the numbers table.")

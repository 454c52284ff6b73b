"""Alert rules as configuration: the same form as the web page (forms.RuleForm).

  manage.py alerts rule add --kind KIND [--days N] [--threshold K] [--view ID] [--cadence daily|weekly]
                            [--format csv|xlsx] [--name TEXT] (--email ADDR | --webhook URL | --slack URL)...
  manage.py alerts rule list
  manage.py alerts rule remove ID
  manage.py alerts run          # evaluate every rule and deliver what is due now (what beat calls)
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ...forms import RuleForm
from ...models import AlertRule, RuleKind
from ... import runner
from ...selectors import rule_list
from ...services import manage


class Command(BaseCommand):
    help = "Manage alert rules and run them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="command", required=True)
        rule = sub.add_parser("rule", help="add, list or remove alert rules")
        rule_sub = rule.add_subparsers(dest="rule_command", required=True)
        add = rule_sub.add_parser("add", help="add a rule")
        add.add_argument("--kind", required=True, choices=RuleKind.values,
                         help="; ".join(f"{value}: {label}" for value, label in RuleKind.choices))
        add.add_argument("--name", default="")
        add.add_argument("--days", type=int, help="expiry/renewal window in days (1-365)")
        add.add_argument("--threshold", type=int, help="failures in a row (sync_failing) or rows (view_rows)")
        add.add_argument("--view", type=int, help="a saved view's id (view_rows, view_changes, view_report)")
        add.add_argument("--cadence", choices=["daily", "weekly"], help="view_report: how often")
        add.add_argument("--format", dest="report_format", choices=["csv", "xlsx"], help="view_report: file format")
        add.add_argument("--email", action="append", default=[], metavar="ADDR")
        add.add_argument("--webhook", action="append", default=[], metavar="URL")
        add.add_argument("--slack", action="append", default=[], metavar="URL")
        rule_sub.add_parser("list", help="list rules")
        remove = rule_sub.add_parser("remove", help="remove a rule")
        remove.add_argument("id", type=int)
        sub.add_parser("run", help="evaluate every rule and deliver what is due now")
        sub.add_parser("demo", help="(manage.py demo) add the demo's rules once, then run them")

    def handle(self, *args, **opts):
        if opts["command"] == "run":
            return self.run()
        if opts["command"] == "demo":
            return self.demo()
        return {"add": self.add, "list": self.list, "remove": self.remove}[opts["rule_command"]](opts)

    def add(self, opts):
        data = {"kind": opts["kind"], "name": opts["name"], "emails": "\n".join(opts["email"]),
                "webhooks": "\n".join(opts["webhook"]), "slack": "\n".join(opts["slack"])}
        for key in ("days", "threshold", "view", "cadence", "report_format"):
            if opts.get(key) is not None:
                data[key] = opts[key]
        form = RuleForm(data)
        if not form.is_valid():
            flag = {"emails": "--email", "webhooks": "--webhook", "slack": "--slack", "report_format": "--format",
                    "__all__": "rule"}
            raise CommandError(" ".join(f"{flag.get(k, '--' + k)}: {' '.join(v)}" for k, v in form.errors.items()))
        rule, secrets = manage.create_rule(form.cleaned_data, actor="cli")
        self.stdout.write(f"Added rule {rule.pk}: {rule.summary} -> {', '.join(str(c) for c in rule.channels.all())}")
        for url, secret in secrets.items():
            # Shown once: the receiver needs it to check signatures; it is stored encrypted.
            self.stdout.write(f"Signing secret for {url}: {secret}")

    def list(self, opts):
        rules = list(rule_list())
        if not rules:
            self.stdout.write("No alert rules.")
        for rule in rules:
            state = "" if rule.enabled else " (disabled)"
            self.stdout.write(f"{rule.pk}\t{rule.kind}\t{rule.summary}{state}\topen: {rule.open_count}\t"
                              f"-> {', '.join(str(c) for c in rule.channels.all()) or 'nobody'}")

    def remove(self, opts):
        rule = AlertRule.objects.filter(pk=opts["id"]).first()
        if rule is None:
            raise CommandError(f"No alert rule with id {opts['id']}.")
        manage.remove_rule(rule, "cli")
        self.stdout.write(f"Removed rule {opts['id']}.")

    DEMO_RULES = (
        {"name": "Demo: caller IDs expiring", "kind": "caller_id_expiring", "days": 30},
        {"name": "Demo: numbers that will not renew", "kind": "number_not_renewing"},
        {"name": "Demo: failing syncs", "kind": "sync_failing", "threshold": 1},
        {"name": "Demo: removals held for review", "kind": "removals_held"},
    )

    def demo(self):
        """Rules for the demo's dashboard panel, mailed to ops@localhost (files under var/mail)."""
        for values in self.DEMO_RULES:
            if AlertRule.objects.filter(name=values["name"]).exists():
                continue
            form = RuleForm({**values, "emails": "ops@localhost"})
            if form.is_valid():
                manage.create_rule(form.cleaned_data, actor="demo")
        self.run()

    def run(self):
        summary = runner.run()
        self.stdout.write(f"Evaluated {summary.evaluated} rules: {summary.opened} items opened or changed, "
                          f"{summary.closed} closed; {len(summary.notifications)} notifications queued.")
        for error in summary.errors:
            self.stderr.write(f"Failed: {error}")
        if summary.errors:
            raise CommandError(f"{len(summary.errors)} rule(s) failed to evaluate.")

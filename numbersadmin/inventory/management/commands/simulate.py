from django.core.management.base import BaseCommand, CommandError

from providers import registry
from providers.simulators import registry as simulators

from ._cli import parse_pairs


class Command(BaseCommand):
    help = "Run one provider simulator in the foreground on 127.0.0.1 (Ctrl-C stops it)."

    def add_arguments(self, parser):
        parser.add_argument("provider", choices=sorted(registry.PROVIDERS))
        parser.add_argument("--port", type=int, default=0, help="0 = any free port")
        parser.add_argument("--numbers", type=int, default=200)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--secret", action="append", metavar="KEY=VALUE|KEY=@FILE")

    def handle(self, *args, **opts):
        spec = registry.get(opts["provider"])
        secrets = parse_pairs(opts["secret"], allow_files=True, what="secret")
        unknown = set(secrets) - set(spec.secret_fields)
        if unknown:
            raise CommandError(f"Unknown secret(s) {', '.join(sorted(unknown))}; {spec.name} takes {', '.join(spec.secret_fields)}.")
        if opts["numbers"] < 0:
            raise CommandError("--numbers must be >= 0")
        sim = simulators.simulator(spec.slug, secrets=secrets, numbers=opts["numbers"], seed=opts["seed"])
        sim.start(port=opts["port"])
        shown = {k: ("(from --secret)" if k in secrets else v if len(v) <= 40 else "(built-in demo value: DEMO_SECRETS in providers/simulators/%s.py)" % spec.slug)
                 for k, v in {**simulators.demo_secrets(spec.slug), **secrets}.items()}
        self.stdout.write(f"{spec.name} simulator with {opts['numbers']} numbers at {sim.base_url}")
        self.stdout.write("Accepted credentials: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
        self.stdout.write(f"Add it: manage.py add_account {spec.slug} NAME --base-url {sim.base_url} "
                          + " ".join(f"--secret {k}=..." for k in spec.secret_fields))
        self.stdout.flush()
        try:
            import threading

            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()

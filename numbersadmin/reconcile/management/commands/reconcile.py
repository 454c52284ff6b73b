from django.core.management.base import BaseCommand

from ...models import Finding, FindingKind, FindingState
from ...services import reconcile


class Command(BaseCommand):
    help = "Recompute the reconciliation findings now (they are also recomputed after every sync)."

    def handle(self, *args, **opts):
        outcome = reconcile()
        self.stdout.write(f"{outcome.opened} opened, {outcome.reopened} reopened, {outcome.resolved} resolved, "
                          f"{outcome.still} still present")
        for value, label in FindingKind.choices:
            qs = Finding.objects.filter(kind=value)
            self.stdout.write(f"  {value}: {qs.filter(state=FindingState.OPEN).count()} open, "
                              f"{qs.exclude(state=FindingState.RESOLVED).count()} unresolved  ({label})")

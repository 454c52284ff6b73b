"""``{% open_findings %}``: the dashboard's open findings per kind, each linking to the findings
list filtered so that it shows exactly that many rows (inventory templates load this library;
inventory Python never imports this app)."""

from django import template
from django.db.models import Count
from django.urls import reverse
from django.utils.http import urlencode

from ..models import Finding, FindingKind, FindingState

register = template.Library()


@register.inclusion_tag("reconcile/dashboard_findings.html")
def open_findings():
    counts = dict(Finding.objects.filter(state=FindingState.OPEN).order_by().values_list("kind")
                  .annotate(n=Count("pk")).values_list("kind", "n"))
    base = reverse("findings")
    kinds = [{"kind": value, "label": label, "count": counts.get(value, 0),
              "url": f"{base}?{urlencode({'kind': value, 'state': FindingState.OPEN})}"}
             for value, label in FindingKind.choices]
    return {"kinds": kinds, "total": sum(counts.values()), "all_url": f"{base}?{urlencode({'state': FindingState.OPEN})}"}

"""Scrub raw provider payloads stored before redaction existed: the same per-provider declaration
the sync now applies (providers/<slug>/__init__.py ``raw_redaction``). Only rows that change are
written; providers that declare nothing are skipped."""

from django.db import migrations

MODELS = ("PhoneNumber", "CallerId", "Location", "Owner", "Trunk", "TrunkGroup", "NumberGroup")


def scrub(apps, schema_editor):
    from providers import registry

    Account = apps.get_model("inventory", "ProviderAccount")
    for slug, spec in registry.PROVIDERS.items():
        redact = spec.raw_redaction
        if not (redact.keys or redact.segments):
            continue
        accounts = list(Account.objects.filter(provider=slug).values_list("pk", flat=True))
        if not accounts:
            continue
        for name in MODELS:
            model = apps.get_model("inventory", name)
            batch = []
            for obj in model.objects.filter(account_id__in=accounts).only("pk", "raw").iterator(chunk_size=2000):
                clean = redact(obj.raw)
                if clean != obj.raw:
                    obj.raw = clean
                    batch.append(obj)
                if len(batch) >= 1000:
                    model.objects.bulk_update(batch, ["raw"])
                    batch = []
            if batch:
                model.objects.bulk_update(batch, ["raw"])


class Migration(migrations.Migration):
    dependencies = [("inventory", "0006_sync_trust")]
    operations = [migrations.RunPython(scrub, migrations.RunPython.noop)]

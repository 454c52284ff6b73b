"""Search (issue 13): digits anywhere in a number.

- PostgreSQL only: pg_trgm and a trigram GIN index on ``PhoneNumber.digits``, so ``digits LIKE
  '%2344%'`` (filters.number_term_q) reads the index instead of every row. It is not in the
  model's Meta (SQLite cannot build it), so the migration state is unchanged and makemigrations
  stays clean; SQLite skips both steps.
- Caller IDs get the numbers' search columns (``digits``, ``national_digits``, ``country``),
  filled here for existing rows and by every sync afterwards (services.ingest).
"""

import phonenumbers
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEX = "num_digits_trgm"
FILLED = ["digits", "national_digits", "country"]


def _national_and_country(e164: str) -> tuple[str, str]:
    # As services.ingest.national_digits and providers.base.country_of do (copied: a migration must
    # not follow later code changes).
    if not e164:
        return "", ""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return "", ""
    region = phonenumbers.region_code_for_number(parsed)
    return str(parsed.national_number), "" if region in (None, "ZZ", "001") else region


def fill_caller_id_digits(apps, schema_editor):
    CallerId = apps.get_model("inventory", "CallerId")
    batch = []
    for caller_id in CallerId.objects.only("pk", "e164", "number_raw").iterator(chunk_size=2000):
        e164 = caller_id.e164
        caller_id.digits = (e164.lstrip("+") if e164 else "".join(c for c in caller_id.number_raw if c.isdigit()))[:32]
        caller_id.national_digits, caller_id.country = _national_and_country(e164)
        batch.append(caller_id)
        if len(batch) == 2000:
            CallerId.objects.bulk_update(batch, FILLED)
            batch = []
    if batch:
        CallerId.objects.bulk_update(batch, FILLED)


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("inventory", "PhoneNumber")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON {table} USING gin (digits gin_trgm_ops)")


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0008_api_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="callerid",
            name="digits",
            field=models.CharField(blank=True, max_length=32, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="callerid",
            name="national_digits",
            field=models.CharField(blank=True, max_length=32, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="callerid",
            name="country",
            field=models.CharField(blank=True, max_length=2, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(fill_caller_id_digits, migrations.RunPython.noop, elidable=True),
        # CREATE EXTENSION IF NOT EXISTS pg_trgm (a no-op on other databases). pg_trgm is a trusted
        # extension (PostgreSQL 13+): the database owner may create it without being a superuser.
        TrigramExtension(),
        migrations.RunPython(add_trigram_index, drop_trigram_index),
    ]

"""Numbers list at 1,000,000 rows (issue 18).

- A (country, city, id) index: the country filter with the city sort.
- Partial indexes on live numbers per owner and per location: the owners and locations lists
  count each page row's live numbers from them (selectors.live_number_count).
- PostgreSQL only: trigram GIN indexes for the text search (filters.number_word_q), on the
  expressions Django's ``icontains`` compiles to (``UPPER(col::text) LIKE UPPER('%word%')``), one
  per table the search reads: the numbers' own text columns (one multi-column index), owner,
  location and trunk names, note text. ANALYZE also keeps statistics on these expressions, so the
  planner's row estimate for a word (the list's "≈ N") is no longer a guess. As in 0009 they are
  not in the models' Meta (SQLite cannot build them): the migration state is unchanged and
  SQLite (embedded mode) skips them.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# (index name, model, expressions)
TRIGRAM_INDEXES = [
    ("num_text_trgm", "PhoneNumber", ["description", "number_raw", "city", "application"]),
    ("owner_name_trgm", "Owner", ["name"]),
    ("location_name_trgm", "Location", ["name"]),
    ("trunk_name_trgm", "Trunk", ["name"]),
    ("note_text_trgm", "NumberNote", ["text"]),
]


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for name, model, columns in TRIGRAM_INDEXES:
        table = quote(apps.get_model("inventory", model)._meta.db_table)
        expressions = ", ".join(f"(UPPER({quote(c)}::text)) gin_trgm_ops" for c in columns)
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expressions})")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0013_owner_location_history"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(fields=["country", "city", "id"], name="num_country_city_id"),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(condition=models.Q(removed_at__isnull=True), fields=["owner"], name="num_live_owner"),
        ),
        migrations.AddIndex(
            model_name="phonenumber",
            index=models.Index(condition=models.Q(removed_at__isnull=True), fields=["location"], name="num_live_location"),
        ),
        TrigramExtension(),  # already created by 0009; IF NOT EXISTS
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes),
    ]

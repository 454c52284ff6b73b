import django.utils.timezone
import django.db.models.deletion
from django.db import migrations, models


# Backfill from the stored raw payloads, so the first sync after this migration finds the new
# fields already equal to what the adapters now map (no history row per number for them). The
# rules are copied here (not imported) so this migration keeps meaning what it meant.
def _int(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _flag(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _truthy(value):
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _didww(raw):
    a = raw.get("attributes") if isinstance(raw, dict) else None
    if not isinstance(a, dict):
        return {}
    if a.get("pending_removal") is True:
        renew = False
    elif "billing_cycles_count" not in a:
        renew = None
    elif a.get("billing_cycles_count") is None:
        renew = True
    else:
        cycles = _int(a.get("billing_cycles_count"))
        renew = None if cycles is None else cycles > 0
    return {"will_renew": renew, "billing_cycles_count": _int(a.get("billing_cycles_count")),
            "emergency_enabled": _flag(a.get("emergency_enabled")), "capacity_limit": _int(a.get("capacity_limit")),
            "channels_included_count": _int(a.get("channels_included_count")),
            "dedicated_channels_count": _int(a.get("dedicated_channels_count"))}


def _voximplant(raw):
    if not isinstance(raw, dict):
        return {}
    if _truthy(raw.get("canceled")) or _truthy(raw.get("deactivated")):
        return {"will_renew": False}
    return {"will_renew": _truthy(raw.get("auto_charge"))}


def backfill(apps, schema_editor):
    PhoneNumber = apps.get_model("inventory", "PhoneNumber")
    for provider, rule in (("didww", _didww), ("voximplant", _voximplant)):
        batch, names = [], set()
        for obj in PhoneNumber.objects.filter(provider=provider).only("pk", "raw").iterator(chunk_size=2000):
            values = rule(obj.raw)
            if any(v is not None for v in values.values()):
                for k, v in values.items():
                    setattr(obj, k, v)
                names.update(values)
                batch.append(obj)
            if len(batch) >= 2000:
                PhoneNumber.objects.bulk_update(batch, sorted(names))
                batch = []
        if batch:
            PhoneNumber.objects.bulk_update(batch, sorted(names))


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0010_setting_bounds"),
    ]

    operations = [
        # PhoneNumber.pools gains a through model on the table the plain M2M already had
        # (inventory_phonenumber_pools: id, phonenumber_id, numbergroup_id, unique together):
        # state only, no table is rebuilt; the membership columns are added below.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="PoolMembership",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("phonenumber", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="inventory.phonenumber")),
                        ("numbergroup", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="inventory.numbergroup")),
                    ],
                    options={"db_table": "inventory_phonenumber_pools", "unique_together": {("phonenumber", "numbergroup")}},
                ),
                migrations.AlterField(
                    model_name="phonenumber",
                    name="pools",
                    field=models.ManyToManyField(blank=True, related_name="pool_numbers", through="inventory.PoolMembership",
                                                 to="inventory.numbergroup"),
                ),
            ],
        ),

        migrations.AddField(
            model_name='callerid',
            name='is_main_number',
            field=models.BooleanField(null=True),
        ),
        migrations.AddField(
            model_name='callerid',
            name='is_service_number',
            field=models.BooleanField(null=True),
        ),
        migrations.AddField(
            model_name='callerid',
            name='owner',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='caller_ids', to='inventory.owner'),
        ),
        migrations.AddField(
            model_name='callerid',
            name='toll_free_number',
            field=models.BooleanField(null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='billing_cycles_count',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='capacity_limit',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='channels_included_count',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='dedicated_channels_count',
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='emergency_enabled',
            field=models.BooleanField(null=True),
        ),
        migrations.AddField(
            model_name='phonenumber',
            name='will_renew',
            field=models.BooleanField(null=True),
        ),
        migrations.AddField(
            model_name='poolmembership',
            name='added_on',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='poolmembership',
            name='member_type',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='poolmembership',
            name='service',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.CreateModel(
            name='CallerIdChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('added', 'Added'), ('changed', 'Changed'), ('removed', 'Removed'), ('restored', 'Restored'), ('missing', 'Missing from listing'), ('found', 'Listed again')], max_length=20)),
                ('field', models.CharField(blank=True, max_length=60)),
                ('old_value', models.TextField(blank=True)),
                ('new_value', models.TextField(blank=True)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('caller_id', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='inventory.callerid')),
                ('run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='inventory.syncrun')),
            ],
            options={
                'ordering': ['-at', '-id'],
                'indexes': [models.Index(fields=['caller_id', '-at'], name='change_callerid_at')],
            },
        ),
        migrations.AddField(
            model_name='callerid',
            name='listed_for',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='caller_id_candidates', to='inventory.location'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

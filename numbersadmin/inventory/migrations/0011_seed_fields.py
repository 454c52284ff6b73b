import django.utils.timezone
import django.db.models.deletion
from django.db import migrations, models


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
    ]

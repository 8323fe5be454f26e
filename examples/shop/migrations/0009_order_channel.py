from django.db import migrations, models


def fill_channel(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(channel__isnull=True).update(channel="web")


class Migration(migrations.Migration):
    dependencies = [("shop", "0008_enforce_order_fields")]

    operations = [
        # All three steps in one migration: none can be deployed or rolled back on its own.
        migrations.AddField(model_name="order", name="channel", field=models.CharField(max_length=20, null=True)),
        migrations.RunPython(fill_channel, migrations.RunPython.noop),
        migrations.AlterField(  # RP205
            model_name="order", name="channel", field=models.CharField(max_length=20)
        ),
    ]

from django.db import migrations


def fill_referral_codes(apps, schema_editor):
    Customer = apps.get_model("shop", "Customer")
    Customer.objects.update(referral_code="")  # RP204


class Migration(migrations.Migration):
    dependencies = [("shop", "0006_order_note_coupon_channel")]

    operations = [
        migrations.RunPython(fill_referral_codes),  # RP203
    ]

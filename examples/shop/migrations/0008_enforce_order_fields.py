from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0007_fill_referral_code")]

    operations = [
        # Step 3 of 3 for `referral_code`: added nullable in 0006, filled in 0007.
        migrations.AlterField(
            model_name="customer", name="referral_code", field=models.CharField(max_length=20)
        ),
        # NULL rows make this fail: nothing filled `coupon` first.
        migrations.AlterField(  # RP202
            model_name="order", name="coupon", field=models.CharField(max_length=20)
        ),
        # Django fills NULL rows with the default and adds the constraint in one locking transaction.
        migrations.AlterField(  # RP206
            model_name="order", name="note", field=models.TextField(default="")
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0005_alter_review_language")]

    operations = [
        # Nullable first: safe on a live table. What follows decides whether the rest is.
        migrations.AddField(model_name="order", name="note", field=models.TextField(null=True)),
        migrations.AddField(model_name="order", name="coupon", field=models.CharField(max_length=20, null=True)),
        migrations.AddField(
            model_name="customer", name="referral_code", field=models.CharField(max_length=20, null=True)
        ),
    ]

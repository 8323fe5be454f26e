from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_review_rating")]

    operations = [
        # Step 1 of 3: add the field nullable, so existing rows stay valid.
        migrations.AddField(
            model_name="review",
            name="language",
            field=models.CharField(max_length=8, null=True),
        ),
    ]

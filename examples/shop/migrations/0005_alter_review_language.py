from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0004_fill_review_language")]

    operations = [
        # Step 3 of 3: enforce NOT NULL once every row has a value (bonus three-step-migration).
        migrations.AlterField(
            model_name="review",
            name="language",
            field=models.CharField(max_length=8),
        ),
    ]

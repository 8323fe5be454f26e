from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        # Anti-pattern (RP201): NOT NULL in one step, nothing fills the reviews that already exist.
        migrations.AddField(
            model_name="review",
            name="rating",
            field=models.PositiveSmallIntegerField(),
        ),
    ]

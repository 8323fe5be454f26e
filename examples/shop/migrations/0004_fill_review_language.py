from django.db import migrations


def fill_language(apps, schema_editor):
    """Step 2 of 3: fill only the rows that still need it, so a re-run is harmless."""
    Review = apps.get_model("shop", "Review")
    Review.objects.filter(language__isnull=True).update(language="en")


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_review_language")]

    operations = [
        migrations.RunPython(fill_language, reverse_code=migrations.RunPython.noop),
    ]

"""The migration history (read, ordered, replayed) and the migration rules RP201-RP206 on it."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import FIXTURES

from review_patterns import Config, ProjectContext, lint, lint_paths
from review_patterns.project.migrations import Migration, MigrationHistory, read_migration

# A copy outside this repository, whose release tags would otherwise date the fixture's migrations.
PROJECT = Path(shutil.copytree(FIXTURES / "migrations_project", Path(tempfile.mkdtemp()) / "migrations_project"))
atexit.register(shutil.rmtree, PROJECT.parent, True)


@pytest.fixture(scope="module")
def history() -> MigrationHistory:
    return ProjectContext(root=PROJECT).migrations


def named(history: MigrationHistory, label: str) -> Migration:
    return next(m for m in history.order if m.label == label)


def check(files: dict[str, str], path: str, **options: object) -> list[tuple[int, str]]:
    """Lints `path` inside an in-memory project of `files`; (line, code) of each finding."""
    sources = {name: textwrap.dedent(text) for name, text in files.items()}
    config = Config(options={"RP206": dict(options)} if options else {})
    result = lint(sources[path], path, ProjectContext.from_sources(sources), config)
    return [(f.line, f.code) for f in result.findings]


# -- the history ----------------------------------------------------------------------------------


def test_packages_are_found_wherever_they_sit_and_labelled(history: MigrationHistory) -> None:
    apps = {m.package: m.app for m in history.order}
    assert apps == {
        "accounts/migrations": "accounts",
        "inventory/db_migrations": "inventory",  # MIGRATION_MODULES lets a project name it so
        "shop/migrations": "shop",
        "billing/migrations": "payments",  # AppConfig.label in billing/apps.py
    }


def test_order_follows_dependencies_across_apps(history: MigrationHistory) -> None:
    order = [m.label for m in history.order]
    position = {label: i for i, label in enumerate(order)}
    shop = [label for label in order if label.startswith("shop.")]
    assert shop == sorted(shop) and len(shop) == 7
    # swappable_dependency(settings.AUTH_USER_MODEL) with AUTH_USER_MODEL = "accounts.User"
    assert position["accounts.0001_initial"] < position["shop.0001_initial"]
    assert position["inventory.0001_initial"] < position["shop.0001_initial"]  # ("inventory", "__first__")
    assert position["inventory.0004_move_stock_state"] < position["shop.0005_order_fields"]
    assert position["payments.0005_fill_order_invoice_email"] < position["shop.0007_enforce_order_note"]
    assert position["shop.0004_alter_order_currency"] < position["payments.0001_initial"]


def test_a_dependency_on_a_squashed_away_migration_resolves_to_the_squash(history: MigrationHistory) -> None:
    squash = named(history, "payments.0002_invoice_number_squashed_0004_enforce_invoice_number")
    later = named(history, "payments.0005_fill_order_invoice_email")
    assert ("payments", "0003_fill_invoice_number") in squash.replaces
    assert squash in later.parents
    assert history.is_ancestor(squash, later)
    assert history.state_before(later)["payments"]["invoice"].fields["number"].spec.null is False


def test_replay_tracks_models_and_fields_since_their_migration(history: MigrationHistory) -> None:
    state = history.state_after(named(history, "shop.0007_enforce_order_note"))
    order = state["shop"]["order"]
    assert order.created_in is named(history, "shop.0001_initial")
    currency = order.fields["currency"]
    assert currency.since is named(history, "shop.0002_order_currency")
    assert currency.spec.null is False and currency.spec.short_type == "CharField"
    assert order.fields["weight"].spec.default and not order.fields["weight"].spec.db_default
    assert order.fields["priority"].spec.db_default
    assert order.fields["coupon"].spec.null is True
    assert order.fields["coupon"].nullable_since is not None
    assert order.fields["coupon"].nullable_since[0] is named(history, "shop.0005_order_fields")
    assert not order.fields["products"].spec.column
    assert not order.fields["country"].spec.known  # a third-party field: traits unknown
    assert state["shop"]["paidorder"].table is False and state["shop"]["ordersummary"].table is False
    # The user model of another app, through the swappable dependency: on that app's first migration only.
    assert set(state["accounts"]["user"].fields) == {"id", "password", "email"}


def test_separate_database_and_state_replays_the_state_side(history: MigrationHistory) -> None:
    state = history.state_after(named(history, "inventory.0004_move_stock_state"))
    assert "reserved" in state["inventory"]["stock"].fields
    assert state["inventory"]["warehouse"].fields["capacity"].spec.null is True  # state says nullable
    assert "aisle" in state["inventory"]["stock"].fields  # after a custom operation, replay goes on


def test_custom_operations_are_skipped(history: MigrationHistory) -> None:
    kinds = [op.kind for op in named(history, "inventory.0003_location").operations]
    assert kinds == ["CreateModel", "AddField", "", "AddField"]


def test_state_before_a_migration_holds_only_its_ancestors(history: MigrationHistory) -> None:
    before = history.state_before(named(history, "shop.0002_order_currency"))
    assert "currency" not in before["shop"]["order"].fields
    assert "payments" not in before  # the payments app comes later and is not an ancestor


def test_field_classes_are_resolved_through_imports() -> None:
    source = textwrap.dedent("""
        import django.db.models.fields
        from django.db import migrations
        from django.db.models import IntegerField as Int
        from taggit.managers import TaggableManager

        class Migration(migrations.Migration):
            operations = [
                migrations.AddField("a", "x", django.db.models.fields.IntegerField(null=True)),
                migrations.AddField("a", "y", Int(default=None)),
                migrations.AddField("a", "z", TaggableManager()),
                migrations.AddField("a", "w", IntegerField()),
            ]
        """)
    migration = read_migration("app/migrations/0002_x.py", source)
    assert migration is not None and migration.app == "app"
    x, y, z, w = (op.field for op in migration.operations)
    assert x and x.type == "django.db.models.fields.IntegerField" and x.known and x.null is True
    assert y and y.known and y.null is False and not y.default  # default=None fills nothing
    assert z and not z.known
    assert w and not w.known  # not imported: not Django's


def test_broken_histories_do_not_crash() -> None:
    head = "from django.db import migrations\nclass Migration(migrations.Migration):\n"
    files = {
        # Two packages with the same label, as in Django's own tests: each resolves its own names.
        "tests/migrations/test_a/0001_initial.py": head + "    dependencies = [('migrations', '0002_second')]\n",
        "tests/migrations/test_a/0002_second.py": head + "    dependencies = [('migrations', '0001_initial')]\n",
        "tests/migrations/test_b/0001_initial.py": head + "    dependencies = [('other', '__latest__'), ('x', '1')]\n",
        "tests/migrations/test_b/0002_syntax_error.py": "class Migration(migrations.Migration):\n    operations = [\n",
        "other/migrations/0001_initial.py": head + "    pass\n",
        "other/migrations/0002_next.py": head + "    dependencies = [('other', '0001_initial')]\n",
    }
    history = ProjectContext.from_sources(files).migrations
    assert len(history.order) == 5  # the cycle is broken, the file that does not parse is left out
    b = next(m for m in history.order if m.package.endswith("test_b"))
    assert [p.label for p in b.parents] == ["other.0002_next"]  # __latest__
    cycle = [m for m in history.order if m.package.endswith("test_a")]
    assert all(history.state_before(m) == {} for m in cycle)


# -- the rules on the fixture project -------------------------------------------------------------


def findings(report) -> set[tuple[str, int, str, str]]:  # type: ignore[no-untyped-def]
    return {(r.path, f.line, f.code, f.message) for r in report.files for f in r.findings}


def bonuses(report) -> set[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    return {(r.path, b.line, b.name) for r in report.files for b in r.bonuses}


@pytest.fixture(scope="module")
def whole() -> object:
    return lint_paths([PROJECT], Config(), cwd=PROJECT)


def test_three_step_pattern_earns_the_bonus(whole: object) -> None:
    assert bonuses(whole) == {
        ("shop/migrations/0004_alter_order_currency.py", 9, "three-step-migration"),
        # made nullable by CreateModel in 0001, backfilled by a RunSQL in 0006
        ("shop/migrations/0007_enforce_order_note.py", 9, "three-step-migration"),
        # backfilled by a data migration of another app
        ("shop/migrations/0007_enforce_order_note.py", 15, "three-step-migration"),
    }
    score = next(r for r in whole.files if r.path.endswith("0004_alter_order_currency.py"))  # type: ignore[attr-defined]
    assert score.score == 100


def test_messages_name_app_model_and_field_and_the_fix(whole: object) -> None:
    messages = {code: message for _, _, code, message in findings(whole)}
    assert messages["RP201"].startswith("`") and "NOT NULL" in messages["RP201"]
    assert "`shop.Order.reference`" in messages["RP202"] and "shop.0005_order_fields" in messages["RP202"]
    assert "`shop.Order.tax_rate` is added, backfilled and made NOT NULL" in messages["RP205"]
    assert "add with a default (or nullable) -> backfill in a data migration -> enforce NOT NULL" in messages["RP205"]
    assert "`shop.Order.weight`" in messages["RP206"]


@pytest.mark.parametrize(
    "migration",
    sorted(p.relative_to(PROJECT).as_posix() for p in PROJECT.glob("*/*migrations/0*.py")),
)
def test_checking_one_migration_file_equals_checking_the_project(whole: object, migration: str) -> None:
    alone = lint_paths([PROJECT / migration], Config(), cwd=PROJECT)
    assert findings(alone) == {f for f in findings(whole) if f[0] == migration}
    assert bonuses(alone) == {b for b in bonuses(whole) if b[0] == migration}


def test_checking_from_another_folder_finds_the_same_history(whole: object) -> None:
    path = PROJECT / "shop/migrations/0006_enforce_order_fields.py"
    alone = lint_paths([path], Config(), cwd=PROJECT.parent.parent)
    codes = sorted(f.code for r in alone.files for f in r.findings)
    assert codes == ["RP202", "RP203", "RP203", "RP204", "RP205", "RP206"]


def test_rolling_deploys_flags_python_side_defaults(whole: object) -> None:
    config = Config(options={"RP206": {"rolling-deploys": True}})
    report = lint_paths([PROJECT / "shop/migrations/0005_order_fields.py"], config, cwd=PROJECT)
    extra = findings(report) - findings(whole)
    assert {(line, code) for _, line, code, _ in extra} == {(31, "RP206"), (36, "RP206")}  # paid, source
    assert all("db_default" in message for *_, message in extra)


# -- a migration no history explains --------------------------------------------------------------

LONE = """\
from django.db import migrations, models


def fill(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.update(rank=1)


class Migration(migrations.Migration):
    dependencies = [("shop", "0041_unknown"), ("elsewhere", "__first__")]

    operations = [
        migrations.AddField("order", "channel", models.CharField(max_length=20)),
        migrations.AlterField("order", "note", models.TextField(default="")),
        migrations.AlterField("order", "reference", models.CharField(max_length=40)),
        migrations.AddField("order", "rank", models.IntegerField(null=True)),
        migrations.RunPython(fill),
        migrations.AlterField("order", "rank", models.IntegerField()),
        migrations.SeparateDatabaseAndState(database_operations=[], state_operations=None),
        UnknownOperation(),
    ]
"""


def test_a_lone_migration_is_checked_on_its_own_operations(tmp_path: Path) -> None:
    path = tmp_path / "0042_enforce.py"
    path.write_text(LONE)
    report = lint_paths([path], Config(), cwd=tmp_path)
    found = sorted((f.line, f.code) for r in report.files for f in r.findings)
    # RP201 (is there a table?), RP202 and RP206 (was it nullable?) need a history it lacks.
    assert found == [(6, "RP204"), (17, "RP203"), (18, "RP205")]


def test_a_lone_migration_in_an_app_without_its_siblings(tmp_path: Path) -> None:
    folder = tmp_path / "shop" / "migrations"
    folder.mkdir(parents=True)
    (tmp_path / "manage.py").write_text("")
    (folder / "0042_enforce.py").write_text(LONE)
    report = lint_paths([tmp_path], Config(), cwd=tmp_path)
    codes = sorted(f.code for r in report.files for f in r.findings)
    # In the app `shop`, the backfill's `Order.rank` is the column this migration adds: it holds
    # nothing to overwrite, so RP204 is quiet (on its own, the file's app is unknown).
    assert codes == ["RP203", "RP205"]


def test_a_copy_of_the_fixture_with_one_migration_edited_uses_the_edited_text(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy)
    edited = copy / "shop/migrations/0004_alter_order_currency.py"
    text = edited.read_text().replace("(max_length=3),", '(max_length=3, default="EUR"),')
    result = lint(text, "shop/migrations/0004_alter_order_currency.py", ProjectContext(root=copy))
    assert [b.name for b in result.bonuses] == ["three-step-migration"]
    assert not result.findings


# -- look-alikes ----------------------------------------------------------------------------------

INITIAL = """
from django.db import migrations, models

class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            "Order", [("id", models.AutoField(primary_key=True)), ("note", models.TextField(null=True))]
        ),
    ]
"""


def test_rename_keeps_the_field_nullable_history() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_rename.py": """
            from django.db import migrations

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.RenameField("order", "note", "remark"),
                    migrations.RenameModel("Order", "Purchase"),
                ]
            """,
        "shop/migrations/0003_enforce.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_rename")]
                operations = [
                    migrations.AlterField("purchase", "remark", models.TextField()),
                    migrations.AlterField("purchase", "id", models.BigAutoField(primary_key=True)),
                ]
            """,
    }
    assert check(files, "shop/migrations/0003_enforce.py") == [(7, "RP202")]


def test_deleted_and_recreated_models_start_afresh() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_recreate.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.DeleteModel("Order"),
                    migrations.CreateModel("Order", [("id", models.AutoField(primary_key=True))]),
                    migrations.AddField("order", "total", models.IntegerField()),
                    migrations.AddField("order", "note", models.TextField(null=True)),
                    migrations.AlterField("order", "note", models.TextField()),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_recreate.py") == []


def test_not_null_add_with_default_none_is_flagged_and_a_primary_key_is_not() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_fields.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "rank", models.IntegerField(default=None)),
                    migrations.AddField("order", "uuid", models.UUIDField(primary_key=True)),
                    migrations.AddField("order", "code", models.SlugField(blank=True)),
                    migrations.AddField("order", "seen", models.TimeField(auto_now_add=True)),
                    migrations.AddField("order", "ok", models.BooleanField(null=settings.NULLABLE)),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_fields.py") == [(7, "RP201")]


def test_field_options_spread_from_a_settings_dict_may_make_it_nullable() -> None:
    # openwisp-controller's `CharField(**app_settings.HARDWARE_ID_OPTIONS)`: the dict holds null=True
    # (and a project may override it), so neither the add nor a later alter is known to be NOT NULL.
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_serial.py": """
            from django.db import migrations, models

            from shop import settings as app_settings

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "serial", models.CharField(**app_settings.SERIAL_OPTIONS)),
                    migrations.AddField("order", "batch", models.CharField(max_length=9, null=False, **app_settings.BATCH)),
                ]
            """,
        "shop/migrations/0003_serial_nullable.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_serial")]
                operations = [migrations.AlterField("order", "serial", models.CharField(max_length=32, null=True))]
            """,
        "shop/migrations/0004_serial_options.py": """
            from django.db import migrations, models

            from shop import settings as app_settings

            class Migration(migrations.Migration):
                dependencies = [("shop", "0003_serial_nullable")]
                operations = [migrations.AlterField("order", "serial", models.CharField(**app_settings.SERIAL_OPTIONS))]
            """,
    }
    # An explicit null=False beside the spread is still read: that add is flagged.
    assert check(files, "shop/migrations/0002_serial.py") == [(10, "RP201")]
    assert check(files, "shop/migrations/0004_serial_options.py") == []
    files["shop/migrations/0004_serial_options.py"] = files["shop/migrations/0004_serial_options.py"].replace(
        "**app_settings.SERIAL_OPTIONS", "max_length=32"
    )
    assert check(files, "shop/migrations/0004_serial_options.py") == [(8, "RP202")]


def test_irreversible_look_alikes() -> None:
    files = {
        "shop/migrations/0002_data.py": """
            from django.db import migrations
            from django.db.migrations import RunPython as Run

            def forward(apps, schema_editor):
                pass

            class Migration(migrations.Migration):
                operations = [
                    migrations.RunPython(forward, reverse_code=None),
                    Run(forward),
                    migrations.RunPython(forward, **REVERSIBLE),
                    migrations.RunSQL("", None),
                    migrations.RunSQL("SELECT * FROM shop_order WHERE id = 1"),
                    migrations.RunSQL(sql=["UPDATE shop_order SET a = 1"], reverse_sql=["UPDATE shop_order SET a = 0"]),
                    other.RunPython(forward),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_data.py") == [(10, "RP203"), (11, "RP203")]  # the others are fine


def test_backfill_look_alikes() -> None:
    files = {
        "shop/migrations/0002_data.py": """
            from django.db import migrations

            def forward(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                orders = Order.objects.all()
                orders.update(rank=1)
                Order.objects.filter(rank__isnull=True).order_by("pk").update(rank=1)
                Order.objects.using(schema_editor.connection.alias).update(rank=1)
                Order.objects.get_queryset().none().update(rank=1)
                for order in Order.objects.all():
                    order.update(rank=1)
                Order.objects.update(cached_total=None)
                Order.objects.all().update(number=Concat(F("prefix"), F("serial")))
                Order.objects.update(site=Subquery(Page.objects.filter(pk=OuterRef("page_id")).values("site")[:1]))
                Order.objects.update(**defaults)

            def not_a_backfill(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.update(rank=None)

            class Migration(migrations.Migration):
                operations = [migrations.RunPython(forward, not_a_backfill)]
            """,
    }
    assert check(files, "shop/migrations/0002_data.py") == [(9, "RP204")]


def test_backfill_in_an_earlier_migration_must_touch_the_model() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_other_data.py": """
            from django.db import migrations

            def forward(apps, schema_editor):
                Customer = apps.get_model("shop", "Customer")
                Customer.objects.filter(name="").delete()

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
            """,
        "shop/migrations/0003_enforce.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_other_data")]
                operations = [migrations.AlterField("order", "note", models.TextField())]
            """,
    }
    assert check(files, "shop/migrations/0003_enforce.py") == [(6, "RP202")]
    files["shop/migrations/0002_other_data.py"] = files["shop/migrations/0002_other_data.py"].replace(
        "forward, migrations",
        "helpers.forward, migrations",  # unreadable: may well fill it
    )
    assert check(files, "shop/migrations/0003_enforce.py") == []


def test_a_squashed_migration_is_not_judged() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_squashed_0004.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                replaces = [("shop", "0002_a"), ("shop", "0003_b"), ("shop", "0004_c")]
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "rank", models.IntegerField()),
                    migrations.AlterField("order", "note", models.TextField(default="")),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_squashed_0004.py") == []


def test_a_many_to_many_field_has_no_null_to_enforce() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_tags.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "tags", models.ManyToManyField(to="shop.tag", null=True)),
                ]
            """,
        "shop/migrations/0003_tags.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_tags")]
                operations = [migrations.AlterField("order", "tags", models.ManyToManyField(to="shop.tag"))]
            """,
    }
    assert check(files, "shop/migrations/0003_tags.py") == []


def test_a_backfill_through_a_related_manager_counts() -> None:
    # As pretix's 0069_invoice_prefix: the forward function gets Event and fills invoices through it.
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_invoice.py": """
            from django.db import migrations, models

            def fwd(apps, schema_editor):
                Event = apps.get_model("shop", "Event")
                for event in Event.objects.select_related("organizer"):
                    event.invoices.filter(organizer__isnull=True).update(organizer=event.organizer)

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "organizer", models.ForeignKey("shop.org", models.PROTECT, null=True)),
                    migrations.RunPython(fwd, migrations.RunPython.noop),
                    migrations.AlterField("order", "organizer", models.ForeignKey("shop.organizer", models.PROTECT)),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_invoice.py") == [(14, "RP205")]


def test_the_bonus_needs_a_backfill_that_names_the_field() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_other_data.py": """
            from django.db import migrations

            def forward(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(status="").update(status="new")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.RunPython(forward, migrations.RunPython.noop),
                    migrations.RunSQL("UPDATE shop_order SET status = 'new'", migrations.RunSQL.noop),
                ]
            """,
        "shop/migrations/0003_enforce.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_other_data")]
                operations = [migrations.AlterField("order", "note", models.TextField())]
            """,
    }
    sources = {name: textwrap.dedent(text) for name, text in files.items()}
    path = "shop/migrations/0003_enforce.py"
    result = lint(sources[path], path, ProjectContext.from_sources(sources))
    assert not result.findings  # the data steps may have filled it: no RP202
    assert not result.bonuses  # but none is known to: no bonus
    sources["shop/migrations/0002_other_data.py"] = sources["shop/migrations/0002_other_data.py"].replace(
        "SET status = 'new'", "SET note = '' WHERE note IS NULL"
    )
    result = lint(sources[path], path, ProjectContext.from_sources(sources))
    assert [b.name for b in result.bonuses] == ["three-step-migration"]


def test_a_path_relative_to_an_app_folder_finds_the_file_with_that_text(history: MigrationHistory) -> None:
    text = (PROJECT / "billing/migrations/0001_initial.py").read_text()
    found = history.find("migrations/0001_initial.py", text)
    assert found is not None and found.label == "payments.0001_initial"
    assert history.migration("migrations/0001_initial.py", text) is found


def test_an_operation_naming_its_app_label_acts_on_that_app() -> None:
    # Django's own operations take the app from the migration; an `app_label=` given overrides it.
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "legacy/migrations/0001_move.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "rank", models.IntegerField(), app_label="shop"),
                ]
            """,
    }
    assert check(files, "legacy/migrations/0001_move.py") == [(7, "RP201")]


# -- releases: a table or column of the same release has no rows ----------------------------------

ENFORCE_NOTE = """
    from django.db import migrations, models

    class Migration(migrations.Migration):
        dependencies = [("shop", "{parent}")]
        operations = [migrations.AlterField("order", "note", models.TextField({args}))]
    """


def with_header(text: str, stamp: str, version: str = "4.2.7") -> str:
    return f"# Generated by Django {version} on {stamp}\n" + textwrap.dedent(text)


def test_a_makemigrations_run_is_one_release() -> None:
    # One run wrote both (the same header minute): the table is created and widened before any deploy.
    added = "shop/migrations/0002_order_currency.py"
    files = {
        "shop/migrations/0001_initial.py": with_header(INITIAL.replace("initial = True", ""), "2024-03-01 10:12"),
        added: with_header(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [migrations.AddField("order", "currency", models.CharField(max_length=3))]
            """,
            "2024-03-01 10:12",
        ),
    }
    assert check(files, added) == []
    # Written months apart: the table shipped with rows in between.
    files[added] = files[added].replace("2024-03-01 10:12", "2024-07-09 16:40")
    assert check(files, added) == [(7, "RP201")]
    # Without git, the same day and Django version count as one release (a release is rarely cut in between).
    files[added] = files[added].replace("2024-07-09 16:40", "2024-03-01 17:03")
    assert check(files, added) == []
    files[added] = files[added].replace("4.2.7", "5.0.1")
    assert check(files, added) == [(7, "RP201")]


def test_a_migration_written_by_hand_is_of_the_day_of_the_one_it_follows() -> None:
    # shuup notify: 0002 adds `shop` (makemigrations, 21:05), 0004 fills it (by hand, no header),
    # 0005 enforces NOT NULL (makemigrations, 23:06); kolibri device 0005 adds `allow_guest_access`,
    # 0006 fills it by hand, and both ship in 0.13.0. The column is new: the backfill overwrites nothing.
    fill = """
        from django.db import migrations

        def fill_shop(apps, schema_editor):
            Order = apps.get_model("shop", "Order")
            Order.objects.update(currency="EUR")

        class Migration(migrations.Migration):
            dependencies = [("shop", "0002_order_currency")]
            operations = [migrations.RunPython(fill_shop, migrations.RunPython.noop)]
        """
    enforce = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0003_fill")]
            operations = [migrations.AlterField("order", "currency", models.CharField(max_length=3))]
        """
    files = {
        "shop/migrations/0001_initial.py": with_header(INITIAL.replace("initial = True", ""), "2017-12-14 10:47"),
        "shop/migrations/0002_order_currency.py": with_header(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [migrations.AddField("order", "currency", models.CharField(max_length=3, null=True))]
            """,
            "2018-01-19 21:05",
        ),
        "shop/migrations/0003_fill.py": fill,
        "shop/migrations/0004_enforce.py": with_header(enforce, "2018-01-19 23:06"),
    }
    assert check(files, "shop/migrations/0003_fill.py") == []
    # What comes after it does not change when it was written.
    files["shop/migrations/0004_enforce.py"] = with_header(enforce, "2018-04-02 09:30")
    assert check(files, "shop/migrations/0003_fill.py") == []
    del files["shop/migrations/0004_enforce.py"]
    assert check(files, "shop/migrations/0003_fill.py") == []
    # Written after another migration of a later day: the column shipped before, rows may hold values.
    files["shop/migrations/0003_fill.py"] = fill.replace('("shop", "0002_order_currency")', '("shop", "0002_note")')
    files["shop/migrations/0002_note.py"] = with_header(
        """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0002_order_currency")]
            operations = [migrations.AlterField("order", "note", models.TextField(blank=True, null=True))]
        """,
        "2018-03-07 11:20",
    )
    assert check(files, "shop/migrations/0003_fill.py") == [(6, "RP204")]
    # Written by hand after a migration with no date either: a chain of them may span releases.
    files["shop/migrations/0002_note.py"] = files["shop/migrations/0002_note.py"].split("\n", 1)[1]
    assert check(files, "shop/migrations/0003_fill.py") == [(6, "RP204")]


def test_git_releases_decide_over_the_day() -> None:
    from review_patterns.project.releases import Releases

    files = {
        "shop/migrations/0001_initial.py": with_header(INITIAL.replace("initial = True", ""), "2024-03-01 10:12"),
        "shop/migrations/0002_enforce.py": with_header(
            ENFORCE_NOTE.format(parent="0001_initial", args=""), "2024-03-01 17:03"
        ),
    }
    sources = {name: textwrap.dedent(text) for name, text in files.items()}

    def found(releases: Releases) -> list[str]:
        context = ProjectContext.from_sources(sources, releases=releases)
        path = "shop/migrations/0002_enforce.py"
        return [f.code for f in lint(sources[path], path, context, Config()).findings]

    split = Releases({"shop/migrations/0001_initial.py": "v1.0"}, "(next)")
    assert found(split) == ["RP202"]  # 1.0 shipped the nullable field: rows written since may be NULL
    assert found(Releases({}, "(next)")) == []  # both unreleased: no code wrote NULL in between


def test_a_column_relaxed_and_enforced_again_in_one_release_holds_no_null() -> None:
    # mayan-edms documents 0020 -> 0023: `label`, NOT NULL since the table shipped (1.0), is made
    # nullable one day and NOT NULL with a default the next, both first packaged in 2.0. No release
    # ran while it was nullable, so there is no NULL row for Django to update.
    from review_patterns.project.releases import Releases

    create = INITIAL.replace('("note", models.TextField(null=True))', '("label", models.TextField(default=""))')
    files = {
        "shop/migrations/0001_initial.py": with_header(create, "2015-05-30 09:12"),
        "shop/migrations/0002_relax.py": with_header(
            ENFORCE_NOTE.format(parent="0001_initial", args='default="", null=True').replace('"note"', '"label"'),
            "2015-07-14 22:33",
        ),
        "shop/migrations/0003_enforce.py": with_header(
            ENFORCE_NOTE.format(parent="0002_relax", args='default=""').replace('"note"', '"label"'), "2015-07-15 02:59"
        ),
    }
    sources = {name: textwrap.dedent(text) for name, text in files.items()}

    def found(releases: Releases) -> list[str]:
        context = ProjectContext.from_sources(sources, releases=releases)
        path = "shop/migrations/0003_enforce.py"
        return [f.code for f in lint(sources[path], path, context, Config()).findings]

    first = {"shop/migrations/0001_initial.py": "1.0"}
    assert (
        found(
            Releases(
                {**first, "shop/migrations/0002_relax.py": "2.0", "shop/migrations/0003_enforce.py": "2.0"}, "(next)"
            )
        )
        == []
    )
    # 1.1 shipped it nullable: rows written since may hold NULL, which Django updates under the lock.
    assert found(
        Releases({**first, "shop/migrations/0002_relax.py": "1.1", "shop/migrations/0003_enforce.py": "2.0"}, "(next)")
    ) == ["RP206"]
    # Without git the days differ, so a release is assumed in between (an sdist's guess).
    assert found(Releases()) == ["RP206"]


def test_a_column_enforced_before_its_tables_first_release_holds_no_row() -> None:
    # pretalx event 0001 -> 0003: `Event.date_from`, nullable since the table's creation, is made NOT
    # NULL with a one-off default two months later; both first shipped in 0.1.0, the first release.
    from review_patterns.project.releases import Releases

    enforce = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.AlterField("order", "note", models.TextField(default="tbd"), preserve_default=False),
            ]
        """
    sources = {
        "shop/migrations/0001_initial.py": with_header(INITIAL, "2017-05-12 10:02"),
        "shop/migrations/0003_enforce.py": with_header(enforce, "2017-07-15 06:55"),
    }

    def found(releases: Releases) -> list[str]:
        context = ProjectContext.from_sources(sources, releases=releases)
        path = "shop/migrations/0003_enforce.py"
        return [f.code for f in lint(sources[path], path, context, Config()).findings]

    both = {"shop/migrations/0001_initial.py": "0.1.0", "shop/migrations/0003_enforce.py": "0.1.0"}
    assert found(Releases(both, "(next)")) == []
    assert found(Releases({**both, "shop/migrations/0003_enforce.py": "0.2.0"}, "(next)")) == ["RP206"]


def test_not_null_enforced_on_a_field_added_nullable_with_a_default() -> None:
    # The AddField filled the existing rows with the default; in the same release no code wrote NULL since.
    added = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [migrations.AddField("order", "channel", models.CharField(max_length=9, null=True{default}))]
        """
    enforce = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0002_channel")]
            operations = [migrations.AlterField("order", "channel", models.CharField(max_length=9))]
        """
    day = "2024-05-02 09:{}"
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_channel.py": with_header(added.format(default=', default="web"'), day.format("00")),
        "shop/migrations/0003_enforce.py": with_header(enforce, day.format("30")),
    }
    assert check(files, "shop/migrations/0003_enforce.py") == []
    # Without a default, the rows already in the table got NULL when the column was added.
    files["shop/migrations/0002_channel.py"] = with_header(added.format(default=""), day.format("00"))
    assert check(files, "shop/migrations/0003_enforce.py") == [(7, "RP202")]
    # With a default but a release in between: rows written since may hold NULL.
    files["shop/migrations/0002_channel.py"] = with_header(added.format(default=', default="web"'), "2023-01-09 09:00")
    assert check(files, "shop/migrations/0003_enforce.py") == [(7, "RP202")]


def test_file_fields_never_hold_null_through_the_orm() -> None:
    files = {
        "shop/migrations/0001_initial.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                initial = True
                operations = [
                    migrations.CreateModel(
                        "Order",
                        [
                            ("id", models.AutoField(primary_key=True)),
                            ("invoice", models.FileField(null=True, upload_to="invoices")),
                            ("note", models.TextField(null=True)),
                        ],
                    ),
                ]
            """,
        "shop/migrations/0002_enforce.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AlterField("order", "invoice", models.FileField(upload_to="invoices")),
                    migrations.AlterField("order", "note", models.TextField()),
                ]
            """,
    }
    assert check(files, "shop/migrations/0002_enforce.py") == [(8, "RP202")]


def test_nullable_is_searched_back_to_when_the_field_first_became_nullable() -> None:
    # 0002 backfills the field; 0003 only changes its help text (still nullable): the backfill counts.
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_fill.py": """
            from django.db import migrations

            def fill(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.filter(note__isnull=True).update(note="")

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
            """,
        "shop/migrations/0003_help.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0002_fill")]
                operations = [migrations.AlterField("order", "note", models.TextField(null=True, help_text="x"))]
            """,
        "shop/migrations/0004_enforce.py": ENFORCE_NOTE.format(parent="0003_help", args=""),
    }
    assert check(files, "shop/migrations/0004_enforce.py") == []


def test_a_backfill_by_the_projects_own_run_python_subclass_counts() -> None:
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/operations.py": """
            from django.db import migrations

            class BootstrapNotes(migrations.RunPython):
                def __init__(self, model):
                    super().__init__(self.forward, migrations.RunPython.noop)
            """,
        "shop/migrations/0002_fill.py": """
            from django.db import migrations
            from shop.operations import BootstrapNotes

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [BootstrapNotes("shop.Order")]
            """,
        "shop/migrations/0003_enforce.py": ENFORCE_NOTE.format(parent="0002_fill", args=""),
    }
    assert check(files, "shop/migrations/0003_enforce.py") == []
    files["shop/operations.py"] = files["shop/operations.py"].replace("migrations.RunPython", "migrations.RunSQL")
    assert check(files, "shop/migrations/0003_enforce.py") == [(6, "RP202")]  # another operation: no backfill


def test_a_migration_named_squashed_is_squashed_without_replaces() -> None:
    add = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [migrations.AddField("order", "rank", models.IntegerField())]
        """
    files = {"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_squashed_0009_rank.py": add}
    assert check(files, "shop/migrations/0002_squashed_0009_rank.py") == []
    files = {"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_rank.py": add}
    assert check(files, "shop/migrations/0002_rank.py") == [(6, "RP201")]


@pytest.mark.parametrize("app", ["tests/shop", "shop/test/shop", "testapp"])
def test_migrations_of_test_apps_are_not_judged(app: str) -> None:
    files = {
        f"{app}/migrations/0001_initial.py": INITIAL,
        f"{app}/migrations/0002_rank.py": """
            from django.db import migrations, models

            def fill(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Order.objects.update(rank=1)

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [
                    migrations.AddField("order", "rank", models.IntegerField()),
                    migrations.RunPython(fill),
                ]
            """,
    }
    assert check(files, f"{app}/migrations/0002_rank.py") == []


def test_a_backfill_of_a_column_added_in_the_same_release_overwrites_nothing() -> None:
    backfill = """
        from django.db import migrations

        def fill(apps, schema_editor):
            ContentType = apps.get_model("contenttypes.ContentType")
            Order = apps.get_model("shop.Order")
            Order.objects.all().update(kind=ContentType.objects.get(model="order"))

        class Migration(migrations.Migration):
            dependencies = [("shop", "0002_kind")]
            operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
        """
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "shop/migrations/0002_kind.py": with_header(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("shop", "0001_initial")]
                operations = [migrations.AddField("order", "kind", models.ForeignKey("contenttypes.ContentType", null=True, on_delete=models.CASCADE))]
            """,
            "2022-04-26 12:31",
        ),
        "shop/migrations/0003_fill.py": with_header(backfill, "2022-04-26 13:18"),
    }
    assert check(files, "shop/migrations/0003_fill.py") == []
    files["shop/migrations/0003_fill.py"] = with_header(backfill, "2022-09-01 13:18")  # a later release
    assert check(files, "shop/migrations/0003_fill.py") == [(8, "RP204")]
    # label-studio io_storages 0013 -> 0014, mayan-edms documents 0065 -> 0067: days or weeks apart,
    # and the release tags say both first shipped in one release (1.8.0, 4.0b1).
    from review_patterns.project.releases import Releases

    sources = {name: textwrap.dedent(text) for name, text in files.items()}
    path = "shop/migrations/0003_fill.py"

    def found(**releases: str) -> list[str]:
        shipped = Releases({f"shop/migrations/{name}.py": tag for name, tag in releases.items()}, "(next)")
        return [
            f.code
            for f in lint(
                sources[path], path, ProjectContext.from_sources(sources, releases=shipped), Config()
            ).findings
        ]

    assert found(**{"0001_initial": "1.7.0", "0002_kind": "1.8.0", "0003_fill": "1.8.0"}) == []
    assert found(**{"0001_initial": "1.7.0", "0002_kind": "1.7.0", "0003_fill": "1.8.0"}) == ["RP204"]


def test_a_backfill_of_models_passed_to_a_helper_knows_their_columns_release() -> None:
    # label-studio io_storages 0014: `update_storage(storage)` resets `status` on each storage model
    # of a list fetched with `apps.get_model`; 0013 added `status` to them in the same release.
    from review_patterns.project.releases import Releases

    create = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            operations = [
                migrations.CreateModel("S3ImportStorage", [("id", models.AutoField(primary_key=True))]),
                migrations.CreateModel("S3ExportStorage", [("id", models.AutoField(primary_key=True))]),
            ]
        """
    add_status = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("io_storages", "0001_initial")]
            operations = [
                migrations.AddField("s3importstorage", "status", models.CharField(max_length=64, null=True)),
                migrations.AddField("s3exportstorage", "status", models.CharField(max_length=64, null=True)),
            ]
        """
    init = """
        from django.db import migrations

        def update_storage(storage):
            storage.objects.update(status="initialized")

        def forwards(apps, schema_editor):
            storages = [
                apps.get_model("io_storages", "S3ImportStorage"),
                apps.get_model("io_storages", "S3ExportStorage"),
            ]
            for storage in storages:
                update_storage(storage)

        class Migration(migrations.Migration):
            dependencies = [("io_storages", "0002_status")]
            operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
        """
    sources = {
        "io_storages/migrations/0001_initial.py": textwrap.dedent(create),
        "io_storages/migrations/0002_status.py": textwrap.dedent(add_status),
        "io_storages/migrations/0003_init_statuses.py": textwrap.dedent(init),
    }
    path = "io_storages/migrations/0003_init_statuses.py"

    def found(status_shipped_in: str) -> list[str]:
        releases = {"0001_initial": "1.7.0", "0002_status": status_shipped_in, "0003_init_statuses": "1.8.0"}
        shipped = Releases({f"io_storages/migrations/{n}.py": tag for n, tag in releases.items()}, "(next)")
        context = ProjectContext.from_sources(sources, releases=shipped)
        return [f.code for f in lint(sources[path], path, context, Config()).findings]

    assert found("1.8.0") == []  # the column is new: nothing real to reset
    assert found("1.7.0") == ["RP204"]  # statuses written by 1.7.0 are reset
    # A model the file does not fetch is unknown: the update is judged as before.
    sources[path] = sources[path].replace('"S3ExportStorage"),\n', '"S3ExportStorage"),\n                object(),\n')
    sources[path] = sources[path].replace('apps.get_model("io_storages", "S3ImportStorage"),\n', "")
    sources[path] = sources[path].replace('apps.get_model("io_storages", "S3ExportStorage"),\n', "")
    assert found("1.8.0") == ["RP204"]


def test_values_computed_from_the_row_are_idempotent() -> None:
    files = {
        "shop/migrations/0002_data.py": """
            from django.db import migrations, models
            from django.db.models.functions import Coalesce, Lower

            def forward(apps, schema_editor):
                Order = apps.get_model("shop", "Order")
                Page = apps.get_model("shop", "Page")
                latest = models.Subquery(Page.objects.filter(order=models.OuterRef("pk")).values("pk")[:1])
                Order.objects.all().update(locale=Lower("locale"), page=latest)
                Order.objects.update(total=Coalesce("total", "subtotal"))
                Order.objects.update(kind=models.Case(models.When(paid=True, then=models.Value("sale"))))
                Order.objects.update(label=models.Value("x"))

            class Migration(migrations.Migration):
                operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
            """,
    }
    assert check(files, "shop/migrations/0002_data.py") == [(12, "RP204")]  # a constant, even as an expression


def test_relations_split_off_an_initial_migration_belong_to_its_run() -> None:
    # Django < 1.9 moved the foreign keys of a run's new models into an auto-named second migration.
    initial = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("catalogue", "0001_initial")]
            operations = [migrations.CreateModel("Line", [("id", models.AutoField(primary_key=True))])]
        """
    split = """
        from django.db import migrations, models

        class Migration(migrations.Migration):
            dependencies = [("basket", "0001_initial"), ("catalogue", "0001_initial")]
            operations = [
                migrations.AddField("line", "product", models.ForeignKey(to="catalogue.Product", on_delete=models.CASCADE)),
                migrations.AlterUniqueTogether(name="line", unique_together={("product",)}),
            ]
        """
    files = {"basket/migrations/0001_initial.py": initial, "basket/migrations/0002_auto_20140827_1705.py": split}
    assert check(files, "basket/migrations/0002_auto_20140827_1705.py") == []
    # Named by hand, or holding more than relations: a later change to a table with rows.
    files = {"basket/migrations/0001_initial.py": initial, "basket/migrations/0002_line_product.py": split}
    assert check(files, "basket/migrations/0002_line_product.py") == [(7, "RP201")]
    more = split.replace(
        "migrations.AlterUniqueTogether",
        'migrations.AddField("line", "qty", models.IntegerField()),\n        migrations.AlterUniqueTogether',
    )
    files = {"basket/migrations/0001_initial.py": initial, "basket/migrations/0002_auto_20140827_1705.py": more}
    assert [code for _, code in check(files, "basket/migrations/0002_auto_20140827_1705.py")] == ["RP201", "RP201"]


def test_a_table_emptied_earlier_in_the_migration_has_no_rows() -> None:
    add = """
        from django.db import migrations, models

        def clear(apps, schema_editor):
            Cache = apps.get_model("shop", "Order")
            Cache.objects.{query}.delete()

        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.RunPython(clear, migrations.RunPython.noop),
                migrations.AddField("order", "version", models.CharField(max_length=8)),
            ]
        """
    files = {"shop/migrations/0001_initial.py": INITIAL, "shop/migrations/0002_version.py": add.format(query="all()")}
    assert check(files, "shop/migrations/0002_version.py") == []
    files["shop/migrations/0002_version.py"] = add.format(query="filter(stale=True)")  # some rows stay
    assert check(files, "shop/migrations/0002_version.py") == [(12, "RP201")]


def test_an_apps_first_migration_squashed_is_not_judged_for_irreversible_steps() -> None:
    """A first migration squashed from others replays steps judged when they were written (Sentry's
    `0001_squashed_0484_...`, whose `RunSQL`s date from years of history), and unapplying it removes
    the app; a new first migration, or a replacement later in the history, is judged."""
    step = """
        from django.db import migrations

        class Migration(migrations.Migration):
            {header}
            dependencies = []
            operations = [
                migrations.RunSQL("CREATE INDEX order_total ON shop_order (total)"),
            ]
        """
    squash = step.format(
        header='replaces = [("shop", "0001_initial"), ("shop", "0002_index")]\n            initial = True'
    )
    renamed = step.format(header="initial = True")  # its `replaces` removed once the originals were deleted
    files = {
        "shop/migrations/0001_squashed_0002_index.py": squash,
        "billing/migrations/0001_squashed_0200_history.py": renamed,
        "stock/migrations/0001_initial.py": renamed,
    }
    assert check(files, "shop/migrations/0001_squashed_0002_index.py") == []
    assert check(files, "billing/migrations/0001_squashed_0200_history.py") == []
    assert check(files, "stock/migrations/0001_initial.py") == [(8, "RP203")]
    # django-cms's `0018_create_pagenode` replaces `0018_pagenode`: a rollback of that release unapplies it.
    later = step.format(header='replaces = [("stock", "0002_pagenode")]').replace(
        "dependencies = []", 'dependencies = [("stock", "0001_initial")]'
    )
    assert check(
        {**files, "stock/migrations/0002_create_pagenode.py": later}, "stock/migrations/0002_create_pagenode.py"
    ) == [(8, "RP203")]


def test_an_app_label_declared_in_the_package_init_names_the_apps_migrations() -> None:
    # shuup's simple_cms: `AppConfig` with `label = "shuup_simple_cms"` in `__init__.py` (beside
    # `default_app_config`, as apps did before Django 3.2), no apps.py. The backfill reaches `Page`
    # through that label, and fills a column its app added in the same run of makemigrations.
    init = """
        from django.apps import AppConfig as BaseConfig

        class AppConfig(BaseConfig):
            name = "cms.pages"
            label = "cms_pages"

        default_app_config = __name__ + ".AppConfig"
        """
    backfill = """
        from django.db import migrations

        def add_shop(apps, schema_editor):
            Shop = apps.get_model("shop", "Shop")
            Page = apps.get_model("cms_pages", "Page")
            Page.objects.all().update(shop=Shop.objects.first())

        class Migration(migrations.Migration):
            dependencies = [("cms_pages", "0002_add_shop")]
            operations = [migrations.RunPython(add_shop, migrations.RunPython.noop)]
        """
    files = {
        "shop/migrations/0001_initial.py": INITIAL,
        "cms/pages/__init__.py": init,
        "cms/pages/migrations/0001_initial.py": """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                initial = True
                operations = [migrations.CreateModel("Page", [("id", models.AutoField(primary_key=True))])]
            """,
        "cms/pages/migrations/0002_add_shop.py": with_header(
            """
            from django.db import migrations, models

            class Migration(migrations.Migration):
                dependencies = [("cms_pages", "0001_initial"), ("shop", "0001_initial")]
                operations = [migrations.AddField("page", "shop", models.ForeignKey("shop.Shop", null=True, on_delete=models.CASCADE))]
            """,
            "2018-05-01 16:35",
        ),
        "cms/pages/migrations/0003_set_shop.py": with_header(backfill, "2018-05-01 16:35"),
    }
    sources = {name: textwrap.dedent(text) for name, text in files.items()}
    apps = {m.package: m.app for m in ProjectContext.from_sources(sources).migrations.order}
    assert apps["cms/pages/migrations"] == "cms_pages"
    assert check(files, "cms/pages/migrations/0003_set_shop.py") == []
    # Without the label, the app would be "pages": `cms_pages.Page` unknown, its column taken as old.
    files["cms/pages/__init__.py"] = ""
    assert check(files, "cms/pages/migrations/0003_set_shop.py") == [(8, "RP204")]

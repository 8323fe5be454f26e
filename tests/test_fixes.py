"""Fixes: every fix on its rule's bad examples, the edit machinery, safe writing, and the CLI."""

from __future__ import annotations

import ast
import difflib
import os
import stat
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from conftest import lint_example
from test_positions import AWKWARD

from review_patterns import ALL_RULES, Config, ProjectContext
from review_patterns.core.edits import _Replace, _replaced_code, apply_fixes, fix_of
from review_patterns.core.fixer import fix_source, write_source
from review_patterns.core.model import Edit, FileChange, Fix
from review_patterns.core.rule import Bad, Rewrite, Rule
from review_patterns.frontends.cli import main
from review_patterns.syntax import traversal
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.semantic import Scope, SemanticModel

FIXING = [rule for rule in ALL_RULES if rule.fixes]
BAD_EXAMPLES = [
    pytest.param(rule, example, id=f"{rule.code}-{index}")
    for rule in FIXING
    for index, example in enumerate(rule.examples)
    if isinstance(example, Bad)
]


def _fix(
    rule: type[Rule], example: Bad, source: str, written: dict[str, str] | None = None
) -> tuple[str, int, list[int]]:
    """Fixes `source` as the example's file; the other files the fixes write go to `written`,
    and are part of the project when given."""
    config = Config(select=(rule.code,), options={rule.code: dict(example.options)} if example.options else {})
    written = {} if written is None else written
    context = ProjectContext.from_sources({**example.files, **written, example.path: source})
    files: list[FileChange] = []
    fixed, applied, result = fix_source(
        source, example.path, context, config, rules=ALL_RULES, unsafe=True, project_path=example.path, files=files
    )
    written.update((change.path, change.after) for change in files)
    return fixed, applied, [f.line for f in result.findings if f.code == rule.code and f.fix is not None]


def test_some_rules_offer_fixes() -> None:
    assert {"RP102", "RP303", "RP305", "RP505", "RP509", "RP510"} <= {rule.code for rule in FIXING}
    assert all(rule.fixes.startswith(("Safe:", "Unsafe:")) for rule in FIXING)


@pytest.mark.parametrize("rule", FIXING, ids=lambda r: r.code)
def test_a_fixing_rule_fixes_one_of_its_bad_examples(rule: type[Rule]) -> None:
    bad = [e for e in rule.examples if isinstance(e, Bad)]
    assert any(f.fix is not None for example in bad for f in lint_example(rule, example).findings)


@pytest.mark.parametrize("rule", [r for r in ALL_RULES if r.code and not r.fixes], ids=lambda r: r.code)
def test_a_rule_that_offers_no_fix_says_so(rule: type[Rule]) -> None:
    for example in rule.examples:
        assert all(f.fix is None for f in lint_example(rule, example).findings)


@pytest.mark.parametrize(("rule", "example"), BAD_EXAMPLES)
def test_fix_removes_the_finding_keeps_the_rest_and_is_idempotent(rule: type[Rule], example: Bad) -> None:
    source = example.code
    offered = any(f.fix is not None for f in lint_example(rule, example).findings)
    written: dict[str, str] = {}
    fixed, applied, left = _fix(rule, example, source, written)
    assert (applied > 0) is offered, "every fix offered is applied"
    assert left == [], "no fixable finding of the rule is left"
    ast.parse(fixed)
    # Only lines the rule flagged (or lines the fix adds) change: comments and formatting elsewhere stay.
    # Some fixes change a line near the flagged one: RP401 the queryset where the examples build it,
    # in the loop (`for post in Post.objects...`), RP201 the `field=` of the flagged `AddField(`.
    # RP202 and RP206 add the backfill to the `dependencies` of the migration.
    where = {"RP401": "for ", "RP201": "field=", "RP202": "dependencies =", "RP206": "dependencies ="}
    fixed_there = where.get(rule.code, f"# {rule.code}")
    flagged = {i + 1 for i, line in enumerate(source.splitlines()) if f"# {rule.code}" in line or fixed_there in line}
    removed = [line for line in difflib.ndiff(source.splitlines(), fixed.splitlines()) if line.startswith("- ")]
    originals = source.splitlines()
    moved = {line for text in written.values() for line in text.splitlines()}  # to a file the fix writes
    assert all(originals.index(line[2:]) + 1 in flagged or line[2:] in moved for line in removed), removed
    for text in written.values():
        ast.parse(text)
    again, applied_again, _ = _fix(rule, example, fixed, written)
    assert (again, applied_again) == (fixed, 0), "a second run changes nothing"


def test_unsafe_fixes_wait_for_unsafe() -> None:
    source = "import json\n\n\ndef load(raw):\n    try:\n        return json.loads(raw)\n    except:  # old code\n        return {}\n"
    config = Config(select=("RP303",))
    unchanged, applied, result = fix_source(source, "shop/views.py", None, config, rules=ALL_RULES)
    assert (unchanged, applied) == (source, 0)
    assert result.findings[0].fix is not None and not result.findings[0].fix.safe
    fixed, applied, _ = fix_source(source, "shop/views.py", None, config, rules=ALL_RULES, unsafe=True)
    assert applied == 1 and "    except Exception:  # old code\n" in fixed


def test_safe_fix_renames_the_method_and_keeps_comments() -> None:
    source = (
        "from shop.models import Order\n\n\ndef mark_paid(order_id):\n"
        "    order = Order.objects.get(pk=order_id)  # one row\n"
        "    order.refresh_from_database()  # reread\n    return order\n"
    )
    fixed, applied, result = fix_source(source, "shop/services.py", None, Config(), rules=ALL_RULES)
    assert applied == 1 and result.findings == ()
    assert fixed == source.replace("refresh_from_database()  # reread", "refresh_from_db()  # reread")


def test_overlapping_fixes_wait_for_the_next_round_and_shared_edits_apply_once() -> None:
    source = "a = 1\nb = 2\n"
    whole = Fix(True, (Edit(1, 1, 2, 6, "c = 3"),))
    inner = Fix(True, (Edit(1, 5, 1, 6, "9"),))
    assert apply_fixes(source, [whole, inner]) == ("c = 3\n", 1)
    add = Edit(1, 1, 1, 1, "import os\n")
    first, second = Fix(True, (add, Edit(1, 5, 1, 6, "7"))), Fix(True, (add, Edit(2, 5, 2, 6, "8")))
    assert apply_fixes(source, [first, second]) == ("import os\na = 7\nb = 8\n", 2)


def top_scope(module: cst.Module) -> Scope:
    model = SemanticModel(SourceFile("shop/views.py", module.code))
    model.visit_Module(module)
    return model.module_scope


def test_imports_and_constants_are_added_after_the_imports_once() -> None:
    module = cst.parse_module('"""Doc."""\nimport json\n\nTIMEOUT = 5\n\n\ndef f():\n    return json\n')
    rewrite = Rewrite(safe=False, imports=("from django.utils import timezone",), constants=("TIMEOUT = 10",))
    fix = fix_of(rewrite, module, top_scope(module), {"TIMEOUT", "f"})
    assert fix is not None
    assert [e.content for e in fix.edits] == ["from django.utils import timezone\n"]
    assert (fix.edits[0].line, fix.edits[0].column) == (3, 1)
    clash = Rewrite(safe=False, imports=("from django.utils import timezone",))
    other = cst.parse_module("from datetime import timezone\n")
    assert fix_of(clash, other, top_scope(other), set()) is None, "never rebinds a name in use"
    assigned = cst.parse_module("timezone = pytz.utc\n")
    assert fix_of(clash, assigned, top_scope(assigned), {"timezone"}) is None, "nor a name assigned"
    inside = cst.parse_module("def f():\n    from django.utils import timezone\n    return timezone\n")
    fix = fix_of(clash, inside, top_scope(inside), {"f"})
    assert fix is not None and fix.edits[0].content == "from django.utils import timezone\n", (
        "a function's import is its own"
    )
    present = cst.parse_module("from django.utils import timezone\n")
    assert fix_of(clash, present, top_scope(present), set()) is None, "already imported: nothing to add"


def test_writing_keeps_encoding_bom_line_endings_mode_and_symlinks(tmp_path: Path) -> None:
    latin = tmp_path / "latin.py"
    latin.write_bytes("# -*- coding: latin-1 -*-\r\nname = 'café'\r\n".encode("latin-1"))
    latin.chmod(0o750)
    write_source(latin, "# -*- coding: latin-1 -*-\r\nname = 'crème'\r\n")
    assert latin.read_bytes() == "# -*- coding: latin-1 -*-\r\nname = 'crème'\r\n".encode("latin-1")
    assert stat.S_IMODE(latin.stat().st_mode) == 0o750
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfx = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(bom)
    write_source(link, "x = 2\n")
    assert link.is_symlink() and bom.read_bytes() == b"\xef\xbb\xbfx = 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bom.py", "latin.py", "link.py"], "no temporary left"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "manage.py").write_text("")
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "views.py").write_text(
        "import json\n\n\ndef load(raw):\n    try:\n        return json.loads(raw)\n    except:\n        return {}\n\n\n"
        "def reread(order):\n    order.refresh_from_database()\n    return order\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_fix_dry_run_prints_a_diff_and_writes_nothing(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (project / "shop" / "views.py").read_text()
    assert main(["fix", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "--- a/shop/views.py\n+++ b/shop/views.py\n" in out
    assert "-    order.refresh_from_database()\n+    order.refresh_from_db()\n" in out
    assert "except Exception" not in out, "unsafe fixes need --unsafe-fixes"
    assert (project / "shop" / "views.py").read_text() == before


def test_fix_writes_safe_then_unsafe_fixes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fix"]) == 0
    assert "refresh_from_db()" in (project / "shop" / "views.py").read_text()
    assert "fixable with --unsafe-fixes" in capsys.readouterr().err
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert "    except Exception:\n" in (project / "shop" / "views.py").read_text()
    assert main(["fix", "--dry-run", "--unsafe-fixes"]) == 0, "nothing left to fix"


def test_check_fix_reports_what_is_left(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--fix", "--format", "concise", "--exit-zero"]) == 0
    captured = capsys.readouterr()
    assert "fixed 1 finding in 1 file" in captured.err
    assert "RP102" not in captured.out and "RP303" in captured.out
    assert main(["check", "--unsafe-fixes"]) == 2, "--unsafe-fixes goes with --fix"


def test_a_fix_that_would_break_the_file_is_not_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    import review_patterns.core.fixer as fixer

    broken = Fix(True, (Edit(1, 1, 1, 1, "def (\n"),))

    def lint_with_a_broken_fix(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        result = original(*args, **kwargs)
        from dataclasses import replace

        return replace(result, findings=tuple(replace(f, fix=broken) for f in result.findings))

    original = fixer.lint
    monkeypatch.setattr(fixer, "lint", lint_with_a_broken_fix)
    source = "def reread(order):\n    order.refresh_from_database()\n"
    fixed, applied, result = fix_source(source, "shop/views.py", None, Config(), rules=ALL_RULES)
    assert (fixed, applied) == (source, 0) and [f.code for f in result.findings] == ["RP102"]


def test_fixed_files_keep_their_permissions_through_the_cli(project: Path) -> None:
    views = project / "shop" / "views.py"
    os.chmod(views, 0o640)
    assert main(["fix"]) == 0
    assert stat.S_IMODE(views.stat().st_mode) == 0o640


def test_a_cached_result_keeps_its_fixes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):  # the second run is served from the result cache
        assert main(["check", "--format", "json", "--exit-zero"]) == 0
        report = capsys.readouterr().out
        assert '"applicability": "safe"' in report and '"message": "call `refresh_from_db`"' in report


def _fixed(source: str, code: str, path: str = "shop/services.py") -> str:
    fixed, applied, result = fix_source(source, path, None, Config(select=(code,)), rules=ALL_RULES, unsafe=True)
    assert applied and not [f for f in result.findings if f.code == code]
    return fixed


def test_rp505_names_the_ttl_or_reuses_the_constant_that_holds_it() -> None:
    source = (
        "from django.core.cache import cache\n\nDAY = 24 * 60 * 60\n\n\n"
        "def cache_rates(rates):\n    cache.set('rates', rates, 86400)\n    cache.set('menu', rates, 60 * 30)\n"
    )
    fixed = _fixed(source, "RP505")
    assert "cache.set('rates', rates, DAY)" in fixed and "cache.set('menu', rates, CACHE_TTL_30_MINUTES)" in fixed
    assert "\nCACHE_TTL_30_MINUTES = 60 * 30  # 30 minutes\n" in fixed


def test_rp509_passes_the_module_timeout_and_adds_it_once() -> None:
    source = (
        "import requests\n\n\ndef rates():\n    requests.get(RATES_URL)\n"
        "    return requests.post(RATES_URL, json={}, timeout=None)\n"
    )
    fixed = _fixed(source, "RP509")
    assert fixed.count("HTTP_TIMEOUT = 10") == 1
    assert "requests.get(RATES_URL, timeout=HTTP_TIMEOUT)" in fixed
    assert "requests.post(RATES_URL, json={}, timeout=HTTP_TIMEOUT)" in fixed


def test_rp305_keeps_the_traceback_for_debug_only() -> None:
    source = (
        "import logging\n\nimport requests\n\nlogger = logging.getLogger(__name__)\n\n\n"
        "def rates():\n    try:\n        return requests.get(URL, timeout=5)\n"
        "    except requests.ConnectionError:\n        logger.exception('rates down')\n"
    )
    fixed = _fixed(source, "RP305")
    assert "from django.conf import settings\n" in fixed
    assert "logger.error('rates down', exc_info=settings.DEBUG)" in fixed


def test_rp510_uses_djangos_clock_unless_timezone_means_something_else() -> None:
    source = (
        "import datetime\n\nfrom shop.models import Order\n\n\n"
        "def overdue():\n    return Order.objects.filter(due__lt=datetime.datetime.now())\n"
    )
    fixed = _fixed(source, "RP510", "shop/views.py")
    assert "from django.utils import timezone\n" in fixed and "filter(due__lt=timezone.now())" in fixed
    clash = source.replace("import datetime\n", "import datetime\nfrom datetime import timezone\n")
    result = fix_source(clash, "shop/views.py", None, Config(select=("RP510",)), rules=ALL_RULES, unsafe=True)
    assert result[1] == 0, "`timezone` is datetime's here: no fix is offered"


def test_rp101_reloads_the_f_fields_after_the_save_at_its_indentation_and_line_endings() -> None:
    source = (
        "from django.db.models import F\r\n\r\n\r\ndef upvote(request, pk):\r\n"
        "\treview = Review.objects.get(pk=pk)\r\n\treview.upvotes = F('upvotes') + 1\r\n"
        "\treview.views = F('views') + 1\r\n\tif request.user.is_staff:\r\n"
        "\t\treview.save()  # staff only\r\n\r\n\t# shown to the user\r\n"
        "\treturn JsonResponse({'upvotes': review.upvotes, 'views': review.views})\r\n"
    )
    fixed = _fixed(source, "RP101")
    assert fixed == source.replace(
        "\t\treview.save()  # staff only\r\n",
        '\t\treview.save()  # staff only\r\n\t\treview.refresh_from_db(fields=["upvotes", "views"])\r\n',
    )


def test_rp101_offers_no_fix_where_a_line_after_the_save_would_not_run_with_it() -> None:
    source = (
        "from django.db.models import F\n\n\ndef upvote(request, pk):\n"
        "    review = Review.objects.get(pk=pk)\n    review.upvotes = F('upvotes') + 1\n"
        "    if request.user.is_staff: review.save()\n"
        "    return JsonResponse({'upvotes': review.upvotes})\n"
    )
    result = fix_source(source, "shop/views.py", None, Config(select=("RP101",)), rules=ALL_RULES)
    assert result[1] == 0 and [(f.code, f.fix) for f in result[2].findings] == [("RP101", None)]


def test_rp307_logs_the_class_in_place_of_the_text_and_leaves_text_from_a_variable() -> None:
    source = (
        "import logging\nimport traceback\n\nlogger = logging.getLogger(__name__)\n\n\n"
        "def sync(shop):\n    try:\n        push(shop)\n    except Exception as exc:\n"
        "        logger.error('sync of %s failed: %s', shop.pk, str(exc))  # keep this comment\n"
        "        logger.warning(f'sync failed: {exc!r}')\n"
        "        logger.info('sync failed: %s' % (exc,))\n"
        "        logger.info('sync failed: ' + traceback.format_exc())\n"
        "        detail = repr(exc)\n        logger.debug(detail)\n"
    )
    config = Config(select=("RP307",))
    fixed, applied, result = fix_source(source, "shop/tasks.py", None, config, rules=ALL_RULES)
    assert applied == 4
    assert "        logger.error('sync of %s failed: %s', shop.pk, type(exc).__name__)  # keep this comment\n" in fixed
    assert "        logger.warning(f'sync failed: {type(exc).__name__}')\n" in fixed
    assert "        logger.info('sync failed: %s' % (type(exc).__name__,))\n" in fixed
    assert "        logger.info('sync failed: ' + type(exc).__name__)\n" in fixed
    assert "        detail = repr(exc)\n        logger.debug(detail)\n" in fixed
    assert [(f.line, f.fix) for f in result.findings] == [(16, None)], "text through a variable: no fix"


def test_rp302_answers_with_a_generic_message_in_place_of_the_whole_string() -> None:
    source = (
        "from django.http import JsonResponse\n\n\ndef refund(request, pk):\n    try:\n"
        "        payments.refund(pk)\n    except Exception as e:\n"
        "        return JsonResponse(\n            {\n"
        "                'error': 'refund %s failed: %s' % (pk, e),  # shown in the app\n"
        "                'code': 'refund_failed',\n            },\n            status=502,\n        )\n"
        "    return JsonResponse({'id': pk})\n"
    )
    config = Config(select=("RP302",))
    assert fix_source(source, "shop/views.py", None, config, rules=ALL_RULES)[1] == 0, "unsafe"
    fixed = _fixed(source, "RP302", "shop/views.py")
    assert fixed == source.replace("'refund %s failed: %s' % (pk, e)", '"An internal error occurred."')


def test_rp508_gives_the_lock_the_module_expiry_by_keyword_or_in_place_of_a_positional_none() -> None:
    source = (
        "import redis\n\nLOCK_TIMEOUT = 5 * 60\n\nconn = redis.Redis()\n\n\n"
        "def export(report_id):\n    with conn.lock(f'export:{report_id}', None, 0.1):  # one at a time\n"
        "        build(report_id)\n\n\ndef rebuild(*options):\n    with conn.lock('rebuild', *options):\n"
        "        rebuild_index()\n"
    )
    config = Config(select=("RP508",))
    fixed, applied, result = fix_source(source, "shop/jobs.py", None, config, rules=ALL_RULES, unsafe=True)
    assert applied == 1 and fixed.count("LOCK_TIMEOUT =") == 1, "the module's own constant is used"
    assert "    with conn.lock(f'export:{report_id}', LOCK_TIMEOUT, 0.1):  # one at a time\n" in fixed
    assert [f.line for f in result.findings] == [], "`*options` may carry the timeout: not flagged"


def test_rp203_marks_only_the_backfill_of_a_field_added_in_the_same_migration_reversible() -> None:
    migration = (
        "from django.db import migrations, models\nfrom django.db.migrations import RunPython\n\n\n"
        "def fill_currency(apps, schema_editor):\n    Order = apps.get_model('shop', 'Order')\n"
        "    Order.objects.update(currency='EUR')\n\n\n"
        "def fill_totals(apps, schema_editor):\n    Order = apps.get_model('shop', 'Order')\n"
        "    Order.objects.update(total=0)\n\n\n"
        "class Migration(migrations.Migration):\n    dependencies = [('shop', '0001_initial')]\n    operations = [\n"
        "        migrations.AddField('order', 'currency', models.CharField(max_length=3, null=True)),\n"
        "        RunPython(fill_currency, None),  # fills the new field\n"
        "        RunPython(fill_totals),  # fills a field of an earlier migration\n    ]\n"
    )
    path = "shop/migrations/0002_order_currency.py"
    context = ProjectContext.from_sources({path: migration})
    config = Config(select=("RP203",))
    fixed, applied, result = fix_source(migration, path, context, config, rules=ALL_RULES, unsafe=True)
    assert applied == 1
    assert "        RunPython(fill_currency, RunPython.noop),  # fills the new field\n" in fixed
    assert [(f.line, f.fix) for f in result.findings] == [(20, None)]


def _rp401(body: str) -> tuple[str, int, list[tuple[int, bool]]]:
    import textwrap

    from review_patterns.checks.queries.n_plus_one_in_loop import MODELS

    source = "from blog.models import Post\n\n\n" + body
    models = {path: textwrap.dedent(text) for path, text in MODELS.items()}
    context = ProjectContext.from_sources({**models, "blog/views.py": source})
    config = Config(select=("RP401",))
    fixed, applied, result = fix_source(
        source, "blog/views.py", context, config, rules=ALL_RULES, unsafe=True, project_path="blog/views.py"
    )
    return fixed, applied, [(f.line, f.fix is not None) for f in result.findings]


def test_rp401_merges_the_lookup_into_the_querysets_own_call_and_loads_before_a_slice() -> None:
    fixed, applied, left = _rp401(
        "def feed(request):\n    posts = (\n        Post.objects.filter(published=True)\n"
        "        .select_related('topic')  # the header shows the topic\n        .order_by('-id')[:20]\n    )\n"
        "    for post in posts:\n        print(post.topic.title, post.author.username)\n"
        "    for post in Post.objects.filter(published=True)[:5].iterator():\n        print(post.author)\n"
    )
    assert applied == 2 and left == []
    assert "        .select_related('topic', 'author')  # the header shows the topic\n" in fixed
    assert '    for post in Post.objects.filter(published=True).select_related("author")[:5].iterator():\n' in fixed


def test_rp401_leaves_querysets_built_elsewhere_or_bound_twice() -> None:
    source = (
        "def feed(request, posts):\n    for post in posts:\n        print(post.author)\n\n\n"
        "def search(request):\n    posts = Post.objects.all()\n    if request.GET.get('q'):\n"
        "        posts = Post.objects.filter(title__icontains=request.GET['q'])\n"
        "    for post in posts:\n        print(post.author)\n\n\n"
        "def export():\n    for post in Post.objects.iterator():\n        print(post.comments.all())\n"
    )
    _, applied, left = _rp401(source)
    assert applied == 0 and [line for line, _ in left] == [14, 19] and not any(fix for _, fix in left)


def test_statistics_mark_the_rules_with_fixes_and_count_the_fixable(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--statistics", "--exit-zero", "--select", "RP102,RP303"]) == 0
    assert capsys.readouterr().out == (
        "1\tRP102\t[*] unknown-orm-method\n1\tRP303\t[*unsafe] bare-except\n"
        "1 finding fixable with `review-patterns fix` (1 more with --unsafe-fixes)\n"
    )


SHOP_INITIAL = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="Order",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("total", models.DecimalField(max_digits=10, decimal_places=2)),
            ],
        ),
    ]
"""
ONE_STEP = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="order",
            name="currency",
            field=models.CharField(max_length=3, choices=[("EUR", "Euro"), ("USD", "Dollar")]),
        ),
    ]
"""
LATER = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ('shop', '0002_order_currency'),
    ]
    operations = [migrations.AddField("order", "note", models.TextField(blank=True))]
"""
OTHER_APP = """from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("shop", "0002_order_currency")]
    operations = [
        migrations.CreateModel(
            name="Invoice",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("order", models.ForeignKey("shop.order", on_delete=models.CASCADE)),
            ],
        ),
    ]
"""


@pytest.fixture
def shop_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose unreleased 0002 adds a NOT NULL column to a table of an earlier release."""
    files = {
        "manage.py": "",
        "shop/__init__.py": "",
        "shop/migrations/__init__.py": "",
        "shop/migrations/0001_initial.py": SHOP_INITIAL,
        "shop/migrations/0002_order_currency.py": ONE_STEP,
        "shop/migrations/0003_order_note.py": LATER,
        "billing/__init__.py": "",
        "billing/migrations/__init__.py": "",
        "billing/migrations/0001_initial.py": OTHER_APP,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_rp201_split_writes_the_three_steps_that_replay_and_earn_the_bonus(
    shop_history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from review_patterns import lint_paths

    migrations = shop_history / "shop" / "migrations"
    before = {p.name: p.read_text() for p in migrations.iterdir()}
    assert main(["fix", "--dry-run"]) == 0, "the split is unsafe"
    assert main(["fix", "--dry-run", "--unsafe-fixes"]) == 1
    diff = capsys.readouterr().out
    assert "--- /dev/null\n+++ b/shop/migrations/0004_backfill_order_currency.py\n" in diff
    assert "--- /dev/null\n+++ b/shop/migrations/0005_alter_order_currency.py\n" in diff
    assert "-        ('shop', '0002_order_currency'),\n+        ('shop', '0005_alter_order_currency'),\n" in diff
    assert {p.name: p.read_text() for p in migrations.iterdir()} == before, "--dry-run writes nothing"

    assert main(["fix", "--unsafe-fixes"]) == 0
    assert "writing 2 new files" in capsys.readouterr().err
    assert (migrations / "0002_order_currency.py").read_text() == ONE_STEP.replace(
        '("USD", "Dollar")])', '("USD", "Dollar")], null=True)'
    )
    backfill = (migrations / "0004_backfill_order_currency.py").read_text()
    assert 'dependencies = [("shop", "0002_order_currency")]' in backfill
    assert "rows = Order.objects.filter(currency__isnull=True)" in backfill
    assert "reverse_code=migrations.RunPython.noop" in backfill and "raise NotImplementedError" in backfill
    enforce = (migrations / "0005_alter_order_currency.py").read_text()
    assert 'dependencies = [("shop", "0004_backfill_order_currency")]' in enforce
    assert 'field=models.CharField(max_length=3, choices=[("EUR", "Euro"), ("USD", "Dollar")]),' in enforce
    assert "('shop', '0005_alter_order_currency')" in (migrations / "0003_order_note.py").read_text()
    other = (shop_history / "billing" / "migrations" / "0001_initial.py").read_text()
    assert '("shop", "0005_alter_order_currency")' in other
    for path in shop_history.rglob("*.py"):
        ast.parse(path.read_text())

    # The history replays the new graph: one leaf per app, the steps in order, NOT NULL at the end.
    history = ProjectContext(root=shop_history).migrations
    order = [m.name for m in history.order if m.app == "shop"]
    assert order == [
        "0001_initial",
        "0002_order_currency",
        "0004_backfill_order_currency",
        "0005_alter_order_currency",
        "0003_order_note",
    ]
    leaves = [m.name for m in history.order if m.app == "shop" and not any(m in o.parents for o in history.order)]
    assert leaves == ["0003_order_note"]
    billing = next(m for m in history.order if m.app == "billing")
    assert [p.name for p in billing.parents] == ["0005_alter_order_currency"]

    report = lint_paths([shop_history], Config(), cwd=shop_history, rules=ALL_RULES)
    assert not [f for f in report.findings if f.code.startswith("RP2")], report.findings
    assert [(b.path, b.name) for b in report.bonuses] == [
        ("shop/migrations/0005_alter_order_currency.py", "three-step-migration")
    ]
    assert main(["fix", "--dry-run", "--unsafe-fixes"]) == 0, "a second run changes nothing"


def test_rp201_split_is_not_offered_for_a_released_migration(shop_history: Path) -> None:
    import subprocess

    from review_patterns import lint_paths

    identity = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "d@x",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "d@x",
    }

    def git(*args: str) -> None:
        subprocess.run(
            ["git", *args], cwd=shop_history, check=True, capture_output=True, env={**os.environ, **identity}
        )

    git("init", "-q")
    git("add", "manage.py", "shop/__init__.py", "shop/migrations/__init__.py", "shop/migrations/0001_initial.py")
    git("commit", "-qm", "orders")
    git("tag", "v1.0")
    git("add", ".")
    git("commit", "-qm", "currency")
    config = Config(select=("RP201",))
    unreleased = lint_paths([shop_history], config, cwd=shop_history, rules=ALL_RULES).findings
    assert [(f.path, f.fix is not None) for f in unreleased] == [("shop/migrations/0002_order_currency.py", True)]
    git("tag", "v1.1")
    released = lint_paths([shop_history], config, cwd=shop_history, rules=ALL_RULES).findings
    assert [(f.path, f.fix) for f in released] == [("shop/migrations/0002_order_currency.py", None)]


def test_the_json_report_and_the_cache_carry_the_files_a_fix_writes(
    shop_history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    for _ in range(2):  # the second run is served from the result cache
        assert main(["check", "--format", "json", "--exit-zero", "--select", "RP201"]) == 0
        (finding,) = [f for file in json.loads(capsys.readouterr().out)["files"] for f in file["findings"]]
        files = finding["fix"]["files"]
        assert [(f["path"], f["before"]) for f in files][:2] == [
            ("shop/migrations/0004_backfill_order_currency.py", None),
            ("shop/migrations/0005_alter_order_currency.py", None),
        ]
        assert {f["path"] for f in files[2:]} == {
            "shop/migrations/0003_order_note.py",
            "billing/migrations/0001_initial.py",
        }


NULLABLE_NOTE = SHOP_INITIAL.replace(
    '("total", models.DecimalField(max_digits=10, decimal_places=2)),',
    '("total", models.DecimalField(max_digits=10, decimal_places=2)),\n                ("note", models.TextField(null=True)),',
)
ENFORCE_NOTE = """from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    operations = [
        migrations.AlterField(model_name="order", name="note", field=models.TextField(default="")),
    ]
"""


def test_rp206_writes_the_missing_backfill_with_the_default_and_the_enforcing_migration_waits_for_it(
    shop_history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from review_patterns import lint_paths

    migrations = shop_history / "shop" / "migrations"
    (migrations / "0001_initial.py").write_text(NULLABLE_NOTE)
    (migrations / "0002_order_currency.py").unlink()
    (migrations / "0003_order_note.py").unlink()
    (shop_history / "billing" / "migrations" / "0001_initial.py").unlink()
    (migrations / "0002_alter_order_note.py").write_text(ENFORCE_NOTE)
    assert main(["fix", "--unsafe-fixes"]) == 0
    enforce = (migrations / "0002_alter_order_note.py").read_text()
    assert enforce == ENFORCE_NOTE.replace(
        "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n",
        '        migrations.swappable_dependency(settings.AUTH_USER_MODEL),\n        ("shop", "0003_backfill_order_note"),\n',
    )
    backfill = (migrations / "0003_backfill_order_note.py").read_text()
    assert "from django.conf import settings\n" in backfill, "the dependencies it copies need it"
    assert (
        'dependencies = [("shop", "0001_initial"), migrations.swappable_dependency(settings.AUTH_USER_MODEL)]'
        in backfill
    )
    assert '    return ""\n' in backfill and "NotImplementedError" not in backfill
    ast.parse(backfill)
    report = lint_paths([shop_history], Config(), cwd=shop_history, rules=ALL_RULES)
    assert not [f for f in report.findings if f.code.startswith("RP2")], report.findings
    assert [(b.path, b.name) for b in report.bonuses] == [
        ("shop/migrations/0002_alter_order_note.py", "three-step-migration")
    ]
    assert main(["fix", "--dry-run", "--unsafe-fixes"]) == 0, "a second run changes nothing"


COLLAPSED = """# Generated by Django 5.2 on 2026-11-30 10:00

from django.db import migrations, models

RATE = "EUR"


def default_currency():
    return RATE


def fill_currency(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(currency__isnull=True).update(currency=default_currency())


def noop(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.AddField("order", "currency", models.CharField(max_length=3, null=True)),  # 1: add
        migrations.RunPython(noop, migrations.RunPython.noop),  # prepares nothing
        migrations.RunPython(fill_currency, migrations.RunPython.noop),  # 2: fill
        migrations.AlterField("order", "total", models.DecimalField(max_digits=12, decimal_places=2)),
        migrations.AlterField("order", "currency", models.CharField(max_length=3)),  # 3: enforce
        migrations.AddIndex("order", models.Index(fields=["currency"], name="order_currency")),
    ]
"""


def test_rp205_cuts_the_collapsed_migration_in_three_with_the_functions_each_part_uses(
    shop_history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from review_patterns import lint_paths

    migrations = shop_history / "shop" / "migrations"
    (migrations / "0002_order_currency.py").write_text(COLLAPSED)
    assert main(["fix", "--unsafe-fixes", "--select", "RP205"]) == 0
    first = (migrations / "0002_order_currency.py").read_text()
    assert "def fill_currency" not in first and "def default_currency" not in first
    assert "def noop" in first and 'RATE = "EUR"' in first
    assert first.endswith("        migrations.RunPython(noop, migrations.RunPython.noop),  # prepares nothing\n    ]\n")
    backfill = (migrations / "0004_backfill_order_currency.py").read_text()
    assert "def fill_currency" in backfill and "def default_currency" in backfill and "def noop" not in backfill
    assert 'dependencies = [("shop", "0002_order_currency")]' in backfill
    assert (
        "    operations = [\n        migrations.RunPython(fill_currency, migrations.RunPython.noop),  # 2: fill\n    ]\n"
        in backfill
    )
    assert first.startswith("# Generated by Django") and backfill.startswith("from django.db import")
    enforce = (migrations / "0005_alter_order_currency.py").read_text()
    assert 'migrations.AlterField("order", "total"' in enforce, "the enforcing part starts at the first AlterField"
    assert "def " not in enforce and 'dependencies = [("shop", "0004_backfill_order_currency")]' in enforce
    assert "# 3: enforce\n        migrations.AddIndex(" in enforce
    assert "('shop', '0005_alter_order_currency')" in (migrations / "0003_order_note.py").read_text()
    for path in shop_history.rglob("*.py"):
        ast.parse(path.read_text())
    report = lint_paths([shop_history], Config(), cwd=shop_history, rules=ALL_RULES)
    assert not [f for f in report.findings if f.code in ("RP201", "RP202", "RP205", "RP206")], report.findings
    assert [(b.path, b.name) for b in report.bonuses] == [
        ("shop/migrations/0005_alter_order_currency.py", "three-step-migration")
    ]
    assert main(["fix", "--dry-run", "--unsafe-fixes", "--select", "RP205"]) == 0, "a second run changes nothing"


def test_rp201_splits_two_fields_of_one_migration_one_run_after_the_other_into_one_chain(shop_history: Path) -> None:
    migrations = shop_history / "shop" / "migrations"
    (migrations / "0003_order_note.py").unlink()
    (shop_history / "billing" / "migrations" / "0001_initial.py").unlink()
    two = ONE_STEP.replace(
        "    ]\n",
        '        migrations.AddField(model_name="order", name="vat", field=models.IntegerField()),\n    ]\n',
        1,
    )
    (migrations / "0002_order_currency.py").write_text(two)
    assert main(["fix", "--unsafe-fixes"]) == 0
    assert main(["fix", "--unsafe-fixes"]) == 0
    history = ProjectContext(root=shop_history).migrations
    shop = [m for m in history.order if m.app == "shop"]
    leaves = [m.name for m in shop if not any(m in o.parents for o in shop)]
    assert leaves == ["0004_alter_order_currency"], [m.name for m in shop]
    assert [m.name for m in shop] == [
        "0001_initial",
        "0002_order_currency",
        "0005_backfill_order_vat",
        "0006_alter_order_vat",
        "0003_backfill_order_currency",
        "0004_alter_order_currency",
    ]
    assert main(["fix", "--dry-run", "--unsafe-fixes"]) == 0


@pytest.mark.parametrize(
    ("before", "after", "edit"),
    [
        ("x = f()\n", "x = f(timeout=10)\n", (1, 7, 1, 7, "timeout=10")),
        ("a\nbb\nbb\nc\n", "a\nbb\nc\n", (3, 1, 4, 1, "")),  # a repeated line: the common prefix goes first
        ("aaa", "aa", (1, 3, 1, 4, "")),
        ("now()\r\nx\r\n", "timezone.now()\r\nx\r\n", (1, 1, 1, 1, "timezone.")),
        ("é = 1\n", "é = 2\n", (1, 5, 1, 6, "2")),
    ],
)
def test_the_edit_of_a_rewrite_spans_what_lies_between_the_common_prefix_and_suffix(
    before: str, after: str, edit: tuple[int, int, int, int, str]
) -> None:
    from review_patterns.core.edits import _offsets, _span_edit

    found = _span_edit(before, after, _offsets(before))
    assert found is not None and (found.line, found.column, found.end_line, found.end_column, found.content) == edit
    assert _span_edit(before, before, _offsets(before)) is None


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda s: s, id="awkward"),
        pytest.param(lambda s: s.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda s: s.replace("    ", "\t"), id="tabs"),
        pytest.param(lambda s: s.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda s: s + "\n" + s.split("\n\n\n")[-1], id="a-repeated-block"),
    ],
)
def test_a_replacement_printed_locally_gives_the_whole_modules_text(variant: Any) -> None:
    """Only the innermost statement found once in the text is printed again: what comes out is what
    printing the whole module with the replacement gives, for every name, call and statement line."""
    source = variant(AWKWARD)
    module = cst.parse_module(source)
    assert module.code == source
    targets: list[tuple[cst.CSTNode, Any]] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if isinstance(node, (cst.Name, cst.Call)):
            targets.append((node, cst.Name("replaced")))
        elif isinstance(node, cst.SimpleStatementLine):
            targets.append((node, cst.FlattenSentinel([node, cst.parse_statement("audit(order)\n")])))
    assert len(targets) > 80
    for old, new in targets:
        path = traversal.ancestors(module, old)
        whole = module.visit(_Replace(old, new, path))
        assert isinstance(whole, cst.Module)
        assert _replaced_code(module, source, path, new) == whole.code, cst.Module([]).code_for_node(old)

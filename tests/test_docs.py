"""The committed catalogue in rules/ is exactly what the rule classes generate."""

from __future__ import annotations

import pickle

from conftest import ROOT, run_cli

from review_patterns import ALL_RULES
from review_patterns.checks import RULES
from review_patterns.core.rule_info import RuleInfo
from review_patterns.report import docs


def test_catalogue_is_fresh() -> None:
    stale = docs.stale_pages(ROOT / "rules")
    assert not stale, f"run `review-patterns docs` to regenerate: {stale}"


def test_the_rules_file_says_what_the_rule_classes_say() -> None:
    """Runs read `checks/rules.json` instead of importing the rules: it never drifts from the classes."""
    assert not docs.rules_file_is_stale(), "run `review-patterns docs` to regenerate checks/rules.json"
    fields = [name for name in RuleInfo.__dict__ if not name.startswith("_") and name not in ("load",)]
    assert {"code", "options", "requires", "skip_kinds", "doc", "default_penalty"} <= set(fields)
    for entry, rule in zip(RULES, ALL_RULES, strict=True):
        assert entry.load() is rule
        for name in fields:
            if name == "default_penalty":
                assert entry.default_penalty() == rule.default_penalty()
            elif name not in ("option_error", "applies_to"):
                assert getattr(entry, name) == getattr(rule, name), (rule.code, name)


def test_a_worker_process_is_sent_each_rule_class_by_reference() -> None:
    """Tasks carry the rules to the worker processes, once per file: not each entry's text."""
    sent = pickle.dumps(RULES)
    assert pickle.loads(sent) == ALL_RULES and len(sent) < 100 * len(RULES)


def test_every_rule_has_a_page_and_an_index_row() -> None:
    index = (ROOT / "rules" / "README.md").read_text()
    for rule in ALL_RULES:
        assert (ROOT / "rules" / docs.page_name(rule)).is_file()
        assert f"({docs.page_name(rule)})" in index


def test_explain_prints_the_catalogue_page() -> None:
    for rule in ALL_RULES[:3]:
        result = run_cli("explain", (rule.code or rule.name).lower())
        assert result.returncode == 0, result.stderr
        assert result.stdout == docs.render(rule)


def test_explain_covers_the_api_rules_and_their_options() -> None:
    """RP601-RP604 and the stampede-protection bonus (explained by RP604's page), with what the user configures."""
    wanted = {
        "rp601": ("RP601", "paid-calls"),
        "rp602": ("RP602", "rate-limit-decorators"),
        "rp603": ("RP603", "DEFAULT_VERSIONING_CLASS"),
        "rp604": ("RP604", "paid-hosts"),
        "stampede-protection": ("RP604", "**stampede-protection** bonus"),
    }
    rules = {rule.code: rule for rule in ALL_RULES}
    for name, (code, fragment) in wanted.items():
        result = run_cli("explain", name)
        assert result.returncode == 0, result.stderr
        assert result.stdout == docs.render(rules[code])
        assert fragment in result.stdout


def test_docs_check_reports_a_stale_page(tmp_path) -> None:
    docs.write_catalogue(tmp_path)
    assert run_cli("docs", "--check", str(tmp_path)).returncode == 0
    page = tmp_path / docs.page_name(ALL_RULES[0])
    page.write_text(page.read_text() + "edited by hand\n")
    result = run_cli("docs", "--check", str(tmp_path))
    assert result.returncode == 1
    assert page.name in result.stdout


def test_summary_is_the_first_sentence_and_ignores_dots_in_code() -> None:
    from review_patterns.core.rule import Rule

    class Leaky(Rule):
        """## What it does
        Flags, inside an `except ... as e` handler, the text of `e.g.` reaching a log. Then more.

        ## Why is this bad?
        Leaks.
        """

    assert docs.summary(Leaky) == "Flags, inside an `except ... as e` handler, the text of `e.g.` reaching a log."

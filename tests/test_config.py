"""`[tool.review-patterns]`: found by walking up, validated, every error naming its key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from review_patterns import ALL_RULES
from review_patterns.checks.clarity.type_hints import TypeHints
from review_patterns.core.config import ConfigError, find_config_file, load_config, parse_config
from review_patterns.core.model import Severity
from review_patterns.core.rule import Rule


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_nearest_pyproject_with_the_table_wins(tmp_path: Path) -> None:
    write(tmp_path / ".git" / "HEAD", "")
    write(tmp_path / "pyproject.toml", '[tool.review-patterns]\nmin-grade = "B"\n')
    write(tmp_path / "backend" / "pyproject.toml", "[tool.black]\nline-length = 100\n")
    app = tmp_path / "backend" / "shop" / "views.py"
    write(app, "")
    assert find_config_file(app) == tmp_path / "pyproject.toml"
    config = load_config(app, rules=ALL_RULES)
    assert config.min_grade == "B" and config.root == tmp_path


def test_search_stops_at_the_repository_root(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.review-patterns]\nmin-grade = "B"\n')
    write(tmp_path / "repo" / ".git" / "HEAD", "")
    assert load_config(tmp_path / "repo", rules=ALL_RULES).min_grade == "A-"


def test_full_table_is_parsed() -> None:
    config = parse_config(
        {
            "select": ["RP0", "RP001"],
            "ignore": ["RP101", "type-hints"],
            "exclude": ["legacy/**"],
            "per-file-ignores": {"*/tests/*": ["RP3"]},
            "min-grade": "B+",
            "severity": {"rp002": "important"},
            "penalty": {"RP002": 2},
        },
        rules=ALL_RULES,
    )
    assert config.select == ("RP0", "RP001")
    assert config.ignore == ("RP101", "type-hints")
    assert config.per_file_ignores == {"*/tests/*": ("RP3",)}
    assert config.severity == {"RP002": Severity.IMPORTANT}
    assert config.penalty == {"RP002": 2}


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"selct": ["RP1"]}, "selct"),
        ({"select": ["RP999"]}, "RP999"),
        ({"select": ["E501"]}, "E501"),
        ({"ignore": "not-a-bonus"}, "not-a-bonus"),
        ({"min-grade": "A++"}, "min-grade"),
        ({"severity": {"RP001": "fatal"}}, "severity.RP001"),
        ({"penalty": {"RP001": -1}}, "penalty.RP001"),
        ({"penalty": {"RP001": "five"}}, "penalty.RP001"),
        ({"per-file-ignores": ["tests"]}, "per-file-ignores"),
        ({"exclude": [1]}, "exclude"),
        ({"rp001": {"anything": True}}, "rp001.anything"),
    ],
)
def test_bad_values_name_the_key(table: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.").replace("+", r"\+")):
        parse_config(table, source="pyproject.toml", rules=ALL_RULES)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.review-patterns\nselect = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(tmp_path, rules=ALL_RULES)


class WithOptions(Rule):
    """## What it does
    A rule with options, for these tests.

    ## Why is this bad?
    It is not.
    """

    code = "RP998"
    name = "with-options"
    message = ""
    severity = Severity.WARNING
    dimension = TypeHints.dimension
    options = {"rolling-deploys": False, "names": ("email",), "limit": 3}


def test_rule_options_are_validated_by_the_type_of_their_default() -> None:
    registry = (*ALL_RULES, WithOptions)
    config = parse_config({"rp998": {"rolling-deploys": True, "names": ["email", "phone"], "limit": 5}}, rules=registry)
    assert config.options == {"RP998": {"rolling-deploys": True, "names": ("email", "phone"), "limit": 5}}
    for bad, key in [
        ({"rolling-deploys": "yes"}, "rp998.rolling-deploys"),
        ({"names": "email"}, "rp998.names"),
        ({"limit": True}, "rp998.limit"),
        ({"colour": 1}, "rp998.colour"),
    ]:
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            parse_config({"rp998": bad}, rules=registry)

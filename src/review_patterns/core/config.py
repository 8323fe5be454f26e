"""Configuration: `[tool.review-patterns]` in the nearest `pyproject.toml`, validated."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from review_patterns.core.grading import GRADES
from review_patterns.core.model import Severity
from review_patterns.core.rule_info import RuleInfo
from review_patterns.project.versions import Version, parse_version
from review_patterns.syntax.files import MAX_FILE_SIZE


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key."""


class _Located(ConfigError):
    """A configuration error whose message already names the file (and line)."""


@dataclass(frozen=True)
class Config:
    """Settings of one run. Command-line flags override the file with `dataclasses.replace`."""

    select: tuple[str, ...] = ()  #: codes or prefixes ("RP1"); empty selects every rule
    ignore: tuple[str, ...] = ()  #: codes, prefixes or bonus names
    exclude: tuple[str, ...] = ()  #: globs, relative to `root`
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_grade: str = "A-"
    severity: Mapping[str, Severity] = field(default_factory=dict)
    penalty: Mapping[str, int] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  #: code -> option -> value
    ignore_noqa: bool = False
    django_version: Version | None = None  #: `django-version`: overrides the version the project declares
    root: Path | None = None  #: the folder of the pyproject.toml the settings came from
    max_file_size: int = MAX_FILE_SIZE  #: bytes; a larger file is reported as not analysed (RP001)
    cache_dir: str | None = None  #: the result cache's folder, relative to `root`
    #: the pattern (a regular expression) of the git tags that mark releases; None: tags that look like versions
    release_tags: str | None = None
    #: `python-path`: folders (resolved against `root`) where installed apps' models are looked for
    #: before `sys.path`, as PYTHONPATH would put them
    python_path: tuple[str, ...] = ()


_TOP_KEYS = {
    "cache-dir",
    "select",
    "ignore",
    "exclude",
    "per-file-ignores",
    "min-grade",
    "severity",
    "penalty",
    "django-version",
    "max-file-size",
    "release-tags",
    "python-path",
}


def find_config_file(start: Path) -> Path | None:
    """The nearest `pyproject.toml` at or above `start` with a `[tool.review-patterns]` table."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            try:
                tool = _read_toml(path).get("tool", {})
                if not isinstance(tool, dict) or "review-patterns" in tool:
                    return path  # a malformed `tool` is reported by load_config
            except ConfigError:
                return path  # let load_config report it
        if (candidate / ".git").exists():
            return None
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not valid UTF-8 (TOML must be): {error.reason} at byte {error.start}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def load_config(start: Path, explicit: Path | None = None, *, rules: Sequence[RuleInfo]) -> Config:
    """Reads and validates the settings that apply at `start` (or from `explicit`) against `rules`."""
    path = explicit or find_config_file(start)
    if path is None:
        return Config()
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    tool = _read_toml(path).get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table ([tool.review-patterns]), not {tool!r}")
    table = tool.get("review-patterns", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: `tool.review-patterns` must be a table ([tool.review-patterns]), not {table!r}")
    return parse_config(table, source=str(path), root=path.parent, rules=rules)


def _codes(rules: Sequence[RuleInfo]) -> dict[str, RuleInfo]:
    return {rule.code: rule for rule in rules if rule.code}


def _bonus_names(rules: Sequence[RuleInfo]) -> set[str]:
    return {name for rule in rules for name in rule.bonuses}


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings")
    return tuple(value)


def check_selector(value: str, key: str, bonuses: bool = False, *, rules: Sequence[RuleInfo]) -> str:
    """A code, a code prefix (`RP1`, `RP`) or, where allowed, a bonus name of one of `rules`."""
    codes = _codes(rules)
    if bonuses and value in _bonus_names(rules):
        return value
    code = value.upper()
    covered = [c for c in codes if c.startswith(code)] if code.startswith("RP") else []
    if covered and bonuses and set(covered) <= _ALWAYS_REPORTED:  # `bonuses` is allowed where codes are ignored
        raise ConfigError(
            f"`{key}`: {value} cannot be ignored: it says a file could not be checked (RP001) or a rule failed "
            "(RP002), which nobody must miss; exclude the file instead"
        )
    if covered:
        return code
    raise ConfigError(f"`{key}`: unknown rule code {value!r}")


_ALWAYS_REPORTED = {"RP001", "RP002"}


def _by_code(values: Mapping[str, Any], codes: Mapping[str, RuleInfo]) -> dict[str, Any]:
    """Settings given by code or prefix (`RP3`), per code; a longer selector wins over a shorter one."""
    result: dict[str, Any] = {}
    for selector in sorted(values, key=len):
        for code in codes:
            if code.startswith(selector):
                result[code] = values[selector]
    return result


def parse_config(
    table: Mapping[str, Any], source: str = "config", root: Path | None = None, *, rules: Sequence[RuleInfo]
) -> Config:
    """Validates a `[tool.review-patterns]` table against `rules`; every error names the offending key."""
    codes = _codes(rules)
    option_tables = {k for k in table if k.upper() in codes}
    unknown = sorted(set(table) - _TOP_KEYS - option_tables)
    if unknown:
        raise ConfigError(unknown_key_message(source, unknown[0], sorted(_TOP_KEYS)))
    try:
        select = tuple(check_selector(v, "select", rules=rules) for v in _strings(table.get("select", []), "select"))
        ignore = tuple(
            check_selector(v, "ignore", bonuses=True, rules=rules) for v in _strings(table.get("ignore", []), "ignore")
        )
        exclude = _strings(table.get("exclude", []), "exclude")
        per_file = table.get("per-file-ignores", {})
        if not isinstance(per_file, dict):
            raise ConfigError("`per-file-ignores` must be a table of glob = [codes]")
        per_file_ignores = {
            glob: tuple(
                check_selector(v, f"per-file-ignores.{glob}", True, rules=rules) for v in _strings(codes_, glob)
            )
            for glob, codes_ in per_file.items()
        }
        min_grade = table.get("min-grade", "A-")
        if min_grade not in GRADES:
            raise ConfigError(f"`min-grade` must be one of {', '.join(GRADES)}, not {min_grade!r}")
        severity = _by_code(
            {
                check_selector(code, "severity", rules=rules): _severity(value, code)
                for code, value in _table(table, "severity").items()
            },
            codes,
        )
        penalty = _by_code(
            {
                check_selector(code, "penalty", rules=rules): _penalty(value, code)
                for code, value in _table(table, "penalty").items()
            },
            codes,
        )
        options = {key.upper(): _options(codes[key.upper()], table[key], key, source) for key in option_tables}
        cache_dir = table.get("cache-dir")
        if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir.strip()):
            raise ConfigError(f"`cache-dir` must be a folder name, not {cache_dir!r}")
        django_version = _django_version(table.get("django-version"))
        max_file_size = _size(table.get("max-file-size", MAX_FILE_SIZE), "max-file-size")
        release_tags = _pattern(table.get("release-tags"), "release-tags")
        python_path = _folders(table.get("python-path", []), "python-path", root)
    except _Located:
        raise
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    return Config(
        select,
        ignore,
        exclude,
        per_file_ignores,
        min_grade,
        severity,
        penalty,
        options,
        django_version=django_version,
        root=root,
        cache_dir=cache_dir,
        max_file_size=max_file_size,
        release_tags=release_tags,
        python_path=python_path,
    )


def _folders(value: Any, key: str, root: Path | None) -> tuple[str, ...]:
    """Folders, each relative to `root` (the settings file's folder) unless absolute, made absolute."""
    folders = _strings(value, key)
    if any(not folder.strip() for folder in folders):
        raise ConfigError(f"`{key}` must be a list of folder names, not {list(folders)!r}")
    return tuple(os.path.normpath((root or Path.cwd()) / Path(folder).expanduser()) for folder in folders)


def _pattern(value: Any, key: str) -> str | None:
    """A regular expression setting, checked to compile."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"`{key}` must be a regular expression (a string), not {value!r}")
    try:
        re.compile(value)
    except re.error as error:
        raise ConfigError(f"`{key}` is not a valid regular expression: {error}") from None
    return value


_UNITS = {"": 1, "b": 1, "kb": 1_000, "k": 1_000, "mb": 1_000_000, "m": 1_000_000}


def _size(value: Any, key: str) -> int:
    """A size in bytes: a whole number, or a string such as "2 MB" or "500kB"."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", value)
        if match and match.group(2).lower() in _UNITS:
            value = round(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f'`{key}` must be a size in bytes or a string such as "2 MB", not {value!r}')
    return value


def _django_version(value: Any) -> Version | None:
    """`django-version = "5.2"`: a release as a string, like ruff's `target-version`."""
    if value is None:
        return None
    version = parse_version(value) if isinstance(value, str) else None
    if version is None:
        raise ConfigError(f'`django-version` must be a release such as "5.2", not {value!r}')
    return version


def _table(table: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = table.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a table of code = value")
    return value


def _severity(value: Any, code: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        names = ", ".join(s.value for s in Severity)
        raise ConfigError(f"`severity.{code}` must be one of {names}, not {value!r}") from None


def _penalty(value: Any, code: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"`penalty.{code}` must be a whole number from 0 to 100, not {value!r}")
    return value


def _options(rule: RuleInfo, values: Any, key: str, source: str) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise ConfigError(f"`{key}` must be a table of options")
    result = {}
    for name, value in values.items():
        if name not in rule.options:
            valid = sorted(rule.options)
            close = _close_match(name, valid)
            hint = f"; did you mean `{close[0]}`?" if close else "."
            known = f"Options of {rule.code}: {', '.join(valid)}." if valid else f"{rule.code} has no options."
            where = _where(source, name, f"tool.review-patterns.{key}")
            raise _Located(f"{where}: unknown option `{key}.{name}`{hint} {known}")
        result[name] = check_option(rule.options[name], value, f"{key}.{name}")
    problem = rule.option_error(result)
    if problem:
        raise ConfigError(f"[tool.review-patterns.{key}] {problem}")
    return result


def check_option(default: Any, value: Any, key: str) -> Any:
    """Checks `value` against the type of the option's default."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, (tuple, list, frozenset)):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok and isinstance(default, (tuple, list, frozenset)):
        raise ConfigError(f"`{key}` must be a list of strings, not {value!r}")
    if not ok:
        raise ConfigError(f"`{key}` must be of the same kind as its default {default!r}, not {value!r}")
    return value


def key_line(path: Path, key: str, table: str = "tool.review-patterns") -> int | None:
    """The line of `key = ...` in `[table]` of a TOML file, for messages; None when not found."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
    assignment = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
    current = ""
    for number, line in enumerate(lines, 1):
        if found := header.match(line):
            current = found.group(1).replace('"', "").replace("'", "")
            if current == f"{table}.{key}":
                return number
        elif current == table and assignment.match(line):
            return number
    return None


def unknown_key_message(source: str, key: str, valid: Sequence[str]) -> str:
    """`pyproject.toml:12: unknown key `ignores` in [tool.review-patterns]; did you mean `ignore`? Valid keys: ...`."""
    close = _close_match(key, valid)
    hint = f"; did you mean `{close[0]}`?" if close else "."
    return (
        f"{_where(source, key, 'tool.review-patterns')}: unknown key `{key}` in [tool.review-patterns]{hint} "
        f"Valid keys: {', '.join(valid)}, and a table per rule code (`rp206`) for its options."
    )


def _where(source: str, key: str, table: str) -> str:
    """`pyproject.toml:12` where `key` is set in `[table]`, else the source alone."""
    line = key_line(Path(source), key, table) if source.endswith(".toml") else None
    return f"{source}:{line}" if line else source


def matches(selector: str, rule: RuleInfo) -> bool:
    """Whether a config selector (a code or a prefix; a bonus check's name) names this rule."""
    return rule.code.startswith(selector) if rule.code else selector == rule.name


def path_matches(path: str, pattern: str) -> bool:
    return fnmatch(path, pattern) or fnmatch(path, f"*/{pattern}")


def ignored_here(config: Config, path: str) -> set[str]:
    """The selectors and bonus names ignored for `path`: `ignore` plus matching `per-file-ignores`."""
    ignored = set(config.ignore)
    for pattern, codes in config.per_file_ignores.items():
        if path_matches(path, pattern):
            ignored.update(codes)
    return ignored


def selected_rules(config: Config, rules: Sequence[RuleInfo], *paths: str) -> list[RuleInfo]:
    """Those of `rules` that run on a file known by `paths` under `config`, in registry order.

    Ignoring a bonus that a rule awards drops the bonus, not the rule (see `lint`). RP001 and RP002
    are the tool's own findings, never run as rules.
    """
    return selected_under(config, rules, set().union(*(ignored_here(config, path) for path in paths)))


def selected_under(config: Config, rules: Sequence[RuleInfo], ignored: AbstractSet[str]) -> list[RuleInfo]:
    """Those of `rules` that run under `config` where the selectors and bonus names `ignored` are ignored."""
    return [
        rule
        for rule in rules
        if (not config.select or not rule.code or any(matches(s, rule) for s in config.select))
        and not any(matches(s, rule) for s in ignored)
        and rule.code not in _ALWAYS_REPORTED
    ]


def _close_match(name: str, valid: Sequence[str]) -> list[str]:
    """The valid name `name` may be a misspelling of (for a bad setting only: difflib is not imported otherwise)."""
    import difflib

    return difflib.get_close_matches(name, valid, n=1, cutoff=0.6)

"""`check --show-settings`: the resolved configuration and where each value came from."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from review_patterns.core.config import Config, find_config_file, key_line
from review_patterns.core.rule_info import RuleInfo

#: Config fields that no key of `[tool.review-patterns]` sets.
_NOT_IN_FILE = frozenset({"ignore_noqa"})


def _shown(value: Any) -> str:
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_shown(v)}" for k, v in value.items()) + "}"
    if hasattr(value, "value"):  # an Enum
        return str(value.value)
    return repr(value) if isinstance(value, str) else str(value)


def describe(
    config: Config,
    start: Path,
    explicit: Path | None,
    overrides: Mapping[str, Any],
    *,
    rules: Sequence[RuleInfo],
) -> str:
    """One line per setting: `name = value  # origin`, the origin a command-line flag, a file and line,
    or the default."""
    path = explicit or find_config_file(start)
    lines = [f"# settings file: {path.as_posix() if path else 'none (defaults)'}"]
    for item in fields(Config):
        if item.name in ("options", "root"):
            continue
        value = getattr(config, item.name)
        key = None if item.name in _NOT_IN_FILE else item.name.replace("_", "-")
        if overrides.get(item.name) is not None:
            origin = f"command line (--{item.name.replace('_', '-')})"
        elif path is not None and key is not None and (line := key_line(path, key)) is not None:
            origin = f"{path.as_posix()}:{line}"
        else:
            origin = "default"
        lines.append(f"{(key or item.name.replace('_', '-'))} = {_shown(value)}  # {origin}")
    codes = {rule.code: rule for rule in rules if rule.code}
    for code, rule in codes.items():
        configured = config.options.get(code, {})
        for name, default in rule.options.items():
            value = configured.get(name, default)
            line = key_line(path, name, f"tool.review-patterns.{code.lower()}") if path and name in configured else None
            origin = f"{path.as_posix()}:{line}" if path and line else ("config" if name in configured else "default")
            lines.append(
                f"{code.lower()}.{name} = {_shown(tuple(value) if isinstance(value, frozenset) else value)}  # {origin}"
            )
    lines.append(f"root = {_shown(config.root) if config.root else 'none'}")
    return "\n".join(lines) + "\n"

"""What is known of a rule without importing it: enough to select, configure, grade and report it.

A `Rule` class is one `RuleInfo`; its `RuleEntry` in the generated `checks/rules.json` is another,
which imports the rule's module (and LibCST) only when a file is analysed with it (`load`), or its
documentation is read (`explain`, `rules`, SARIF). So a run whose files are all cached, or one file
that no rule's kinds and words fit, imports no rule.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from review_patterns.core.grading import DEFAULT_PENALTY
from review_patterns.core.model import Dimension, Severity
from review_patterns.syntax.files import FileKind, SourceFile

if TYPE_CHECKING:
    from review_patterns.core.rule import Rule


class RuleInfo(Protocol):
    """A rule as selection, configuration, grading and the writers see it (see `Rule` for each field)."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def severity(self) -> Severity: ...
    @property
    def dimension(self) -> Dimension: ...
    @property
    def penalty(self) -> int | None: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def bonuses(self) -> Mapping[str, int]: ...
    @property
    def fixes(self) -> str: ...
    @property
    def requires(self) -> tuple[str, ...]: ...
    @property
    def kinds(self) -> frozenset[FileKind]: ...
    @property
    def skip_kinds(self) -> frozenset[FileKind]: ...
    @property
    def reads(self) -> tuple[str, ...]: ...
    @property
    def doc(self) -> str: ...
    @property
    def import_path(self) -> str: ...
    def default_penalty(self) -> int: ...
    def option_error(self, options: Mapping[str, Any]) -> str | None: ...
    def applies_to(self, file: SourceFile) -> bool: ...
    def load(self) -> type[Rule]: ...


def applies(rule: RuleInfo, file: SourceFile) -> bool:
    """Whether `rule` can match in this file at all: its kinds, then the cheap text check."""
    kinds = file.kinds
    if kinds & rule.skip_kinds or (rule.kinds and not kinds & rule.kinds):
        return False
    return not rule.requires or any(word in file.source for word in rule.requires)


def penalty_of(rule: RuleInfo) -> int:
    """The rule's own penalty, or its severity's."""
    return DEFAULT_PENALTY[rule.severity] if rule.penalty is None else rule.penalty


@dataclass(frozen=True, eq=False)
class RuleEntry:
    """A rule as `checks/rules.json` lists it; `load()` imports its class."""

    import_path: str  #: "review_patterns.checks.orm.lost_update.LostUpdate"
    code: str
    name: str
    message: str
    severity: Severity
    dimension: Dimension
    penalty: int | None
    options: Mapping[str, Any]
    bonuses: Mapping[str, int]
    fixes: str
    requires: tuple[str, ...]
    kinds: frozenset[FileKind]
    skip_kinds: frozenset[FileKind]
    reads: tuple[str, ...]  #: the project context's parts it reads, built before the workers start

    @property
    def doc(self) -> str:
        """The rule's documentation, from its class: only `explain`, `rules` and SARIF read it, and
        leaving it out of `rules.json` spares that file a change with every edit of a docstring."""
        return self.load().doc

    def default_penalty(self) -> int:
        return penalty_of(self)

    def applies_to(self, file: SourceFile) -> bool:
        return applies(self, file)

    def option_error(self, options: Mapping[str, Any]) -> str | None:
        return self.load().option_error(options)

    def load(self) -> type[Rule]:
        return _load(self.import_path)

    def __reduce__(self) -> tuple[Any, ...]:
        """A worker process, which analyses files, is sent the class by reference, not the entry's text."""
        return _load, (self.import_path,)


def _load(import_path: str) -> type[Rule]:
    module, _, name = import_path.rpartition(".")
    rule: type[Rule] = getattr(importlib.import_module(module), name)
    return rule


def describe(rules: Sequence[RuleInfo]) -> str:
    """The JSON of `checks/rules.json` for `rules` (their classes)."""
    entries = [
        {
            "import_path": rule.import_path,
            "code": rule.code,
            "name": rule.name,
            "message": rule.message,
            "severity": rule.severity.value,
            "dimension": rule.dimension.value,
            "penalty": rule.penalty,
            "options": {name: _plain(value) for name, value in rule.options.items()},
            "bonuses": dict(rule.bonuses),
            "fixes": rule.fixes,
            "requires": list(rule.requires),
            "kinds": sorted(kind.value for kind in rule.kinds),
            "skip_kinds": sorted(kind.value for kind in rule.skip_kinds),
            "reads": list(rule.reads),
        }
        for rule in rules
    ]
    return json.dumps(entries, indent=1, ensure_ascii=False) + "\n"


def _plain(value: Any) -> Any:
    """An option's default as JSON holds it; `read_entries` turns lists back into tuples."""
    if isinstance(value, (tuple, list)):
        return list(value)
    if isinstance(value, (bool, int, str)):
        return value
    raise TypeError(f"an option's default must be a bool, int, str or tuple of str, not {value!r}")


def read_entries(path: Path) -> tuple[RuleEntry, ...]:
    """The entries of a file `describe` wrote (keys it no longer writes are passed over)."""
    known = {f.name for f in fields(RuleEntry)}
    return tuple(
        RuleEntry(
            **{
                **{key: value for key, value in entry.items() if key in known},
                "severity": Severity(entry["severity"]),
                "dimension": Dimension(entry["dimension"]),
                "options": {k: tuple(v) if isinstance(v, list) else v for k, v in entry["options"].items()},
                "requires": tuple(entry["requires"]),
                "kinds": frozenset(FileKind(kind) for kind in entry["kinds"]),
                "skip_kinds": frozenset(FileKind(kind) for kind in entry["skip_kinds"]),
                "reads": tuple(entry["reads"]),
            }
        )
        for entry in json.loads(path.read_bytes())
    )

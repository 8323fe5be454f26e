"""The base class of every check, and the examples each one carries."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import libcst as cst

from review_patterns.core.model import Dimension, FileChange, Severity
from review_patterns.core.rule_info import applies, penalty_of
from review_patterns.project.context import ProjectContext
from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.semantic import SemanticModel


@dataclass(frozen=True)
class Example:
    """A snippet of code a rule must flag (`Bad`) or leave alone (`Good`).

    In a `Bad` example, each line the rule must flag ends with a `# RPxxx` comment.
    `path` is where the snippet lives; `files` are other files of its project (models,
    earlier migrations) that the project context is built from.
    """

    code: str
    path: str = "app/views.py"
    files: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)  #: the rule's options for this example

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", textwrap.dedent(self.code).strip("\n") + "\n")
        object.__setattr__(self, "files", {p: textwrap.dedent(s).strip("\n") + "\n" for p, s in self.files.items()})


class Bad(Example):
    """Code the rule flags at each line marked `# RPxxx`."""


class Good(Example):
    """Code the rule leaves alone."""


@dataclass(frozen=True)
class Rewrite:
    """A fix a rule offers with a finding, in nodes; the engine turns it into text edits.

    `replace` swaps nodes of the checked module for new ones. `imports` are import statements
    (`from django.utils import timezone`) added after the module's imports unless the name is
    already imported from there; `constants` are module-level assignments (`HTTP_TIMEOUT = 10`)
    added after the imports unless the module already binds that name. `after` adds a statement
    (`review.refresh_from_db(fields=["upvotes"])`) on its own line after the statement that holds
    the node, at its indentation; the fix is not offered when that statement is a `return`,
    `raise` or a compound statement's header. A rewrite that would rebind a name the module uses
    for something else is not offered.
    """

    safe: bool
    replace: tuple[tuple[cst.CSTNode, cst.CSTNode], ...] = ()
    after: tuple[tuple[cst.CSTNode, str], ...] = ()
    imports: tuple[str, ...] = ()
    constants: tuple[str, ...] = ()
    files: tuple[FileChange, ...] = ()  #: other files the fix writes (new migrations)
    description: str = ""


@dataclass(frozen=True)
class Report:
    """What a rule reported during the traversal, before positions are known."""

    node: cst.CSTNode
    message: str
    bonus: str | None = None  #: the bonus's name, for an award
    points: int = 0
    rewrite: Rewrite | None = None  #: the fix offered, if any


_CODE = re.compile(r"^RP\d{3}$")


class Rule(cst.BatchableCSTVisitor):
    """A check over one file. Subclasses set the class attributes and visit nodes.

    The docstring is the rule's documentation, in the sections
    `## What it does`, `## Why is this bad?` and optionally `## Known problems`, `## Options`.

    Where a rule runs is declared, not coded: `kinds` (when set, only files of one of these
    kinds) and `skip_kinds` (never files of any of these), e.g.
    `skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE})` for a rule about production
    code. `syntax.files` decides a file's kinds from its path; `applies_to` applies both.
    """

    code: ClassVar[str]  #: permanent, "RP101"; a retired code is never reused
    name: ClassVar[str]  #: kebab-case, names the bad pattern
    message: ClassVar[str]  #: a `str.format` template filled by `report(node, **values)`
    severity: ClassVar[Severity]
    dimension: ClassVar[Dimension]
    penalty: ClassVar[int | None] = None  #: default by severity
    examples: ClassVar[tuple[Example, ...]] = ()
    options: ClassVar[Mapping[str, Any]] = {}  #: option name -> default; config keys are these names
    #: Bonuses this rule may award: name -> points. They count in the rule's dimension.
    bonuses: ClassVar[Mapping[str, int]] = {}
    #: What the rule's fix does, starting "Safe:" or "Unsafe:" (ruff's fix safety); "" when it offers none.
    fixes: ClassVar[str] = ""
    #: The rule is skipped for a file whose text contains none of these (a cheap pre-check).
    requires: ClassVar[tuple[str, ...]] = ()
    #: The parts of the project context the rule asks for (`ProjectContext.models`, ...): a run over
    #: several processes builds them once, before it starts them (`runner.prepare_workers`).
    reads: ClassVar[tuple[str, ...]] = ()
    #: Only files of one of these kinds are checked (empty: every file).
    kinds: ClassVar[frozenset[FileKind]] = frozenset()
    #: Files of any of these kinds are never checked (tests, fixtures, migrations...).
    skip_kinds: ClassVar[frozenset[FileKind]] = frozenset()
    #: Set for each subclass: its docstring, dedented, and where it is imported from.
    doc: ClassVar[str] = ""
    import_path: ClassVar[str] = ""

    def __init__(
        self,
        file: SourceFile,
        context: ProjectContext,
        options: Mapping[str, Any] | None = None,
        semantic: SemanticModel | None = None,
    ) -> None:
        super().__init__()
        self.file = file
        self.context = context
        #: What names are bound to at the current node; the engine runs it ahead of the rules.
        self.semantic = semantic if semantic is not None else SemanticModel(file)
        self.settings: Mapping[str, Any] = {**self.options, **(options or {})}
        self.reports: list[Report] = []
        #: False when `setup` finds, from the file's path and text, the options and the project, that
        #: the rule has nothing to check here: the rule is dropped (a file no rule keeps is not parsed).
        self.active = True
        self.setup()

    def setup(self) -> None:
        """Prepares the per-file state before the traversal; `self.file`, `self.settings` and the
        context are set. A rule overrides this, never `__init__`; below a base class other than
        `Rule`, it calls `super().setup()` first (a test checks it does)."""

    @classmethod
    def visitor_names(cls) -> tuple[str, ...]:
        """The `visit_*`/`leave_*` methods, found once per class (LibCST's `inspect` lookup per
        instance cost a fifth of the run)."""
        names: tuple[str, ...] | None = cls.__dict__.get("_visitor_names")
        if names is None:
            names = tuple(
                name
                for name in dir(cls)
                if name.startswith(("visit_", "leave_"))
                and callable(method := getattr(cls, name, None))
                and not getattr(method, "_is_no_op", False)  # LibCST's empty stubs
            )
            type.__setattr__(cls, "_visitor_names", names)
        return names

    def get_visitors(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.visitor_names()}

    @classmethod
    def default_penalty(cls) -> int:
        return penalty_of(cls)

    @classmethod
    def option_error(cls, options: Mapping[str, Any]) -> str | None:
        """Why configured option values cannot be used, beyond their type; None when they can."""
        return None

    @classmethod
    def applies_to(cls, file: SourceFile) -> bool:
        """Whether the rule can match in this file at all: its kinds, then the cheap text check."""
        return applies(cls, file)

    @classmethod
    def load(cls) -> type[Rule]:
        """The class itself (a `RuleEntry` imports it)."""
        return cls

    def report(self, node: cst.CSTNode, rewrite: Rewrite | None = None, /, **values: Any) -> None:
        """Flags `node` with the rule's message, formatted with `values`, offering `rewrite` as its fix."""
        self.reports.append(Report(node, self.message.format(**values), rewrite=rewrite))

    def award(self, node: cst.CSTNode, bonus: str, message: str) -> None:
        """Awards one of the rule's `bonuses` at `node`."""
        self.reports.append(Report(node, message, bonus=bonus, points=self.bonuses[bonus]))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("code") and not _CODE.match(cls.code):
            raise ValueError(f"{cls.__name__}: code {cls.code!r} must look like RP101")
        cls.doc = inspect.cleandoc(cls.__doc__ or "")
        cls.import_path = f"{cls.__module__}.{cls.__qualname__}"


class BonusCheck(Rule):
    """A check that only awards bonuses. It has no code: its `name` is the bonus's name."""

    code = ""
    message = ""
    severity = Severity.SUGGESTION

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__ and cls.name not in cls.bonuses:
            raise ValueError(f"{cls.__name__}: `bonuses` must name {cls.name!r}")

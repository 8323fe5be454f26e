"""The flake8 plugin: `flake8 --select RP` runs every rule through the engine, file by file.

flake8 only calls a plugin once per file when it asks for `tree`; this one takes it and ignores
it, since the engine parses the lines itself with LibCST. The project context and the settings
are built once per worker process for each project root, not once per file.

RP is off by default (`extend_default_ignore`): installing the package changes no plain `flake8`
run. Until RP is selected the plugin neither imports the engine nor reads a file.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from review_patterns.core.version import __version__

if TYPE_CHECKING:
    from review_patterns.core.config import Config, ConfigError
    from review_patterns.core.rule_info import RuleInfo
    from review_patterns.project.context import ProjectContext

OPTION = "--rp-options"
#: code -> ((option, value), ...), hashable for the cache
RuleOptions = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]


def parse_rule_options(text: str) -> RuleOptions:
    """Rule options written as TOML lines, `RP206.rolling-deploys = true`, validated like the config file."""
    from review_patterns.checks import RULES
    from review_patterns.core.config import ConfigError, parse_config

    try:
        table = tomllib.loads(text or "")
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{OPTION}: expected lines of CODE.option = value: {error}") from None
    bad = [key for key, value in table.items() if not isinstance(value, dict)]
    if bad:
        raise ConfigError(f"{OPTION}: expected CODE.option = value, not {', '.join(bad)}")
    config = parse_config(table, source=OPTION, rules=RULES)
    return tuple(sorted((code, tuple(sorted(values.items()))) for code, values in config.options.items()))


_CONTEXTS: dict[tuple[Any, ...], ProjectContext] = {}


def context_for(root: Path, config: Config) -> ProjectContext:
    """The project context of `root` under the settings that shape it (see `configured_context`),
    built once per process."""
    from review_patterns.core.runner import configured_context

    key = (root, config.django_version, config.release_tags, config.python_path, config.max_file_size)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = configured_context(root, config)
    return _CONTEXTS[key]


@cache
def config_for(folder: Path, rule_options: RuleOptions) -> Config:
    """`[tool.review-patterns]` for files in `folder`, with flake8's rule options on top.

    flake8 handles `# noqa` itself (so that `--disable-noqa` works), hence `ignore_noqa`.
    """
    from review_patterns.checks import RULES
    from review_patterns.core.config import load_config
    from review_patterns.core.runner import with_overrides

    config = load_config(folder, rules=RULES)
    options = {code: dict(values) for code, values in config.options.items()}
    for code, values in rule_options:
        options[code] = {**options.get(code, {}), **dict(values)}
    return with_overrides(config, options=options, ignore_noqa=True)


def _config_error(error: ConfigError) -> str:
    return f"review-patterns: configuration error: {error}"


def _stop(error: ConfigError) -> Exception:
    """The exception flake8 reports as a one-line critical error. Raised only before any file is
    checked: raised in a worker, it makes flake8 terminate its pool, which can hang."""
    from flake8.exceptions import ExecutionError  # type: ignore[import-untyped,unused-ignore]

    stop: Exception = ExecutionError(_config_error(error))
    return stop


class Plugin:
    """The flake8 entry point `RP`."""

    name = "review-patterns"
    version = __version__
    rule_options: RuleOptions = ()
    #: The rules flake8's selection keeps (set by `parse_options`); None: every registered rule.
    rules: tuple[RuleInfo, ...] | None = None

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @staticmethod
    def add_options(manager: Any) -> None:
        manager.extend_default_ignore(["RP"])  # opt-in: `--select RP` or `--extend-select RP`
        manager.add_option(
            OPTION,
            parse_from_config=True,
            default="",
            metavar="OPTIONS",
            help="review-patterns rule options as TOML lines, e.g. `RP206.rolling-deploys = true`; they override "
            "[tool.review-patterns.rpNNN] in pyproject.toml.",
        )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        from flake8.style_guide import Decision, DecisionEngine  # type: ignore[import-untyped,unused-ignore]

        decide = DecisionEngine(options)
        # Every possible code, asked without importing the rules: a plain run selects none of them.
        chosen = {code for n in range(1000) if decide.decision_for(code := f"RP{n:03d}") == Decision.Selected}
        if not chosen:
            cls.rules = ()
            return
        # RP001 and RP002 say a file was not checked: they come with any RP rule, as in the CLI.
        options.extend_select = [*(options.extend_select or []), "RP001", "RP002"]
        from review_patterns.checks import RULES
        from review_patterns.core.config import ConfigError, load_config

        cls.rules = tuple(rule for rule in RULES if rule.code in chosen)
        try:
            cls.rule_options = parse_rule_options(options.rp_options)
            load_config(Path.cwd(), rules=RULES)  # a broken pyproject.toml is reported once, before any file
        except ConfigError as error:
            raise _stop(error) from None

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        if self.rules == ():
            return
        from review_patterns.checks import RULES
        from review_patterns.core import engine, runner
        from review_patterns.core.config import ConfigError
        from review_patterns.core.parse_error import ParseError
        from review_patterns.project.context import find_project_root
        from review_patterns.syntax.files import too_large

        path = Path(self.filename).resolve()
        try:
            config = config_for(path.parent, self.rule_options)
        except ConfigError as error:  # a sub-folder's pyproject.toml: its files are not checked
            yield 1, 0, f"{ParseError.code} {_config_error(error)}", type(self)
            return
        source = "".join(self.lines)
        size = len(source.encode("utf-8", "surrogateescape"))
        if size > config.max_file_size:  # flake8 read it; the engine would take minutes and gigabytes
            yield 1, 0, f"{ParseError.code} {too_large(size, config.max_file_size)}", type(self)
            return
        context = context_for(find_project_root(path), config)
        try:
            with runner.time_budget():  # flake8 runs plugins in its processes' main threads
                result = engine.lint(
                    source,
                    runner.display_path(path, Path.cwd()),
                    context,
                    config,
                    rules=RULES if self.rules is None else self.rules,
                    project_path=engine.project_relative(path, context),
                )
        except runner.OverBudget:
            _CONTEXTS.clear()  # the alarm may have cut a context's construction short
            yield 1, 0, f"{ParseError.code} {runner.over_budget()}", type(self)
            return
        for f in result.findings:
            yield f.line, f.column - 1, f"{f.code} {f.message}", type(self)

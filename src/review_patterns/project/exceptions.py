"""The project's exception classes, read statically: which ones reach clients, which ones are its own.

RP302 asks two questions of an exception class: is it rendered to clients (DRF's `APIException`
family, Django's `ValidationError` and `PermissionDenied`, `GraphQLError`, or a project class
deriving from one), and is it the project's own (its text written by the project, for the user)?
Project modules are parsed with `ast` (function bodies pruned), never imported. Built once per run
by `ProjectContext.exceptions`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable

from review_patterns.project.models import Module
from review_patterns.project.settings import SETTINGS_PATH
from review_patterns.syntax.files import module_name
from review_patterns.syntax.parsing import UNREADABLE, parse_python

#: Exception classes whose message a client sees (qualified as imported).
RENDERED = frozenset(
    {
        *(
            f"rest_framework.exceptions.{name}"
            for name in (
                "APIException",
                "ValidationError",
                "ParseError",
                "AuthenticationFailed",
                "NotAuthenticated",
                "PermissionDenied",
                "NotFound",
                "MethodNotAllowed",
                "NotAcceptable",
                "UnsupportedMediaType",
                "Throttled",
            )
        ),
        "rest_framework.serializers.ValidationError",
        "django.core.exceptions.ValidationError",
        "django.forms.ValidationError",
        "django.core.exceptions.PermissionDenied",
        "graphql.GraphQLError",
        "graphql.error.GraphQLError",
        "graphql.error.graphql_error.GraphQLError",
        "ninja.errors.HttpError",
    }
)
_GRAPHQL = frozenset(n for n in RENDERED if n.startswith("graphql."))
_DRF = "rest_framework."
_MAX_DEPTH = 12
_MENTIONS_EXCEPTION = re.compile(r"^[ \t]*class[ \t]+\w+[ \t]*\(", re.MULTILINE)
_DRF_HANDLER = re.compile(r"""["']EXCEPTION_HANDLER["']\s*:\s*["']([\w.]+)["']""")
#: A GraphQL error formatter: graphene's `format_error` override, ariadne's `error_formatter=`,
#: strawberry's `process_errors`.
_GRAPHQL_FORMATTER = re.compile(
    r"^[ \t]*def[ \t]+format_error[ \t]*\(((self|cls)[ \t]*,[ \t]*)?\w+[ \t]*(:[^,)]*)?,?[ \t]*\)"
    r"|^[ \t]*def[ \t]+process_errors[ \t]*\([ \t]*self\b|\berror_formatter[ \t]*=",
    re.MULTILINE,
)
_DEBUG = re.compile(r"DEBUG\b(?<=\bDEBUG)")  # `\bDEBUG\b`, the word found first


def _formats_graphql_errors(text: str) -> bool:
    """Whether a module holds a GraphQL error formatter (`_GRAPHQL_FORMATTER`): its words looked for first,
    since the pattern, tried at every line, costs as much as a parse on a large project."""
    return (
        "format_error" in text or "process_errors" in text or "error_formatter" in text
    ) and _GRAPHQL_FORMATTER.search(text) is not None


def _may_define_exceptions(path: str, text: str) -> bool:
    """Whether the index parses this module: it may define (or, a package, re-export) an exception class."""
    return ("Error" in text or "Exception" in text or "Denied" in text) and (
        path.endswith("__init__.py") or _MENTIONS_EXCEPTION.search(text) is not None  # packages re-export
    )


def may_change_index(path: str, text: str, handler_paths: frozenset[str]) -> bool:
    """Whether a project file with this path and text may change an index whose DRF exception handler
    was read from `handler_paths`: a settings module, a GraphQL error formatter, a module that may
    define exception classes, or the handler's. Kept beside `ExceptionIndex.__init__`, whose choices it covers."""
    return (
        path in handler_paths
        or SETTINGS_PATH.search(path) is not None
        or _formats_graphql_errors(text)
        or _may_define_exceptions(path, text)
    )


class ExceptionIndex:
    """Every class the project defines at module level or inside such a class (`Quota.QuotaExceeded`),
    with its bases, by qualified name."""

    def __init__(self, sources: Iterable[tuple[str, str]], read: Callable[[str], str | None]) -> None:
        self.bases: dict[str, tuple[str, ...]] = {}
        self._modules_of: dict[str, str] = {}  #: class -> the module defining it
        self._by_name: dict[str, list[str]] = {}
        self._reexports: dict[str, list[tuple[str, str]]] = {}  #: local name -> (module.local, target)
        self._paths: dict[str, str] = {}  #: module name -> path
        self._read_path = read
        self._found: dict[str, str | None] = {}
        self._modules: dict[str, bool] = {}
        self.settings: list[str] = []  #: settings modules' text
        self.formatter_paths: list[str] = []  #: the modules that format GraphQL errors before they leave
        self.handler_paths: list[str] = []  #: the modules read for the DRF exception handler
        for path, text in sources:
            self._paths[module_name(path)] = path
            if SETTINGS_PATH.search(path):
                self.settings.append(text)
            if _formats_graphql_errors(text):
                self.formatter_paths.append(path)
            if _may_define_exceptions(path, text):
                self._read(path, text)
        #: The project's DRF `EXCEPTION_HANDLER` replaces messages outside DEBUG (it reads `settings.DEBUG`).
        self.drf_handler_cleans = self._drf_handler_cleans()

    def _read(self, path: str, text: str) -> None:
        module = Module.parse(module_name(path), path, text)
        if module is None:
            return
        todo = [(f"{module.name}.{name}", node) for name, node in module.classes.items() if node is not None]
        while todo:
            qualified, node = todo.pop()
            self.bases[qualified] = tuple(q for q in map(module.qualify, node.bases) if q is not None)
            self._by_name.setdefault(node.name, []).append(qualified)
            self._modules_of[qualified] = module.name
            todo.extend((f"{qualified}.{n.name}", n) for n in node.body if isinstance(n, ast.ClassDef))
        for local, target in module.imports.aliases.items():
            self._reexports.setdefault(local, []).append((f"{module.name}.{local}", target))

    def holds(self, path: str, text: str) -> bool:
        """Whether the index, built before this project file changed to `text`, still says the same:
        the module's classes, bases and re-exports are unchanged, and it is neither a settings module,
        the DRF handler's module, nor a GraphQL formatter's, before or after (those are read again)."""
        if path in self.handler_paths or path in self.formatter_paths or SETTINGS_PATH.search(path):
            return False
        if _formats_graphql_errors(text):
            return False
        name = module_name(path)
        now = ExceptionIndex([(path, text)], lambda _: None)
        return now._own(name) == self._own(name)

    def _own(self, module: str) -> tuple[object, ...]:
        """What the index holds from one module: its classes' bases and its re-exports."""
        bases = {q: b for q, b in self.bases.items() if self._modules_of[q] == module}
        reexports = {
            (local, alias, target)
            for local, entries in self._reexports.items()
            for alias, target in entries
            if alias.rpartition(".")[0] == module
        }
        return bases, reexports

    def find(self, qualified: str) -> str | None:
        """The project class a qualified name stands for (by module suffix, through re-exports)."""
        if qualified not in self._found:
            self._found[qualified] = None  # guards against import cycles
            self._found[qualified] = self._find(qualified, 0)
        return self._found[qualified]

    def _find(self, qualified: str, depth: int) -> str | None:
        if qualified in self.bases:
            return qualified
        last = qualified.rpartition(".")[2]
        matches = [q for q in self._by_name.get(last, ()) if q.endswith("." + qualified)]
        if len(matches) == 1:
            return matches[0]
        if depth < _MAX_DEPTH:
            for alias, target in self._reexports.get(last, ()):
                if (alias == qualified or alias.endswith("." + qualified)) and target != qualified:
                    return self._find(target, depth + 1)
            owner = qualified.rpartition(".")[0]
            if owner and last in self._by_name:  # nested in a class: `models.Quota.QuotaExceeded`
                return self._nested(owner, last, depth)
        return None

    def _nested(self, owner: str, last: str, depth: int) -> str | None:
        """The class `last` nested in the class `owner`: found through `owner`, or the one class of
        that name nested in a class named like `owner` in `owner`'s package (re-exported by it)."""
        outer = self._find(owner, depth + 1)
        if outer is not None:
            return f"{outer}.{last}" if f"{outer}.{last}" in self.bases else None
        package, _, outer_name = owner.rpartition(".")
        matches = [
            q
            for q in self._by_name[last]
            if q.rpartition(".")[0].rpartition(".")[2] == outer_name and q.startswith(package + ".")
        ]
        return matches[0] if len(matches) == 1 else None

    def facts(self) -> tuple[object, ...]:
        """Everything the index answers from, as plain data (the result cache digests it)."""
        return (self.bases, self._reexports, sorted(self._paths), self.graphql_formatter, self.drf_handler_cleans)

    @property
    def graphql_formatter(self) -> bool:
        """Whether the project formats GraphQL errors before they leave."""
        return bool(self.formatter_paths)

    def is_project_module(self, name: str) -> bool:
        """Whether a dotted module name (or its tail, for `src/` layouts) is one of the project's."""
        if name not in self._modules:
            self._modules[name] = bool(name) and (
                name in self._paths or any(m.endswith("." + name) for m in self._paths)
            )
        return self._modules[name]

    def is_project_class(self, qualified: str) -> bool:
        """Whether the project itself defines this class."""
        return self.find(qualified) is not None

    def ancestors(self, qualified: str) -> set[str]:
        """The class and every base it derives from, as far as they can be read."""
        seen: set[str] = set()
        todo = [qualified]
        while todo and len(seen) < 64:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            found = self.find(name)
            if found is not None:
                seen.add(found)
                todo.extend(self.bases[found])
        return seen

    def rendered(self, qualified: str) -> bool:
        """Whether the class is one whose message the project renders to clients, and nothing cleans it."""
        roots = self.ancestors(qualified) & RENDERED
        if not roots:
            return False
        if roots <= _GRAPHQL and self.graphql_formatter:
            return False
        return not (all(r.startswith(_DRF) for r in roots) and self.drf_handler_cleans)

    def _drf_handler_cleans(self) -> bool:
        for text in self.settings:
            match = _DRF_HANDLER.search(text)
            if match is None or match.group(1).startswith(_DRF):
                continue
            module, _, function = match.group(1).rpartition(".")
            source = self._function_source(module, function)
            if source is not None and _DEBUG.search(source):
                return True
        return False

    def _function_source(self, module: str, function: str) -> str | None:
        names = [m for m in self._paths if m == module or m.endswith("." + module)]
        if len(names) == 1:
            self.handler_paths.append(self._paths[names[0]])
        text = self._read_path(self._paths[names[0]]) if len(names) == 1 else None
        if text is None:
            return None
        try:
            tree = parse_python(text)
        except UNREADABLE:
            return None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
                return ast.get_source_segment(text, node)
        return None

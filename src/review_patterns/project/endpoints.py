"""The project's endpoints and the paid calls they reach (RP601, RP602), read with `ast`, never imported.

An endpoint is a DRF view (an `APIView`/`ViewSet` subclass, an `@api_view` function) or a Django
view (a `View` subclass, a function of a views module taking `request`). It reaches a paid call when
one of its handlers makes one, directly or through the project's functions and methods in any module
(module functions, `self.` methods along the project's base classes, methods of module-level or local
instances, Celery tasks sent with `.delay()`). What is paid is what RP504 knows: calls through a
circuit breaker and calls to the clients that a quota-guarded function uses (once the project defines
a quota guard), the configured `paid-calls` and `paid-hosts`. Who gets in is read from the view's
`permission_classes`, the project's permission classes, the settings' defaults, the decorators and
mixins, and the URLconf's `login_required(...)` wrappers.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from review_patterns.project.api_settings import ApiSettings, read_api_settings
from review_patterns.project.http import (
    BREAKER,
    BREAKER_METHODS,
    HTTP_FUNCTIONS,
    NEW,
    PARAM,
    SESSION_METHODS,
    breaker_like,
    client_keys,
    looks_like_class,
    matches_any,
    on_host,
)
from review_patterns.project.instances import is_drf_view, is_view_class
from review_patterns.project.quota import ModuleReader, QuotaFacts, own_nodes
from review_patterns.syntax.ast_names import AstImportTable, ast_called_name, ast_dotted_name, top_level
from review_patterns.syntax.files import FileKind, SourceFile
from review_patterns.syntax.parsing import UNREADABLE, parse_python

if TYPE_CHECKING:
    from review_patterns.project.context import ProjectContext

#: Default names (globs) of rate-limit decorators: django-ratelimit's `@ratelimit`, and the like.
RATE_LIMITERS: tuple[str, ...] = ("ratelimit", "*rate_limit*", "*ratelimit*", "throttle*")
#: DRF permission classes that let anonymous users in.
_OPEN_PERMISSIONS = frozenset({"rest_framework.permissions.AllowAny", "rest_framework.permissions.BasePermission"})
#: DRF permission classes that let anonymous users make safe (`GET`, `HEAD`) requests.
_OPEN_TO_READS = frozenset(
    {
        "rest_framework.permissions.IsAuthenticatedOrReadOnly",
        "rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly",
    }
)
#: Handlers of DRF views that serve safe requests.
_READ_HANDLERS = frozenset({"get", "head", "list", "retrieve"})
_DRF_PERMISSIONS = "rest_framework.permissions."
_LOGIN_MIDDLEWARE = "django.contrib.auth.middleware.LoginRequiredMiddleware"
#: A decorator or mixin that requires a logged-in (or authorised) user, by its last name.
_REQUIRES_LOGIN = re.compile(
    r"\w*(?<!_not)_required$|^user_passes_test$|^\w*(Login|Permission|Staff|Superuser)\w*Mixin$"
)
#: Attributes whose reading, in `has_permission`, authenticates or authorises the caller.
_AUTH_READS = frozenset(
    {"is_authenticated", "is_anonymous", "is_staff", "is_superuser", "is_active", "has_perm", "has_perms", "auth"}
)
_HEADERS = frozenset({"META", "headers", "COOKIES"})  #: an API key read from the request
_RATE_WORDS = re.compile(r"throttl|rate_?limit|allow_request", re.IGNORECASE)
#: Names whose reading, in a view, checks a secret the caller holds (a signed link, an OAuth state).
_SECRET_WORDS = re.compile(r"secret|_token$|signature|compare_digest|constant_time_compare|unsign", re.IGNORECASE)
_TASK_SENDS = frozenset({"delay", "apply_async"})
_SAFE_SUPER = frozenset({"super"})
_MAX_DEPTH = 10

_Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class PaidOptions:
    """What a rule counts as paid and as a rate limit (its options)."""

    guards: tuple[str, ...]
    hosts: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    rate_limiters: tuple[str, ...] = RATE_LIMITERS

    def plain(self) -> list[list[str]]:
        """The options as JSON data (`of` reads them back)."""
        return [list(self.guards), list(self.hosts), list(self.calls), list(self.rate_limiters)]

    @classmethod
    def of(cls, plain: list[list[str]]) -> PaidOptions:
        return cls(*(tuple(values) for values in plain))


@dataclass(frozen=True)
class Endpoint:
    """A view that reaches a paid call, and who may call it."""

    paid: str  #: the paid call reached and where it is made: "`maps_breaker.call` in `geo.services.locate`"
    anonymous: str | None  #: why anonymous users get in; None when they do not, or it cannot be known
    unthrottled: str | None  #: why no rate limit applies; None when one does, or it cannot be known


@dataclass
class _Class:
    module: str
    node: ast.ClassDef
    reader: ModuleReader
    bases: tuple[str, ...]
    attributes: dict[str, ast.expr] = field(default_factory=dict)
    methods: dict[str, _Function] = field(default_factory=dict)


@dataclass
class _Callable:
    paid: str | None  #: the first paid call it makes itself
    callees: list[str]  #: qualified names of what it calls, resolved later
    #: each call as written (`self.client.label`, `Geocoder().locate`): its own paid label, or what it calls
    written: list[tuple[str, str | None, str | None]] = field(default_factory=list)


@dataclass
class _Where:
    """What a call inside a function is read against: its module, its class, the function's local
    names, the class's `self.` attributes and the module's string constants."""

    reader: ModuleReader
    class_name: str | None
    local: dict[str, str]
    attributes: dict[str, str]
    constants: dict[str, str]

    def kind(self, receiver: str) -> str | None:
        return self.reader.kind(receiver, self.local, self.attributes)


@lru_cache(maxsize=32)  # asked by several rules for every file, with the same names and options
def paid_known(function_names: frozenset[str], options: PaidOptions) -> bool:
    """Whether anything is known to be paid: the project defines a quota guard, or paid calls are configured.
    Rules ask this first (from the project's function names alone, cheap to fingerprint): when nothing
    is paid, no view reaches a paid call, whatever the rest of the project says."""
    return bool(options.hosts or options.calls) or any(matches_any(n, options.guards) for n in function_names)


class EndpointIndex:
    """Built once per run (`ProjectContext.endpoints`); `endpoints()` is memoized per options."""

    def __init__(self, context: ProjectContext) -> None:
        self.context = context
        self._memo: dict[PaidOptions, dict[str, dict[str, Endpoint]]] = {}
        self._graphs: dict[PaidOptions, _Graph | None] = {}

    @cached_property
    def settings(self) -> ApiSettings:
        return read_api_settings(self.context.sources())

    def endpoints(self, options: PaidOptions) -> dict[str, dict[str, Endpoint]]:
        """Module name -> top-level class or function name -> the endpoint, for endpoints reaching a paid call."""
        if options not in self._memo:
            graph = self._graph(options)
            self._memo[options] = graph.endpoints() if graph is not None else {}
        return self._memo[options]

    def module_endpoints(self, options: PaidOptions, module: str) -> dict[str, Endpoint]:
        """The endpoints of one module reaching a paid call: top-level class or function name -> the endpoint."""
        self.context.record("module_endpoints", [options.plain(), module])
        return self.endpoints(options).get(module, {})

    def paid_calls(self, options: PaidOptions, module: str, function: str) -> dict[str, str]:
        """The calls of a function of `module` (`module.Class.method`) that are paid or reach a paid call:
        as written (`self.client.label`) -> the paid call and where it is made (RP604)."""
        self.context.record("paid_calls", [options.plain(), module])
        return self._paid_calls(options, function)

    def module_pays(self, options: PaidOptions, module: str) -> bool:
        """Whether a function of `module` makes or reaches a paid call (RP604 has nothing to judge elsewhere)."""
        self.context.record("paid_calls", [options.plain(), module])
        return any(self.module_paid_calls(options, module).values())

    def module_paid_calls(self, options: PaidOptions, module: str) -> dict[str, dict[str, str]]:
        """`paid_calls` of every function of `module`, by qualified name."""
        graph = self._graph(options)
        functions = graph.by_module.get(module, []) if graph is not None else []
        return {function: self._paid_calls(options, function) for function in functions}

    def _paid_calls(self, options: PaidOptions, function: str) -> dict[str, str]:
        graph = self._graph(options)
        if graph is None or function not in graph.functions:
            return {}
        found: dict[str, str] = {}
        for text, paid, callee in graph.functions[function].written:
            if paid is not None:
                found.setdefault(text, f"`{paid}`")
            elif callee is not None and (target := graph.function(callee)) is not None and target != function:
                reached = graph.reach(target)
                if reached is not None:
                    found.setdefault(text, reached)
        return found

    def _graph(self, options: PaidOptions) -> _Graph | None:
        if options not in self._graphs:
            if not paid_known(self.context.function_names, options):
                self._graphs[options] = None  # nothing is known to be paid
            else:
                facts = self.context.quota_index.facts(options.guards)
                self._graphs[options] = _Graph(self._modules, self.settings, facts, options)
        return self._graphs[options]

    @property
    def unversioned_route(self) -> tuple[str, str] | None:
        """(path, route) of the project's first URLconf route under `api/` with no version segment, when
        DRF is installed, no `DEFAULT_VERSIONING_CLASS` is set and no `api/` route is versioned (RP603)."""
        self.context.record("unversioned_route", None)
        return self._unversioned_route

    @cached_property
    def _unversioned_route(self) -> tuple[str, str] | None:
        settings = self.settings
        versioning = settings.given("DEFAULT_VERSIONING_CLASS")
        if not settings.drf_installed or versioning is None or any(versioning):
            return None
        first: tuple[tuple[bool, str, int], str] | None = None
        for path, text in self.context.sources(_URLCONF):
            if "api" not in text or FileKind.TEST in SourceFile(path, text).kinds:
                continue
            try:
                tree = parse_python(text)
            except UNREADABLE:
                continue
            for node in ast.walk(tree):
                route = _api_route(node)
                if route is None:
                    continue
                if _VERSION.search(route) or (isinstance(node, ast.Call) and self._versioned_below(node)):
                    return None  # the API is versioned; unversioned routes are legacy ones kept for old clients
                # An `include()` (a whole API) before a single view; then the first in path order.
                rank = (not _includes(node), path, getattr(node, "lineno", 0))
                if first is None or rank < first[0]:
                    first = (rank, route)
        return (first[0][1], first[1]) if first is not None else None

    def _versioned_below(self, route: ast.Call, depth: int = 3) -> bool:
        """Whether `path("api/", include("shop.api.urls"))` includes a URLconf whose routes carry the
        version (`path("v1/", ...)`, a router's `register("v1/facility", ...)`), itself or through
        the URLconfs it includes (`depth` levels)."""
        included = route.args[1] if _includes(route) and len(route.args) > 1 else None
        target = included.args[0] if isinstance(included, ast.Call) and included.args else None
        if isinstance(target, ast.Tuple) and target.elts:
            target = target.elts[0]  # `include(("shop.api.urls", "api"))`
        if not (isinstance(target, ast.Constant) and isinstance(target.value, str)):
            return False
        stem = target.value.replace(".", "/")
        for path in self.context.paths:
            if not path.endswith((f"{stem}.py", f"{stem}/__init__.py")):
                continue
            text = self.context.read(path)
            try:
                tree = parse_python(text) if text is not None else None
            except UNREADABLE:
                continue
            for node in ast.walk(tree) if tree is not None else ():
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                called = (ast_dotted_name(node.func) or "").rpartition(".")[2]
                if called not in _ROUTE_FUNCTIONS and called != "register":
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str) and _VERSION.search(first.value):
                    return True
                if depth > 1 and called in _ROUTE_FUNCTIONS and self._versioned_below(node, depth - 1):
                    return True
        return False

    @cached_property
    def _modules(self) -> list[tuple[SourceFile, ast.Module]]:
        parsed = []
        for path, text in self.context.sources():
            file = SourceFile(path, text)
            if file.kinds & {FileKind.TEST, FileKind.FIXTURE, FileKind.MIGRATION}:
                continue
            try:
                parsed.append((file, parse_python(text)))
            except UNREADABLE:
                continue
        return parsed


class _Graph:
    """The project's functions and classes for one set of options: what each calls, and what is paid."""

    def __init__(
        self,
        modules: list[tuple[SourceFile, ast.Module]],
        settings: ApiSettings,
        facts: QuotaFacts,
        options: PaidOptions,
    ) -> None:
        self.settings = settings
        self.facts = facts
        self.options = options
        self.functions: dict[str, _Callable] = {}
        self.classes: dict[str, _Class] = {}
        self.instances: dict[str, str] = {}  #: module-level name -> what it is bound to (`new:...`)
        self.aliases: dict[str, str] = {}  #: `module.local` -> the imported qualified name
        self.views: list[tuple[str, str, _Function | _Class, ModuleReader]] = []  #: (module, name, node, reader)
        self.by_module: dict[str, list[str]] = {}  #: module -> the keys of `functions` read from it
        self.wrapped_login: set[str] = set()  #: names the URLconf wraps in `login_required(...)`
        self.wrapped_limit: set[str] = set()  #: names the URLconf wraps in a rate limiter
        self._by_last: dict[str, list[str]] = {}
        self._reach: dict[str, str | None] = {}
        for file, tree in modules:
            self._read_module(file, tree)
        for table in (self.functions, self.classes, self.instances):
            for key in table:
                self._by_last.setdefault(key.rpartition(".")[2], []).append(key)

    # -- reading --

    def _read_module(self, file: SourceFile, tree: ast.Module) -> None:
        module = file.module_name
        reader = ModuleReader(tree, file, self.options.guards)
        # A function's own `import stripe` (a lazy import) names the same module everywhere it is used.
        for local, target in AstImportTable.of_module(tree, file.package, everywhere=True).aliases.items():
            reader.imports.aliases.setdefault(local, target)
        constants = {
            t.id: s.value.value
            for s in top_level(tree.body)
            if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)
            for t in s.targets
            if isinstance(t, ast.Name)
        }
        for local, target in reader.imports.aliases.items():
            self.aliases[f"{module}.{local}"] = target
        for name, kind in reader.bindings.items():
            self.instances[f"{module}.{name}"] = kind
        is_views = re.search(r"(^|/|_)views?(\.py$|/)", file.path) is not None
        for stmt in top_level(tree.body):
            if isinstance(stmt, ast.ClassDef):
                self._read_class(module, stmt, reader, constants)
            elif isinstance(stmt, _Function):
                self.functions[f"{module}.{stmt.name}"] = self._read_function(stmt, None, reader, {}, constants)
                self.by_module.setdefault(module, []).append(f"{module}.{stmt.name}")
                args = stmt.args.posonlyargs + stmt.args.args
                if "api_view" in _decorator_names(stmt) or (is_views and args and args[0].arg == "request"):
                    self.views.append((module, stmt.name, stmt, reader))
        if file.path.endswith(("urls.py", "/urls/__init__.py")) or "/urls/" in file.path:
            self._read_urlconf(tree)

    def _read_class(self, module: str, node: ast.ClassDef, reader: ModuleReader, constants: dict[str, str]) -> None:
        key = f"{module}.{node.name}"
        bases = tuple(reader.imports.qualify(n) or f"{module}.{n}" for b in node.bases if (n := ast_dotted_name(b)))
        cls = _Class(module, node, reader, bases)
        attributes: dict[str, str] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        cls.attributes[target.id] = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                cls.attributes[stmt.target.id] = stmt.value
            elif isinstance(stmt, _Function):
                cls.methods[stmt.name] = stmt
                for inner in own_nodes(stmt):
                    if isinstance(inner, ast.Assign):
                        reader.bind(attributes, [t for t in inner.targets if _is_self_attribute(t)], inner.value)
        for name, stmt in cls.methods.items():
            self.functions[f"{key}.{name}"] = self._read_function(stmt, node.name, reader, attributes, constants)
            self.by_module.setdefault(module, []).append(f"{key}.{name}")
        self.classes[key] = cls
        self.views.append((module, node.name, cls, reader))

    def _read_function(
        self,
        node: _Function,
        class_name: str | None,
        reader: ModuleReader,
        attributes: dict[str, str],
        constants: dict[str, str],
    ) -> _Callable:
        local: dict[str, str] = {}
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            local[arg.arg] = PARAM
        own = list(own_nodes(node))
        for inner in own:
            if isinstance(inner, ast.Assign):
                reader.bind(local, inner.targets, inner.value)
            elif isinstance(inner, (ast.For, ast.AsyncFor, ast.comprehension)) and isinstance(inner.target, ast.Name):
                local[inner.target.id] = PARAM
        calls = sorted((n for n in own if isinstance(n, ast.Call)), key=lambda c: (c.lineno, c.col_offset))
        found = _Callable(None, [])
        where = _Where(reader, class_name, local, attributes, constants)
        for call in calls:
            paid = self._paid(call, where)
            callee = self._callee(call, where)
            if paid is None and callee is not None and matches_any(callee, self.options.calls):
                paid = ast_dotted_name(call.func) or callee  # a project function named in `paid-calls`
            found.paid = found.paid or paid
            if callee is not None:
                found.callees.append(callee)
            text = ast_called_name(call.func)
            if text is not None and (paid is not None or callee is not None):
                found.written.append((text, paid, callee))
        return found

    def _read_urlconf(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            # `login_required(view)`, and a decorator built by a call: `ratelimit(key="ip", rate="10/m")(view)`.
            func = node.func.func if isinstance(node.func, ast.Call) else node.func
            last = (ast_dotted_name(func) or "").rpartition(".")[2]
            login = _REQUIRES_LOGIN.match(last) is not None
            limit = matches_any(last, self.options.rate_limiters)
            if not (login or limit):
                continue
            wrapped = node.args[-1]
            if isinstance(wrapped, ast.Call) and isinstance(wrapped.func, ast.Attribute):
                wrapped = wrapped.func.value  # `View.as_view()`
            name = (ast_dotted_name(wrapped) or "").rpartition(".")[2]
            (self.wrapped_login if login else self.wrapped_limit).add(name)

    # -- one call --

    def _paid(self, call: ast.Call, where: _Where) -> str | None:
        """How to name `call` when it calls a paid API (as RP504 decides), else None."""
        func = call.func
        name = ast_dotted_name(func)
        qualified = where.reader.imports.qualify(name) if name is not None else None
        calls = self.options.calls
        if isinstance(func, ast.Attribute):
            receiver = ast_dotted_name(func.value)
            if isinstance(func.value, ast.Call):
                kind = where.reader.constructed(func.value)
            else:
                kind = where.kind(receiver) if receiver is not None else None
            label = f"{receiver or '(...)'}.{func.attr}"
            if func.attr in BREAKER_METHODS and (kind == BREAKER or (receiver is not None and breaker_like(receiver))):
                return label
            if receiver is not None and self.facts.clients:
                place = where.reader.place(receiver, where.class_name, where.local)
                if client_keys(receiver, place, kind) & self.facts.clients:
                    return label
            if calls and kind is not None and kind.startswith(NEW):
                ctor = kind[len(NEW) :]
                if looks_like_class(ctor) and matches_any(f"{ctor}.{func.attr}", calls):
                    return label
        if calls and qualified is not None and not looks_like_class(qualified) and matches_any(qualified, calls):
            return name
        if self.options.hosts:
            url = self._url(call, qualified, where)
            if url is not None and any(on_host(url, host) for host in self.options.hosts):
                return name or "request"
        return None

    def _url(self, call: ast.Call, qualified: str | None, where: _Where) -> str | None:
        """The URL of an HTTP request, when it is a literal or a module constant."""
        func = call.func
        method = func.attr if isinstance(func, ast.Attribute) else ""
        if qualified not in HTTP_FUNCTIONS:
            receiver = ast_dotted_name(func.value) if isinstance(func, ast.Attribute) else None
            kind = where.kind(receiver) if receiver is not None else None
            if kind not in SESSION_METHODS or method not in SESSION_METHODS[kind]:
                return None
        positional = [a for a in call.args if not isinstance(a, ast.Starred)]
        index = 1 if method == "request" or (qualified or "").endswith(".request") else 0
        value = next((k.value for k in call.keywords if k.arg == "url"), None)
        if value is None and len(positional) > index:
            value = positional[index]
        if isinstance(value, ast.Name):
            return where.constants.get(value.id)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            return value.value
        if isinstance(value, ast.JoinedStr):
            text = ""
            for part in value.values:
                if not isinstance(part, ast.Constant):
                    break
                text += str(part.value)
            return text
        return None

    def _callee(self, call: ast.Call, where: _Where) -> str | None:
        """The qualified name of the project function or method `call` may run, unresolved."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in _TASK_SENDS:
            func = func.value  # `fetch_image.delay(...)` runs `fetch_image` in a worker
        if isinstance(func, ast.Name):
            if func.id in where.local:
                return None
            return where.reader.imports.qualify(func.id) or f"{where.reader.module}.{func.id}"
        if not isinstance(func, ast.Attribute):
            return None
        method = func.attr
        value = func.value
        if isinstance(value, ast.Call):
            if isinstance(value.func, ast.Name) and value.func.id in _SAFE_SUPER:
                return None
            kind = where.reader.constructed(value)
            return f"{kind[len(NEW) :]}.{method}" if kind is not None and kind.startswith(NEW) else None
        receiver = ast_dotted_name(value)
        if receiver is None:
            return None
        if receiver in ("self", "cls"):
            return f"{where.reader.module}.{where.class_name}.{method}" if where.class_name is not None else None
        kind = where.kind(receiver)
        if kind is not None and kind.startswith(NEW):
            return f"{kind[len(NEW) :]}.{method}"
        head = receiver.partition(".")[0]
        if head in where.local or head in ("self", "cls"):
            return None
        return f"{where.reader.imports.qualify(receiver) or f'{where.reader.module}.{receiver}'}.{method}"

    # -- resolving names --

    def _canonical(self, name: str, table: Mapping[str, object], depth: int = 0) -> str | None:
        """The key of `table` that `name` stands for: itself, through a module's imports, or by suffix."""
        if name in table:
            return name
        if depth > _MAX_DEPTH:
            return None
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            target = self.aliases.get(".".join(parts[:i]))
            if target is not None and target != ".".join(parts[:i]):
                return self._canonical(".".join([target, *parts[i:]]), table, depth + 1)
        matches = [k for k in self._by_last.get(parts[-1], ()) if k in table and k.endswith("." + name)]
        return matches[0] if len(matches) == 1 else None

    def function(self, name: str, depth: int = 0) -> str | None:
        """The project function or method a qualified name stands for."""
        found = self._canonical(name, self.functions)
        if found is not None or depth > _MAX_DEPTH:
            return found
        owner, _, attribute = name.rpartition(".")
        if not owner:
            return None
        cls = self._canonical(owner, self.classes)
        if cls is not None:
            return next((f"{c}.{attribute}" for c in self._mro(cls) if f"{c}.{attribute}" in self.functions), None)
        instance = self._canonical(owner, self.instances)
        kind = self.instances.get(instance) if instance is not None else None
        if kind is not None and kind.startswith(NEW):
            return self.function(f"{kind[len(NEW) :]}.{attribute}", depth + 1)
        return None

    def _mro(self, key: str) -> list[str]:
        """The class and the project classes it derives from, depth first (an approximation of the MRO)."""
        order: list[str] = []
        todo = [key]
        while todo and len(order) < 32:
            name = todo.pop(0)
            if name in order:
                continue
            order.append(name)
            bases = [self._canonical(b, self.classes) for b in self.classes[name].bases]
            todo[:0] = [b for b in bases if b is not None]
        return order

    def _ancestors(self, key: str) -> set[str]:
        """The class's project ancestors and every base named outside the project, qualified."""
        found = set()
        for name in self._mro(key):
            found.add(name)
            found.update(self.classes[name].bases)
        return found

    def _attribute(self, key: str, name: str) -> tuple[ast.expr, ModuleReader] | None:
        for cls in self._mro(key):
            if name in self.classes[cls].attributes:
                return self.classes[cls].attributes[name], self.classes[cls].reader
        return None

    def _method(self, key: str, name: str) -> _Function | None:
        return next((self.classes[c].methods[name] for c in self._mro(key) if name in self.classes[c].methods), None)

    # -- reaching paid calls --

    def reach(self, key: str, active: set[str] | None = None) -> str | None:
        """The paid call a function makes or reaches through the project's functions, else None."""
        if key in self._reach:
            return self._reach[key]
        active = set() if active is None else active
        if key in active or len(active) > 64:
            return None
        active.add(key)
        function = self.functions[key]
        found = f"`{function.paid}` in `{key}`" if function.paid is not None else None
        for callee in function.callees if found is None else ():
            target = self.function(callee)
            if target is not None and target != key:
                found = self.reach(target, active)
                if found is not None:
                    break
        active.discard(key)
        if found is not None or not active:  # a miss inside a cycle may be premature: not kept
            self._reach[key] = found
        return found

    # -- endpoints --

    def endpoints(self) -> dict[str, dict[str, Endpoint]]:
        found: dict[str, dict[str, Endpoint]] = {}
        for module, name, node, reader in self.views:
            key = f"{module}.{name}"
            if isinstance(node, _Class):
                endpoint = self._class_endpoint(key, node)
            else:
                endpoint = self._function_endpoint(key, name, node, reader)
            if endpoint is not None:
                found.setdefault(module, {})[name] = endpoint
        return found

    def _class_endpoint(self, key: str, cls: _Class) -> Endpoint | None:
        ancestors = self._ancestors(key)
        drf = any(is_drf_view(a) for a in ancestors)
        if not drf and not any(is_view_class(a) for a in ancestors):
            return None
        paid = next((p for m in cls.methods if (p := self.reach(f"{key}.{m}")) is not None), None)
        if paid is None:
            return None
        decorators = {n for c in self._mro(key) for n in _decorator_names(self.classes[c].node)}
        decorators |= {n for m in ("dispatch", "initial") if (f := self._method(key, m)) for n in _decorator_names(f)}
        name = cls.node.name
        if self._login_everywhere(decorators) or name in self.wrapped_login:
            anonymous = None
        elif drf:
            reads = any(m in _READ_HANDLERS and self.reach(f"{key}.{m}") is not None for m in cls.methods)
            anonymous = self._drf_class_access(key, reads)
        elif any(_REQUIRES_LOGIN.match(n) for n in decorators | {a.rpartition(".")[2] for a in ancestors}):
            anonymous = None
        else:
            dispatch = self._method(key, "dispatch")
            checks = dispatch is not None and _checks_caller(dispatch)
            anonymous = None if checks else "no `LoginRequiredMixin` nor `login_required`"
        if self._limited(decorators) or name in self.wrapped_limit:
            unthrottled = None
        elif drf:
            unthrottled = self._drf_class_throttle(key)
        else:
            unthrottled = f"no rate-limit decorator (`@{self.options.rate_limiters[0]}`)"
        return Endpoint(paid, anonymous, unthrottled)

    def _function_endpoint(self, key: str, name: str, node: _Function, reader: ModuleReader) -> Endpoint | None:
        paid = self.reach(key)
        if paid is None:
            return None
        decorators = _decorator_names(node)
        drf = "api_view" in decorators
        if self._login_everywhere(decorators) or name in self.wrapped_login:
            anonymous = None
        elif any(_REQUIRES_LOGIN.match(n) for n in decorators):
            anonymous = None
        elif drf:
            listed = _decorator_argument(node, "permission_classes")
            reads = "GET" in _http_methods(node)
            if listed is not None:
                anonymous = self._permission_list(listed, reader, reads)
            else:
                anonymous = self._default_permissions(reads)
        elif _identifies_caller(node):
            anonymous = None
        else:
            anonymous = "no `login_required`"
        if self._limited(decorators) or name in self.wrapped_limit or _oauth_callback(node):
            unthrottled = None
        elif drf:
            listed = _decorator_argument(node, "throttle_classes")
            if listed is not None:
                unthrottled = "`throttle_classes` is empty" if _empty(listed) else None
            else:
                unthrottled = self._default_throttle()
        else:
            unthrottled = f"no rate-limit decorator (`@{self.options.rate_limiters[0]}`)"
        return Endpoint(paid, anonymous, unthrottled)

    def _login_everywhere(self, decorators: set[str]) -> bool:
        """Django's `LoginRequiredMiddleware` guards every view but those marked `login_not_required`."""
        return _LOGIN_MIDDLEWARE in self.settings.middleware and "login_not_required" not in decorators

    def _limited(self, decorators: set[str]) -> bool:
        """A rate-limit decorator, or a middleware that limits every request."""
        if any(matches_any(n, self.options.rate_limiters) for n in decorators):
            return True
        return any(_RATE_WORDS.search(m) for m in self.settings.middleware)

    # -- DRF permissions and throttles --

    def _drf_class_access(self, key: str, reads: bool) -> str | None:
        """Why anonymous users get in; `reads`: a read handler (`get`, `list`) reaches the paid call."""
        if self._method(key, "get_permissions") is not None:
            return None  # decided at run time
        given = self._attribute(key, "permission_classes")
        if given is None:
            return self._default_permissions(reads)
        return self._permission_list(*given, reads)

    def _default_permissions(self, reads: bool) -> str | None:
        defaults = self.settings.given("DEFAULT_PERMISSION_CLASSES")
        if defaults is None:
            return None
        if not defaults:
            return "no `permission_classes`, and `REST_FRAMEWORK` sets no `DEFAULT_PERMISSION_CLASSES` (DRF lets anyone in)"
        reasons = []
        for listed in defaults:
            names = [self._permission_class(n, None, reads) for n in listed]
            if names and not all(names):
                return None  # one settings module's defaults protect
            reasons.append(next((n for n in names if n), "an empty list"))
        return f"no `permission_classes`, and the default permission classes let anyone in ({reasons[0]})"

    def _permission_list(self, value: ast.expr, reader: ModuleReader, reads: bool) -> str | None:
        """Why a `permission_classes` value lets anonymous users in, else None."""
        if _empty(value):
            return "`permission_classes` is empty"
        reason = self._permission_expression(value, reader, reads)
        return f"`permission_classes` lets anyone in ({reason})" if reason is not None else None

    def _permission_expression(self, value: ast.expr, reader: ModuleReader, reads: bool) -> str | None:
        if isinstance(value, (ast.List, ast.Tuple)):
            reasons = [self._permission_expression(e, reader, reads) for e in value.elts]
            return reasons[0] if reasons and all(reasons) else None  # all of them must pass
        if isinstance(value, ast.BinOp) and isinstance(value.op, (ast.BitOr, ast.BitAnd)):
            left = self._permission_expression(value.left, reader, reads)
            right = self._permission_expression(value.right, reader, reads)
            if isinstance(value.op, ast.BitOr):
                return left or right
            return left if left and right else None
        name = ast_dotted_name(value)
        if name is None:
            return None
        return self._permission_class(reader.imports.qualify(name) or f"{reader.module}.{name}", name, reads)

    def _permission_class(self, qualified: str, written: str | None, reads: bool) -> str | None:
        """Why a permission class lets anonymous users in (`AllowAny`, a project class checking
        neither the user nor a rate, `...OrReadOnly` when a read reaches the paid call), else None
        (it protects, or it cannot be read)."""
        shown = f"`{written or qualified.rpartition('.')[2]}`"
        if qualified in _OPEN_PERMISSIONS:
            return shown
        if qualified in _OPEN_TO_READS and reads:
            return f"{shown}, which lets anonymous users read, and a read reaches the paid call"
        if qualified.startswith(_DRF_PERMISSIONS):
            return None
        key = self._canonical(qualified, self.classes)
        if key is None:
            return None  # a class of another package: assumed to protect
        for cls in self._mro(key):
            method = self.classes[cls].methods.get("has_permission")
            if method is not None:
                return None if _checks_caller(method) else f"{shown}, whose `has_permission` checks no user nor rate"
        bases = {b for c in self._mro(key) for b in self.classes[c].bases if self._canonical(b, self.classes) is None}
        if bases and bases <= _OPEN_PERMISSIONS:
            return f"{shown}, which does not override `has_permission`"
        return None

    def _drf_class_throttle(self, key: str) -> str | None:
        if self._method(key, "get_throttles") is not None:
            return None
        given = self._attribute(key, "throttle_classes")
        if given is not None:
            return "`throttle_classes` is empty" if _empty(given[0]) else None
        if self._attribute(key, "throttle_scope") is not None and self.settings.given("DEFAULT_THROTTLE_RATES"):
            return None
        return self._default_throttle()

    def _default_throttle(self) -> str | None:
        classes = self.settings.given("DEFAULT_THROTTLE_CLASSES")
        rates = self.settings.given("DEFAULT_THROTTLE_RATES")
        if classes is None or rates is None or any(classes) or any(rates):
            return None
        return "no `throttle_classes`, and `REST_FRAMEWORK` sets no `DEFAULT_THROTTLE_CLASSES`"


_URLCONF = re.compile(r"(^|/)urls(\.py$|/)")
_ROUTE_FUNCTIONS = frozenset({"path", "re_path", "url"})
_API_PREFIX = re.compile(r"^\^?/?api/")
#: A version segment: `v1/`, `<version>`, `(?P<version>...)`, `v1.2`.
_VERSION = re.compile(r"(^|/|\^)v\d+(\.\d+)?(/|$)|<(\w+:)?version>|\(\?P<version>")


def _api_route(node: ast.AST) -> str | None:
    """The route string of `path("api/...", ...)`, `re_path(r"^api/...", ...)`, else None."""
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return None
    if (ast_dotted_name(node.func) or "").rpartition(".")[2] not in _ROUTE_FUNCTIONS:
        return None
    route = node.args[0]
    if isinstance(route, ast.Constant) and isinstance(route.value, str) and _API_PREFIX.match(route.value):
        return route.value
    return None


def _includes(node: ast.AST) -> bool:
    """`path("api/", include(...))`: the route holds a URLconf, not one view."""
    value = node.args[1] if isinstance(node, ast.Call) and len(node.args) > 1 else None
    return isinstance(value, ast.Call) and (ast_dotted_name(value.func) or "").endswith("include")


def _is_self_attribute(target: ast.expr) -> bool:
    return isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self"


def _decorator_names(node: _Function | ast.ClassDef) -> set[str]:
    """The last names of a definition's decorators and of what `method_decorator(...)` wraps."""
    names = set()
    for decorator in node.decorator_list:
        for part in _decorator_parts(decorator):
            name = ast_dotted_name(part)
            if name is not None:
                names.add(name.rpartition(".")[2])
    return names


def _decorator_parts(node: ast.expr) -> Iterator[ast.expr]:
    if isinstance(node, ast.Call):
        yield node.func
        if (ast_dotted_name(node.func) or "").endswith("method_decorator"):
            for arg in node.args[:1]:
                yield from (arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg])
                yield from (_decorator_parts(arg) if isinstance(arg, ast.Call) else ())
    else:
        yield node


def _decorator_argument(node: _Function, name: str) -> ast.expr | None:
    """The first argument of `@permission_classes([...])` and the like."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and (ast_dotted_name(decorator.func) or "").rpartition(".")[2] == name:
            return decorator.args[0] if decorator.args else None
    return None


def _http_methods(node: _Function) -> set[str]:
    """The methods an `@api_view([...])` function serves (DRF's default: `GET`)."""
    listed = _decorator_argument(node, "api_view")
    for decorator in node.decorator_list if listed is None else ():
        if isinstance(decorator, ast.Call):
            listed = next((k.value for k in decorator.keywords if k.arg == "http_method_names"), listed)
    if not isinstance(listed, (ast.List, ast.Tuple)):
        return {"GET"}
    return {e.value.upper() for e in listed.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}


def _empty(value: ast.expr) -> bool:
    return isinstance(value, (ast.List, ast.Tuple)) and not value.elts


def _checks_caller(function: _Function) -> bool:
    """Whether a `has_permission` or `dispatch` reads who the caller is (the user, an API key, a secret
    of the URL) or limits a rate."""
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute):
            if node.attr in _AUTH_READS or node.attr in _HEADERS or _RATE_WORDS.search(node.attr):
                return True
            if isinstance(node.value, ast.Attribute) and node.value.attr == "user":
                return True  # `request.user.profile`: only a real user has one
        elif isinstance(node, ast.Name) and _RATE_WORDS.search(node.id):
            return True
    return _checks_secret(function)


def _checks_secret(function: _Function) -> bool:
    """Whether a view checks a secret the caller must hold: `received_secret=kwargs["hash"]`,
    `hmac.compare_digest(...)`, a `state` compared with the session's token (an OAuth callback)."""
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute):
            word = node.attr
        elif isinstance(node, ast.Name):
            word = node.id
        elif isinstance(node, ast.keyword):
            word = node.arg or ""
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            word = str(node.slice.value)
        else:
            continue
        if _SECRET_WORDS.search(word):
            return True
    return False


def _identifies_caller(function: _Function) -> bool:
    """Whether a function view itself checks who calls it: `request.user.is_authenticated`, a permission,
    or a secret the caller must hold."""
    reads = any(isinstance(n, ast.Attribute) and n.attr in _AUTH_READS for n in ast.walk(function))
    return reads or _checks_secret(function)


def _oauth_callback(function: _Function) -> bool:
    """Whether a view compares the request's `state` with one kept in the session (an OAuth callback):
    each call needs a new round trip through the provider, started by the user, so it is not looped."""
    session = state = False
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.attr == "session":
            session = True
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.endswith("state"):
            state = True
    return session and state

"""Redis clients, locks and Django's cache: the names that create them, and the project's own.

`index_clients` reads the project's modules with `ast` for module-level clients and factory
functions, so that a client bound in one module is recognised where another imports it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from review_patterns.syntax.ast_names import AstImportTable, ast_dotted_name
from review_patterns.syntax.files import SourceFile
from review_patterns.syntax.parsing import UNREADABLE, parse_python


class Kind(str, Enum):
    """What a recognised expression is."""

    REDIS = "redis"  #: a redis-py client or a django-redis connection
    PIPELINE = "pipeline"  #: `client.pipeline()`: queues the same commands
    CACHE = "cache"  #: Django's cache API (`django.core.cache.cache`, `caches["x"]`)
    LOCK = "lock"  #: a Redis lock (`client.lock(...)`, `redis_lock.Lock(...)`)


#: Calls that return a Redis client, by qualified name.
REDIS_FACTORIES = frozenset(
    {
        f"{module}.{name}"
        for module in ("redis", "redis.client", "redis.asyncio", "redis.asyncio.client")
        for name in ("Redis", "StrictRedis", "Redis.from_url", "StrictRedis.from_url", "from_url")
    }
    | {
        "redis.RedisCluster",
        "redis.cluster.RedisCluster",
        "redis.asyncio.RedisCluster",
        "redis.RedisCluster.from_url",
        "redis.cluster.RedisCluster.from_url",
        "django_redis.get_redis_connection",
        "fakeredis.FakeRedis",
        "fakeredis.FakeStrictRedis",
        "fakeredis.FakeAsyncRedis",
    }
)
#: Lock classes, by qualified name -> the parameter that bounds how long a lock lives, and its position.
LOCK_CLASSES: Mapping[str, tuple[str, int]] = {
    "redis_lock.Lock": ("expire", 2),
    "redis.lock.Lock": ("timeout", 2),
    "redis.asyncio.lock.Lock": ("timeout", 2),
}
#: Type annotations that make a parameter or attribute a recognised object.
ANNOTATION_KINDS: Mapping[str, Kind] = {
    **{
        f"{m}.{n}": Kind.REDIS
        for m in ("redis", "redis.client", "redis.asyncio", "redis.asyncio.client")
        for n in ("Redis", "StrictRedis")
    },
    "redis.RedisCluster": Kind.REDIS,
    "redis.cluster.RedisCluster": Kind.REDIS,
    "redis.client.Pipeline": Kind.PIPELINE,
    "redis.asyncio.client.Pipeline": Kind.PIPELINE,
    "redis.lock.Lock": Kind.LOCK,
    "redis.asyncio.lock.Lock": Kind.LOCK,
    "redis_lock.Lock": Kind.LOCK,
    "django.core.cache.backends.base.BaseCache": Kind.CACHE,
    "django_redis.cache.RedisCache": Kind.CACHE,
}
DJANGO_CACHE = "django.core.cache.cache"
DJANGO_CACHES = "django.core.cache.caches"

#: A module can bind a client only if it holds one of these (plain substrings: a regex is much slower).
_WORTH_READING = ("import redis", "from redis", "django_redis", "Redis", "caches[")


def worth_reading(text: str) -> bool:
    """Whether a module may bind a client, so that `index_clients` reads it."""
    return any(word in text for word in _WORTH_READING)


@dataclass
class ProjectClients:
    """Module-level clients and client factories of a project, by qualified name."""

    values: dict[str, Kind] = field(default_factory=dict)
    factories: dict[str, Kind] = field(default_factory=dict)
    #: What each module read gave (its values and factories), by path: working state, to tell
    #: whether an edited module still says the same (`holds`).
    read: dict[str, tuple[dict[str, Kind], dict[str, Kind]]] = field(default_factory=dict, repr=False, compare=False)

    def holds(self, path: str, text: str) -> bool:
        """Whether the index says the same after the module at `path` was edited to `text`: each module
        is read alone, so it does when the module binds the same clients and factories."""
        now = index_clients([(path, text)])
        return (now.values, now.factories) == self.read.get(path, ({}, {}))

    def value(self, qualified: str) -> Kind | None:
        return _suffix_lookup(self.values, qualified)

    def factory(self, qualified: str) -> Kind | None:
        return _suffix_lookup(self.factories, qualified)


def _suffix_lookup(table: Mapping[str, Kind], qualified: str) -> Kind | None:
    # Paths are relative to the project root (`src/shop/redis.py`), imports to the package.
    if not table or "." not in qualified:
        return None
    if qualified in table:
        return table[qualified]
    for key, kind in table.items():
        if key.endswith("." + qualified) or qualified.endswith("." + key):
            return kind
    return None


def index_clients(sources: Iterable[tuple[str, str]]) -> ProjectClients:
    """Reads the project's modules (with `ast`) for module-level clients and factory functions."""
    index = ProjectClients()
    for path, text in sources:
        if not path.endswith(".py") or not worth_reading(text):
            continue
        try:
            tree = parse_python(text)
        except UNREADABLE:
            continue
        source = SourceFile(path, "")
        module = ProjectClients()
        _AstModule(tree, source.package).index(source.module_name, module)
        if module.values or module.factories:
            index.values.update(module.values)
            index.factories.update(module.factories)
            index.read[path] = (module.values, module.factories)
    return index


class _AstModule:
    def __init__(self, tree: ast.Module, package: str) -> None:
        self.tree = tree
        self.imports = AstImportTable.of_module(tree, package, everywhere=True)
        self.values: dict[str, Kind] = {}
        self.factories: dict[str, Kind] = {}
        self._bodies: dict[ast.AST, list[ast.AST]] = {}

    def index(self, module: str, into: ProjectClients) -> None:
        for _ in range(2):  # a factory may return a module-level client and vice versa
            self._assignments(self.tree.body, self.values)
            for stmt in self.tree.body:
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    kind = self._returns(stmt)
                    if kind is not None:
                        self.factories[stmt.name] = kind
        prefix = module + "." if module else ""
        into.values.update({prefix + name: kind for name, kind in self.values.items()})
        into.factories.update({prefix + name: kind for name, kind in self.factories.items()})

    def _assignments(self, body: list[ast.stmt], names: dict[str, Kind]) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.If, ast.Try)):
                self._assignments(stmt.body, names)
                self._assignments(stmt.orelse, names)
                if isinstance(stmt, ast.Try):
                    for handler in stmt.handlers:
                        self._assignments(handler.body, names)
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                kind = self._kind(stmt.value, names)
                if kind is not None:
                    names[stmt.targets[0].id] = kind
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None:
                kind = self._kind(stmt.value, names)
                if kind is not None:
                    names[stmt.target.id] = kind

    def _returns(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> Kind | None:
        if function not in self._bodies:
            self._bodies[function] = [
                n for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.Return, ast.Global))
            ]
        nodes = self._bodies[function]
        local: dict[str, Kind] = {}
        declared = {name for node in nodes if isinstance(node, ast.Global) for name in node.names}
        for node in nodes:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                kind = self._kind(node.value, local)
                if kind is not None:
                    local[node.targets[0].id] = kind
                    if node.targets[0].id in declared:
                        self.values[node.targets[0].id] = kind
        for node in nodes:
            if isinstance(node, ast.Return) and node.value is not None:
                kind = self._kind(node.value, local)
                if kind is not None:
                    return kind
        return None

    def _resolve(self, node: ast.expr) -> str | None:
        name = ast_dotted_name(node)
        return None if name is None else self.imports.qualify(name)

    def _kind(self, node: ast.expr, local: Mapping[str, Kind]) -> Kind | None:
        if isinstance(node, ast.Name) and node.id in local:
            return local[node.id]
        if isinstance(node, ast.Name) and node.id in self.values:
            return self.values[node.id]
        if isinstance(node, ast.Subscript) and self._resolve(node.value) == DJANGO_CACHES:
            return Kind.CACHE
        if isinstance(node, (ast.Name, ast.Attribute)) and self._resolve(node) == DJANGO_CACHE:
            return Kind.CACHE
        if isinstance(node, ast.Call):
            name = self._resolve(node.func)
            if name in REDIS_FACTORIES:
                return Kind.REDIS
            if isinstance(node.func, ast.Name) and node.func.id in self.factories:
                return self.factories[node.func.id]
        return None

"""The HTTP libraries, sessions and circuit breakers a project may call, by qualified name.

The tables work on qualified names (`requests.get`, `httpx.Client`), so they serve both the
LibCST rules and the `ast` reading of the project in `project/quota.py`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from fnmatch import translate
from functools import cache

from review_patterns.syntax.ast_names import AstImportTable
from review_patterns.syntax.files import FileKind, file_kinds
from review_patterns.syntax.parsing import UNREADABLE, parse_python

_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request"})

#: Module-level functions that send a request: qualified name -> library.
HTTP_FUNCTIONS: dict[str, str] = {
    **{f"requests.{verb}": "requests" for verb in _VERBS},
    **{f"requests.api.{verb}": "requests" for verb in _VERBS},
    **{f"httpx.{verb}": "httpx" for verb in _VERBS | {"stream"}},
    "aiohttp.request": "aiohttp",
    "urllib.request.urlopen": "urllib",
    "six.moves.urllib.request.urlopen": "urllib",
}
#: Classes (and factories) whose instances send requests: qualified name -> library.
SESSION_CLASSES: dict[str, str] = {
    "requests.Session": "requests",
    "requests.session": "requests",
    "requests.sessions.Session": "requests",
    "requests.sessions.session": "requests",
    "httpx.Client": "httpx",
    "httpx.AsyncClient": "httpx",
    "aiohttp.ClientSession": "aiohttp",
}
#: Methods of those instances that send a request.
SESSION_METHODS: dict[str, frozenset[str]] = {
    "requests": _VERBS,
    "httpx": _VERBS | {"stream", "send"},
    "aiohttp": _VERBS | {"ws_connect"},
}
#: Circuit breaker classes of pybreaker, aiobreaker and circuitbreaker.
BREAKER_CLASSES = frozenset(
    {
        "pybreaker.CircuitBreaker",
        "aiobreaker.CircuitBreaker",
        "aiobreaker.circuitbreaker.CircuitBreaker",
        "circuitbreaker.CircuitBreaker",
    }
)
#: Methods of a breaker that run the protected call.
BREAKER_METHODS = frozenset({"call", "call_async"})
BREAKER = "breaker"  #: the kind of a name bound to a breaker in `ClientScopes`
NEW = "new:"  #: the kind of a name bound to another call's result: `new:shop.clients.MapsClient`
PARAM = "param"  #: the kind of a parameter: a local name of unknown type
PATCHED = "patched"  #: the kind of a session whose request methods were replaced (default timeouts)

#: Default names (globs) of a project's quota guard: RP504 and the quota-manager bonus.
GUARD_NAMES: tuple[str, ...] = ("can_call_api", "check_quota", "has_quota", "*quota_available", "can_call_*")
#: Default names (globs) of a call that spends quota: RP503 and the quota-manager bonus.
INCREMENT_NAMES: tuple[str, ...] = (
    "increment_*usage",
    "increment_*quota",
    "record_*usage",
    "consume",
    "consume_*quota",
)
#: Names (globs) of a call that gives spent quota back: an increment followed by one is a reservation.
REFUND_NAMES: tuple[str, ...] = ("refund*", "decrement*", "release*", "rollback*", "restore*")


def matches_any(name: str, patterns: Iterable[str]) -> bool:
    """Whether `name` matches one of the globs (case-sensitive, as Python names are)."""
    globs = _globs(tuple(patterns))
    return globs is not None and globs.match(name) is not None


def may_occur(patterns: Iterable[str], text: str) -> bool:
    """Whether a name matching one of the globs can be written in `text`: the longest part of some
    glob between its wildcards is in it. A glob with a character class (`[...]`) or nothing but
    wildcards can match anything."""
    for pattern in patterns:
        if "[" in pattern or max(re.split(r"[*?.]", pattern), key=len) in text:  # "" is in every text
            return True
    return False


@cache
def _globs(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex for the globs, as `fnmatchcase` reads each (rules ask for thousands of names)."""
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns)) if patterns else None


def breaker_like(receiver: str) -> bool:
    """`maps_breaker`, `self.circuit`: names that only a circuit breaker would carry."""
    last = receiver.rsplit(".", 1)[-1].lower()
    return "breaker" in last or "circuit" in last


def client_keys(receiver: str, place: str | None, kind: str | None) -> frozenset[str]:
    """Names of the API client a call's receiver holds (RP504), or none when it is no client.

    `place` is where the receiver lives (`shop.clients.maps_client`, `shop.geo.Geocoder.client`),
    None for a local name; `kind` is what it is bound to (`ClientScopes.kind`). A client is an
    HTTP session, an instance of a class named `...Client`, or a name ending in `client` or `_api`.
    """
    ctor = kind[len(NEW) :] if kind is not None and kind.startswith(NEW) else None
    named_client = ctor is not None and ctor.rsplit(".", 1)[-1].endswith("Client")
    last = receiver.rsplit(".", 1)[-1].lower()
    if not (kind in SESSION_METHODS or named_client or last.endswith(("client", "_api"))):
        return frozenset()
    keys = {place} if place else set()
    if named_client:
        assert ctor is not None
        keys.add(ctor)
    return frozenset(keys)


def looks_like_class(name: str) -> bool:
    """`googlemaps.Client`: by convention a class, whose call builds an object (and sends nothing)."""
    return name.rsplit(".", 1)[-1][:1].isupper()


def on_host(url: str, host: str) -> bool:
    """Whether a URL points at `host` or one of its subdomains."""
    rest = url.split("://", 1)[-1]
    netloc = rest.split("/", 1)[0].split("?", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    return netloc == host or netloc.endswith("." + host)


#: Methods through which every request of a library goes: replaced at run time with one that
#: fills in a timeout (pretix's `HTTPAdapter.send = httpadapter_send`), the library has a default.
SEND_METHODS: dict[str, str] = {
    "requests.adapters.HTTPAdapter.send": "requests",
    "requests.sessions.Session.request": "requests",
    "requests.sessions.Session.send": "requests",
    "requests.Session.request": "requests",
    "requests.Session.send": "requests",
}
_REPLACED = re.compile(r"\.(?:send|request)\s*=[^=]")


def patched_libraries(sources: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The HTTP libraries whose send method the project replaces at run time (outside its tests)."""
    found: set[str] = set()
    for path, text in sources:
        if _REPLACED.search(text) is None or file_kinds(path) & {FileKind.TEST, FileKind.FIXTURE}:
            continue
        try:
            tree = parse_python(text)
        except UNREADABLE:
            continue
        imports = AstImportTable.of_module(tree, everywhere=True)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and imports.resolve(target) in SEND_METHODS:
                        found.add(SEND_METHODS[imports.resolve(target) or ""])
    return frozenset(found)

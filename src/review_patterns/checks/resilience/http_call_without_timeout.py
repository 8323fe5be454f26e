"""RP509 http-call-without-timeout: an outbound request that can wait forever."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from review_patterns.checks.resilience.http import HttpRule, passes_unknown_arguments
from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rewrite
from review_patterns.syntax.files import FileKind
from review_patterns.syntax.names import keyword, with_keyword
from review_patterns.syntax.traversal import children, nodes_of

#: Where a positional `timeout` sits, for the calls that take one positionally.
_POSITIONAL_TIMEOUT = {"urllib": 2, "session.request": 8}


class HttpCallWithoutTimeout(HttpRule):
    """## What it does
    Flags outbound HTTP calls that can wait forever: `requests` calls and `requests.Session`
    methods without `timeout=` (or with `timeout=None`), `httpx` calls and clients with
    `timeout=None`, and `urllib.request.urlopen` without a timeout.

    ## Why is this bad?
    `requests` and `urlopen` have no timeout of their own: a dead or slow upstream holds the
    worker for the operating system's default, minutes, and requests pile up behind it until
    the site is down too. `httpx` defaults to 5 seconds, so only an explicit `timeout=None` is
    flagged there.

    ## Known problems
    A request handed to a circuit breaker (`breaker.call(requests.get, url)`) is checked the same way.
    Calls that pass `**kwargs` are not flagged (the timeout may be inside), nor sessions from
    another module or a `Session` subclass that sets a default timeout, nor any `requests` call
    when the project replaces `HTTPAdapter.send` (or `Session.request`) at run time with a method
    that fills in a timeout: it is read as giving every request one. Files that never serve
    requests are skipped: test modules (their requests go to mocks), fixtures and other linters'
    rule samples (`tests/fixtures/`, `.semgrep/`, test data), scripts outside the package
    (`scripts/`, `bin/`, `setup.py`) and management commands, which an operator runs and can
    interrupt (a command that a task runs with `call_command` is not followed). A `urlopen` in a
    module that sets the sockets' default timeout when imported (`socket.setdefaulttimeout(5)` at
    its top level) waits that long; `requests` passes its own timeout, None, and is still flagged.

    Measured precision: 8 of 8 on 15 real projects; on three held-out projects 1 of 4
    as found (3 in a pytest plugin), 1 of 1 after the fix (benchmarks/precision).
    """

    reads = ("patched_http",)

    code = "RP509"
    name = "http-call-without-timeout"
    message = "`{call}` {how}: a dead upstream holds the worker for minutes"
    severity = Severity.IMPORTANT
    dimension = Dimension.RELIABILITY
    requires = ("requests", "httpx", "urlopen", "aiohttp")
    skip_kinds = frozenset({FileKind.TEST, FileKind.FIXTURE, FileKind.SCRIPT, FileKind.COMMAND})
    fixes = (
        "Unsafe: the fix passes `timeout=HTTP_TIMEOUT` and adds `HTTP_TIMEOUT = 10` to the module "
        "(or uses its own `HTTP_TIMEOUT`): a call that used to wait for a slow upstream now fails after "
        "10 seconds, which is the point, so choose the value before applying it."
    )
    examples = (
        Bad(
            """
            import requests

            def fetch_rates(currency):
                response = requests.get(RATES_URL, params={"base": currency})  # RP509
                response.raise_for_status()
                return response.json()
            """,
            path="billing/services.py",
        ),
        Good(
            """
            import requests

            API_TIMEOUT = (3.05, 10)

            def fetch_rates(currency):
                response = requests.get(RATES_URL, params={"base": currency}, timeout=API_TIMEOUT)
                response.raise_for_status()
                return response.json()
            """,
            path="billing/services.py",
        ),
        Bad("""
            import requests as http
            from urllib.request import urlopen

            session = http.Session()

            class Geocoder:
                def __init__(self):
                    self.session = http.Session()

                def lookup(self, address):
                    return self.session.post(GEO_URL, json={"q": address})  # RP509

            def ping(url):
                session.head(url, timeout=None)  # RP509
                return urlopen(url).status  # RP509

            def download(url):
                with http.Session() as s:
                    return s.get(url, stream=True)  # RP509
            """),
        Bad("""
            import requests
            from pybreaker import CircuitBreaker

            rates_breaker = CircuitBreaker(fail_max=5)
            session = requests.Session()

            def fetch_rates():
                return rates_breaker.call(session.get, RATES_URL)  # RP509

            def fetch_rates_bounded():
                return rates_breaker.call(requests.get, RATES_URL, timeout=5)
            """),
        Bad("""
            import httpx

            def fetch(url):
                with httpx.Client(timeout=None) as client:  # RP509
                    return client.get(url)

            async def fetch_async(url):
                return await httpx.AsyncClient().get(url, timeout=None)  # RP509
            """),
        Good("""
            import httpx
            import urllib.request

            def fetch(url):
                with httpx.Client() as client:  # httpx has a 5 second default
                    return client.get(url)

            def fetch_raw(url):
                return urllib.request.urlopen(url, None, 10).read()

            def proxy(method, url, **kwargs):
                return requests.request(method, url, **kwargs)  # not imported: someone else's name
            """),
        Good("""
            import functools

            import requests

            def get_session():
                session = requests.Session()
                session.request = functools.partial(session.request, timeout=REQUESTS_TIMEOUT)
                session.get(HEALTH_URL)
                return session
            """),
        Good("""
            from django.test import Client

            class ApiClient:
                def get(self, path):
                    return self.session.get(path)  # who knows what session is

            def view_test():
                Client().get("/orders/")
                ApiClient().get("/rates")
            """),
        Good(
            """
            import requests

            def fetch_translations(resource):
                return requests.get(f"{TRANSIFEX_URL}/{resource}", headers=HEADERS).json()
            """,
            path="scripts/manage_translations.py",
        ),
        Good(
            """
            import requests
            from django.core.management.base import BaseCommand

            class Command(BaseCommand):
                help = "Imports the exercise catalogue from the public server."

                def handle(self, *args, **options):
                    for item in requests.get(CATALOGUE_URL).json()["results"]:  # no worker to hold
                        Exercise.objects.update_or_create(uuid=item["uuid"], defaults={"name": item["name"]})
            """,
            path="exercises/management/commands/sync_exercises.py",
        ),
        Good(
            """
            import requests

            def ruleset_sample(url):
                requests.get(url)  # a sample of another linter's rule, never run
            """,
            path=".semgrep/rules/requests_timeout.py",
        ),
        Good(
            """
            import requests

            def fetch_rates():
                return requests.get("https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml").text
            """,
            path="shop/services/currencies.py",
            files={
                "shop/monkeypatching.py": """
                    from requests.adapters import HTTPAdapter

                    def monkeypatch_requests_timeout():
                        send = HTTPAdapter.send

                        def send_with_timeout(self, request, timeout=None, **kwargs):
                            return send(self, request, timeout=30 if timeout is None else timeout, **kwargs)

                        HTTPAdapter.send = send_with_timeout  # every request of the project gets 30 s
                    """,
            },
        ),
        Good(
            """
            import socket
            from urllib.request import Request, urlopen

            if hasattr(socket, "setdefaulttimeout"):
                socket.setdefaulttimeout(5)  # every socket opened from now on, urlopen's among them

            def verify_key(url, data, headers):
                return urlopen(Request(url, data, headers)).read()
            """,
            path="helpdesk/akismet.py",
        ),
        Bad(
            """
            import socket
            from urllib.request import urlopen

            import requests

            socket.setdefaulttimeout(5)

            def submit_spam(url, data):
                # requests passes its own timeout, None, whatever the sockets' default
                return requests.post(url, data=data).text  # RP509

            def configure(timeout):
                socket.setdefaulttimeout(timeout)
            """,
            path="helpdesk/spam.py",
        ),
        Bad(
            """
            import socket
            from urllib.request import urlopen

            def configure():
                socket.setdefaulttimeout(5)  # only once called

            def verify_key(url):
                return urlopen(url).read()  # RP509
            """,
            path="helpdesk/akismet.py",
        ),
    )

    def setup(self) -> None:
        super().setup()
        self._socket_timeout: bool | None = None  # see `_sets_socket_timeout`

    def visit_Call(self, node: cst.Call) -> None:
        built = self.constructed(node)
        if built == "httpx" and _is_none(keyword(node, "timeout")):
            self.report(node, _with_timeout(node), call=self.semantic.imported(node.func), how="with `timeout=None`")
            return
        call = self.http_call(node)
        through_breaker = call is not None and call.library == "breaker"
        if through_breaker:
            # `breaker.call(session.get, url, timeout=...)` passes the keywords on to the request
            call = self.http_reference(node.args[0].value) if node.args else None
        if call is None or call.library == "aiohttp" or passes_unknown_arguments(node):
            return
        timeout = keyword(node, "timeout")
        if timeout is not None:
            if _is_none(timeout):
                self.report(node, _with_timeout(node), call=call.label, how="with `timeout=None`")
            return
        if call.library == "httpx" or call.library in self.context.patched_http:
            return  # httpx's own default applies, or the one the project patched into the library
        if call.library == "urllib" and self._sets_socket_timeout():
            return  # `urlopen` without a timeout waits as long as the socket's default
        where = _POSITIONAL_TIMEOUT.get(call.library)
        if call.session and call.label.endswith(".request"):
            where = _POSITIONAL_TIMEOUT["session.request"]
        positional = sum(1 for a in node.args if a.keyword is None) - through_breaker
        if where is not None and positional > where:
            return
        self.report(node, _with_timeout(node), call=call.label, how="without a timeout")

    def _sets_socket_timeout(self) -> bool:
        """Whether the module, when imported, sets the sockets' default timeout (`socket.setdefaulttimeout(5)`
        at its top level, also under an `if` or a `try`), which `urlopen` without a timeout waits for."""
        if self._socket_timeout is None:
            module = self.semantic.module_scope.node
            lines = _run_on_import(module.body) if isinstance(module, cst.Module) else iter(())
            self._socket_timeout = any(
                self.semantic.qualified_name(call.func) == "socket.setdefaulttimeout"
                and bool(call.args)
                and not _is_none(call.args[0])
                for line in lines
                for call in nodes_of(line, cst.Call)
            )
        return self._socket_timeout


#: The module constant the fix adds, unless the module already has one of that name.
TIMEOUT_CONSTANT = "HTTP_TIMEOUT = 10  # seconds to connect and to wait for each read"


def _with_timeout(call: cst.Call) -> Rewrite:
    """`call` with `timeout=HTTP_TIMEOUT`, replacing a `timeout=None`."""
    fixed = with_keyword(call, "timeout", cst.Name(TIMEOUT_CONSTANT.split()[0]))
    return Rewrite(
        safe=False, replace=((call, fixed),), constants=(TIMEOUT_CONSTANT,), description="pass `timeout=HTTP_TIMEOUT`"
    )


def _run_on_import(statements: Sequence[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """The simple statements of a module that run when it is imported: those of its top level and of the
    blocks of its top-level `if`, `try` and `with` statements, not those of its functions and classes."""
    for statement in statements:
        if isinstance(statement, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            yield statement
        elif isinstance(statement, (cst.If, cst.Else, cst.Try, cst.ExceptHandler, cst.Finally, cst.With)):
            for child in children(statement):  # its blocks, and its `elif`, `else`, handlers and `finally`
                yield from _run_on_import(child.body if isinstance(child, cst.IndentedBlock) else [child])


def _is_none(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "None"

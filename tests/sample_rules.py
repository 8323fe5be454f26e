"""Small rules that exist only in the tests, so that expected outputs do not change when real rules are
added. They are handed to what is tested, never registered: `lint(..., rules=...)`, `lint_paths(...,
rules=...)`, the CLI's `main(argv, rules=...)`, the writers' `rules=`. Tests that run a subprocess (the
flake8 plugin, the installed command) use real rules instead; see `django_shop.py`."""

from __future__ import annotations

from pathlib import Path

import libcst as cst

from review_patterns.core.model import Dimension, Severity
from review_patterns.core.rule import Bad, Good, Rule
from review_patterns.syntax.names import call_name


class DangerousCall(Rule):
    """## What it does
    Flags calls of `eval` (or the functions named in `calls`). Used by the adapters' tests.

    ## Why is this bad?
    It runs text as code.
    """

    code = "RP990"
    name = "dangerous-call"
    message = "`{call}()` runs text as code"
    severity = Severity.BLOCKER
    dimension = Dimension.SECURITY
    options = {"calls": ("eval",)}
    examples = (Bad("eval(request.GET['q'])  # RP990\n"), Good("int(request.GET['q'])\n"))

    def visit_Call(self, node: cst.Call) -> None:
        name = call_name(node)
        if name in self.settings["calls"]:
            self.report(node, call=name)


class PrintCall(Rule):
    """## What it does
    Flags `print()` calls. Used by the adapters' tests.

    ## Why is this bad?
    Output belongs in the log.
    """

    code = "RP991"
    name = "print-call"
    message = "`print()` instead of logging"
    severity = Severity.WARNING
    dimension = Dimension.CODE_CLARITY
    examples = (Bad("print(order)  # RP991\n"), Good("logger.info(order)\n"))

    def visit_Call(self, node: cst.Call) -> None:
        if call_name(node) == "print":
            self.report(node)


class SaveInLoop(Rule):
    """## What it does
    A rule for the engine's tests: flags `.save()` inside a `for` loop.

    ## Why is this bad?
    One query per row.
    """

    code = "RP992"
    name = "save-in-loop"
    message = "`{obj}.save()` in a loop"
    severity = Severity.IMPORTANT
    dimension = Dimension.PERFORMANCE
    examples = (Bad("for p in ps:\n    p.save()  # RP992\n"), Good("p.save()\n"))

    def setup(self) -> None:
        self.loops = 0

    def visit_For(self, node: cst.For) -> None:
        self.loops += 1

    def leave_For(self, original_node: cst.For) -> None:
        self.loops -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.loops and isinstance(func, cst.Attribute) and func.attr.value == "save":
            self.report(node, obj=cst.Module([]).code_for_node(func.value))


class Crashes(Rule):
    """## What it does
    Raises on every call: a stand-in for a buggy rule.

    ## Why is this bad?
    It is a test.
    """

    code = "RP993"
    name = "crashes"
    message = "never"
    severity = Severity.WARNING
    dimension = Dimension.RELIABILITY

    def visit_Call(self, node: cst.Call) -> None:
        raise KeyError("boom")


#: The rules the CLI's in-process tests hand to `main()`; the engine's tests hand SaveInLoop and Crashes to it.
SAMPLE_RULES = (DangerousCall, PrintCall)


#: A small Django project in which the sample rules find two problems in shop/views.py.
PROJECT = {
    "manage.py": "import os\nimport sys\n\nif __name__ == '__main__':\n"
    "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings')\n",
    "shop/__init__.py": "",
    "shop/models.py": (
        "from django.db import models\n\n\n"
        "class Order(models.Model):\n"
        "    total = models.DecimalField(max_digits=10, decimal_places=2)\n"
    ),
    "shop/views.py": (
        "import logging\n"
        "\n"
        "from django.http import JsonResponse\n"
        "\n"
        "logger = logging.getLogger(__name__)\n"
        "\n"
        "\n"
        "def search(request):\n"
        "    query = request.GET.get('q', '')\n"
        "    print(query)\n"  # RP991, line 10
        "    return JsonResponse({'result': eval(query)})\n"  # RP990, line 11
    ),
    "shop/services.py": (
        "from .models import Order\n\n\ndef order_total(order_id):\n    return Order.objects.get(pk=order_id).total\n"
    ),
}


def write_project(root: Path, files: dict[str, str] | None = None) -> Path:
    """Writes PROJECT (or `files`) below `root`; returns `root`."""
    for name, text in (files if files is not None else PROJECT).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root

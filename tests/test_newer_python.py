"""Python newer than the interpreter the tool runs on: read as LibCST reads it, never lost to `ast`.

The tool runs on Python 3.10 and later (3.11 in CI); a project may use 3.12 type aliases and
generics, PEP 701 f-strings or 3.14's t-strings and unparenthesised `except`.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from conftest import FIXTURES
from sample_rules import SaveInLoop
from test_model_index import own, project, relation
from test_reliability import DEEP

import review_patterns
from review_patterns.core.model import FileResult
from review_patterns.syntax import lowering
from review_patterns.syntax.parsing import MAX_NESTING, nesting_bound, nesting_depth, parse_python

VIEW = """\
from blog.models import Post


def publish_all(request):
    for post in Post.objects.filter(draft=True):
        post.draft = False
        post.save()
"""

NEWER = {
    "type alias": "type JSONValue = str | int | list[JSONValue] | dict[str, JSONValue]\n",
    "generic function": "def first[T](items: list[T]) -> T:\n    return items[0]\n",
    "generic class": "class Page[T](list[T]):\n    type Row = tuple[T, ...]\n",
    "parameter defaults (3.13)": "def pick[T = int, *Ts, **P](value: T) -> T:\n    return value\n",
    "parameters over lines": "def route[\n    Request,\n    Response: object,\n](r: Request) -> Response: ...\n",
    "f-string quotes (PEP 701)": 'label = f"{post["title"]}: {", ".join(tags)}"\n',
    "f-string backslash and comment": 'text = f"{"\\n".join(lines)}{\n    count  # how many\n}"\n',
    "t-string (3.14)": 'query = t"SELECT * FROM {table}"\n',
    "except without parentheses (3.14)": "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
}


def lint(source: str) -> FileResult:
    return review_patterns.lint(source, "blog/views.py", rules=(SaveInLoop,))


@pytest.mark.parametrize("syntax", NEWER)
def test_newer_python_is_checked_whatever_the_interpreter(syntax: str) -> None:
    source = NEWER[syntax] + VIEW
    result = lint(source)
    assert [(f.code, f.line) for f in result.findings] == [
        ("RP992", source.splitlines().index("        post.save()") + 1)
    ]
    assert result.error is None


def test_lowered_newer_python_keeps_its_lines() -> None:
    source = "".join(NEWER.values()) + VIEW
    tree = parse_python(source)
    (loop,) = [node for node in ast.walk(tree) if isinstance(node, ast.For)]
    assert loop.lineno == source.splitlines().index("    for post in Post.objects.filter(draft=True):") + 1
    route = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "route")
    lines = source.splitlines()
    assert (route.lineno, route.args.args[0].lineno) == (
        lines.index("def route[") + 1,
        lines.index("](r: Request) -> Response: ...") + 1,
    )
    assert isinstance(tree.body[0], (ast.Assign, getattr(ast, "TypeAlias", ast.Assign)))


def test_a_models_module_in_newer_python_keeps_its_models() -> None:
    index = project(
        {
            "shop/models.py": """
            from django.db import models

            type Money = int


            class Priced[T](models.Model):
                price = models.IntegerField()

                def total[N: int](self, count: N) -> Money:
                    return self.price * count

                class Meta:
                    abstract = True


            class Product(Priced[int]):
                name = models.CharField(max_length=100)

                def __str__(self):
                    return f"{self.name} ({", ".join(self.tags.values_list("name", flat=True))})"


            class Order(models.Model):
                product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="orders")
            """,
        }
    )
    assert own(index) == {"shop.Priced", "shop.Product", "shop.Order"}
    assert relation(index, "shop.Product", "orders") == ("reverse ForeignKey", "shop.Order", True)
    assert relation(index, "shop.Order", "product") == ("ForeignKey", "shop.Product", False)


def test_a_real_syntax_error_is_still_rp001_in_cpythons_words() -> None:
    result = lint("def publish(post:\n    post.save()\n")
    ((finding,),) = [result.findings]
    assert (finding.code, finding.line, finding.message) == ("RP001", 1, "syntax error: '(' was never closed")


def test_a_syntax_error_below_newer_python_is_reported_where_it_is() -> None:
    source = NEWER["type alias"] + VIEW + "\n\ndef broken(:\n    pass\n"
    ((finding,),) = [lint(source).findings]
    assert finding.code == "RP001" and finding.message.startswith("syntax error")
    broken = source.splitlines().index("def broken(:") + 1
    assert finding.line in (broken, broken + 1)  # not at the type alias CPython stops at (LibCST's is a token late)


@pytest.mark.parametrize("kind", [k for k in DEEP if k != "strings"])
def test_deep_newer_python_is_refused_before_libcst(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_parse(source: str) -> None:
        raise AssertionError("handed to LibCST")

    monkeypatch.setattr(cst, "parse_module", no_parse)
    result = lint(NEWER["type alias"] + VIEW + DEEP[kind](MAX_NESTING + 10) + "\n")
    ((finding,),) = [result.findings]
    assert finding.code == "RP001" and finding.message.startswith("too deeply nested to analyse")


@pytest.mark.parametrize("kind", ["sum", "calls", "elif", "lambda"])
def test_deep_but_valid_newer_python_is_checked(kind: str) -> None:
    result = lint(NEWER["generic function"] + VIEW + DEEP[kind](500) + "\n")
    assert [f.code for f in result.findings] == ["RP992"]


@pytest.mark.parametrize(
    "source",
    [
        "x = f'{" + "(" * 3000 + "1" + ")" * 3000 + "}'\n",  # a field LibCST's parser would overflow on
        "x = " + 'f"{' * 2000 + "1" + '}"' * 2000 + "\n",  # f-strings nested in f-strings (PEP 701)
        "type T = int\nx = f'{" + "+".join("a" * 5000) + "}'\n",
    ],
    ids=["deep field", "nested f-strings", "long chain in a field"],
)
def test_deep_f_strings_are_refused_before_libcst(source: str) -> None:
    assert nesting_bound(source) > MAX_NESTING
    ((finding,),) = [lint(source).findings]
    assert finding.code == "RP001"


def test_nesting_bound_is_never_below_the_depth_cpython_measures() -> None:
    sources = [make(300) for make in DEEP.values()]
    sources += [path.read_text(encoding="utf-8") for path in sorted(Path(FIXTURES).rglob("*.py"))]
    sources += [textwrap.dedent(source) for source in (VIEW,)]
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        assert nesting_bound(source) >= nesting_depth(tree), source[:200]
    assert nesting_bound("x = [" + "1, " * 10_000 + "]\n") < 10  # siblings are not levels


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="t-strings parse natively")
def test_newer_python_the_lowering_cannot_rewrite_is_unreadable_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot(module: cst.Module) -> str:
        raise cst.CSTValidationError("no rewrite for this")

    monkeypatch.setattr(lowering, "lowered", cannot)
    with pytest.raises(SyntaxError, match="invalid syntax"):  # CPython's words: the readers skip the file
        parse_python(NEWER["type alias"])
    index = project(
        {"shop/models.py": NEWER["type alias"] + "from django.db import models\n\nclass A(models.Model):\n    pass\n"}
    )
    assert own(index) == set()

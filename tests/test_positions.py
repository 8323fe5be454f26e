"""`positions_of` places nodes exactly where LibCST's `PositionProvider` does, printing no further than needed."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest
from conftest import ROOT
from libcst.metadata import MetadataWrapper, PositionProvider
from test_traversal import TRICKY

from review_patterns.syntax.positions import positions_of

#: Views, serializers and a migration as real projects write them, with what moves positions:
#: multi-line strings, backslash continuations, decorators, f-strings (nested, multi-line), tabs,
#: non-ASCII text, comments, semicolons, empty lines between decorators.
AWKWARD = textwrap.dedent(
    '''
    # -*- coding: utf-8 -*-
    """Vues de l'équipe — données «personnelles»."""
    import logging; import requests
    from django.db import migrations, models

    logger = logging.getLogger(__name__)
    TEXT = """first
    second ✓ {x}
    third"""
    total = 1 + \\
        2 + \\
        3

    @login_required

    @permission_required("orders.view")  # a comment
    def détail(request, pk):
        order = Order.objects.get(pk=pk)
        logger.info(f"order {order.pk!r:>{width}} for {request.user.email} {'x' if a else f'{b}'}")
        message = f"""résumé
    {order.total:.2f} €
    """
        requests.get(URL, params={"q": pk})
        return render(request, "détail.html", {"order": order, "message": message})

    class Serializer(serializers.ModelSerializer):
    \tclass Meta:
    \t\tmodel = Order
    \t\tfields = ("pk",
    \t\t          "total")

    class Migration(migrations.Migration):
        operations = [
            migrations.AddField("order", "paid", models.BooleanField(null=False)),
            migrations.RunPython(lambda apps, schema: None),
        ]
    '''
).lstrip()


def _all_nodes(module: cst.Module) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(reversed(node.children))
    return found


def _provider(module: cst.Module) -> dict[cst.CSTNode, object]:
    return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(AWKWARD, id="awkward"),
        pytest.param(AWKWARD.replace("\n", "\r\n"), id="crlf"),
        pytest.param(AWKWARD.replace("\n", "\r"), id="cr"),
        pytest.param(AWKWARD.replace("    ", "\t"), id="tabs"),
        pytest.param(AWKWARD.rstrip("\n"), id="no-final-newline"),
        pytest.param(TRICKY, id="every-construct"),
        pytest.param("def f():\n    pass\n    # trailing comment\n\n\n", id="trailing-comments"),
    ],
)
def test_each_node_alone_is_placed_as_the_position_provider_places_it(source: str) -> None:
    module = cst.parse_module(source)
    expected = _provider(module)
    nodes = _all_nodes(module)
    assert len(nodes) > 10
    for node in nodes:
        assert positions_of(module, [node])[node] == expected[node], cst.Module([]).code_for_node(node)


def test_many_nodes_at_once_are_placed_as_the_position_provider_places_them() -> None:
    module = cst.parse_module(AWKWARD)
    expected = _provider(module)
    calls = [node for node in _all_nodes(module) if isinstance(node, cst.Call)]
    found = positions_of(module, calls)
    assert [found[call] for call in calls] == [expected[call] for call in calls]
    assert positions_of(module, _all_nodes(module)) == expected


@pytest.fixture()
def placed(monkeypatch: pytest.MonkeyPatch) -> list[cst.CSTNode]:
    """The nodes printed with their positions counted, in order."""
    from review_patterns.syntax import positions

    seen: list[cst.CSTNode] = []
    before = positions._Placing.before_codegen

    def recording(self: positions._Placing, node: cst.CSTNode) -> None:
        seen.append(node)
        before(self, node)

    monkeypatch.setattr(positions._Placing, "before_codegen", recording)
    return seen


def test_the_module_is_printed_only_up_to_the_last_node_asked_about(placed: list[cst.CSTNode]) -> None:
    module = cst.parse_module("import os\n\ndef first():\n    return os.sep\n\ndef second():\n    return 2\n")
    first = module.body[1]
    found = positions_of(module, [first])
    assert found[first].start.line == 3 and list(found) == [first]
    assert first in placed and module.body[2] not in placed  # the second function was never printed
    assert positions_of(module, []) == {}


def test_statements_before_the_first_node_asked_about_are_only_counted(placed: list[cst.CSTNode]) -> None:
    """Printed without counting columns or keeping ranges; their lines ("\\r\\n", "\\r", "\\n") are counted."""
    for newline in ("\n", "\r\n", "\r"):
        source = f'# header{newline}import os{newline}TEXT = """a{newline}b"""{newline}def f():{newline}    return os.sep{newline}'
        module = cst.parse_module(source)
        function = module.body[2]
        placed.clear()
        found = positions_of(module, [function])
        assert found[function] == _provider(module)[function] and found[function].start.line == 5
        assert placed[0] is function and module.body[1] not in placed


def test_a_node_in_the_header_or_the_footer_is_placed_from_the_start(placed: list[cst.CSTNode]) -> None:
    module = cst.parse_module("# -*- coding: utf-8 -*-\nimport os\n\nx = os.sep\n# the end\n")
    header, footer = module.header[0], module.footer[0]
    expected = _provider(module)
    assert positions_of(module, [header]) == {header: expected[header]} and placed[0] is module
    assert positions_of(module, [footer]) == {footer: expected[footer]}


def test_a_node_from_another_tree_has_no_position() -> None:
    module = cst.parse_module("x = 1\n")
    stranger = cst.parse_expression("y")
    assert stranger not in positions_of(module, [stranger])


def test_the_tools_own_source_is_placed_as_the_position_provider_places_it() -> None:
    for path in sorted((ROOT / "src" / "review_patterns" / "core").glob("*.py")):
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        expected = _provider(module)
        statements = [node for node in _all_nodes(module) if isinstance(node, (cst.BaseStatement, cst.Call))]
        found = positions_of(module, statements[::7])
        assert {node: found[node] for node in statements[::7]} == {node: expected[node] for node in statements[::7]}

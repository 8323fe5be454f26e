"""Guards in front of LibCST's parser: only Python, and not too deep, reaches it.

LibCST's native parser overflows its stack on deeply nested input (an uncatchable crash;
Instagram/LibCST#619, #980, #1000) and its traversal recurses once per level. CPython's own
parser rejects most of those inputs cheaply, and `nesting_depth` bounds the rest. Python newer
than the running interpreter (a 3.12 type alias read on 3.11) is bounded by `nesting_bound`
instead, then read by LibCST and lowered (`syntax/lowering.py`) for CPython's `ast`: the tool
reads whatever LibCST reads, whichever Python it runs on.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import libcst as cst

#: Deepest nesting (see `nesting_depth`) handed to LibCST. Real code stays below 40 (Django's
#: deepest is 14); LibCST parses 1,000 levels in about a second, and its native parser crashes
#: somewhere above 5,000 operands of one `and`.
MAX_NESTING = 1000


@dataclass(frozen=True)
class Rejected:
    """Why a source cannot be analysed, and where."""

    line: int
    column: int  #: 0-based
    reason: str


def nesting_depth(tree: ast.AST) -> int:
    """How deep LibCST's tree for `tree` goes, counted without recursion.

    Each operand of `and`/`or` counts as a level, since LibCST nests them pairwise where
    CPython keeps them in one list; a name's `ctx` (CPython's `Load`, `Store`), which LibCST has
    no node for, does not.
    """
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    node_class, bool_op, fields = ast.AST, ast.BoolOp, _CHILD_FIELDS
    while stack:  # `ast.iter_child_nodes` inlined: this runs over every node of every file
        node, depth = stack.pop()
        kind = type(node)
        if kind is bool_op:
            depth += len(node.values) - 1  # type: ignore[attr-defined]
        if depth > deepest:
            deepest = depth
        depth += 1
        names = fields.get(kind)
        if names is None:
            names = fields[kind] = tuple(name for name in kind._fields if name != "ctx")
        for name in names:
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend((item, depth) for item in value if isinstance(item, node_class))
            elif isinstance(value, node_class):
                stack.append((value, depth))
    return deepest


#: `ast` node class -> the fields that may hold its children (not `ctx`).
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def check_source(source: str, mode: str = "exec") -> Rejected | None:
    """None when LibCST may be given `source`; else why not, in CPython's words where it has them."""
    found = checked_depth(source, mode)
    return found if isinstance(found, Rejected) else None


def checked_depth(
    source: str, mode: str = "exec", *, deep: Callable[[Callable[[], Rejected | int]], Rejected | int] | None = None
) -> Rejected | int:
    """`source`'s nesting depth (see `nesting_depth`) when LibCST may be given it; else why not.

    `deep` runs work with room to recurse: deep code in syntax newer than the interpreter is
    lowered through LibCST, which recurses once per level.
    """
    try:
        tree = parse_python(source) if mode == "exec" else _cpython(source, mode)
    except SyntaxError as error:
        if _too_nested(error):
            return Rejected(error.lineno or 1, 0, f"too deeply nested to analyse ({error.msg})")
        return Rejected(error.lineno or 1, max((error.offset or 1) - 1, 0), f"syntax error: {error.msg}")
    except RecursionError:
        if deep is not None:
            return deep(lambda: checked_depth(source, mode))
        return Rejected(1, 0, "too deeply nested to analyse (Python's own parser gives up)")
    except MemoryError:
        return Rejected(1, 0, "too large to analyse (out of memory while parsing)")
    except ValueError as error:  # null bytes, surrogates
        return Rejected(1, 0, f"cannot parse: {error}")
    depth = nesting_depth(tree)
    if depth > MAX_NESTING:
        return Rejected(1, 0, f"too deeply nested to analyse (nesting {depth}, limit {MAX_NESTING})")
    return depth


def parse_python(source: str) -> ast.Module:
    """`source`'s tree in the running interpreter's `ast`, for any Python LibCST reads.

    Syntax newer than the interpreter is lowered first (see `syntax/lowering.py`), keeping lines.
    Raises SyntaxError in CPython's words when `source` is not Python (or too deeply nested to
    hand to LibCST), and ValueError, RecursionError or MemoryError as `ast.parse` does.
    """
    try:
        return cast(ast.Module, _cpython(source))
    except SyntaxError as error:
        if _too_nested(error):
            raise
        if (bound := nesting_bound(source)) > MAX_NESTING:
            raise SyntaxError(f"too many nested levels for this Python: up to {bound}, limit {MAX_NESTING}") from None
        import libcst as cst  # only for syntax newer than this Python: the project's files are read without it

        from review_patterns.syntax.lowering import lowered

        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as found:
            if not _newer_syntax_at(error, source) or found.raw_line <= (error.lineno or 0):
                raise error from None  # not Python: in CPython's words
            # CPython stopped at syntax newer than itself; LibCST found the error further down (near
            # there: its positions can be a token late).
            at = re.match(r"parser error: error at (\d+):(\d+): ", found.message)
            line, column = (int(at[1]), int(at[2])) if at else (found.raw_line, found.raw_column)
            reason = found.message[at.end() :] if at else found.message
            raise SyntaxError(reason, ("<unknown>", line, column + 1, None)) from None
        try:
            code = lowered(module)
        except (cst.CSTValidationError, cst.ParserSyntaxError):  # a construct the lowering cannot rewrite
            raise error from None
        return cast(ast.Module, _cpython(code))


#: What `parse_python` raises on a source it cannot read.
UNREADABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


def parses(source: str) -> bool:
    """Whether `parse_python` reads `source`."""
    try:
        parse_python(source)
    except UNREADABLE:
        return False
    return True


def _cpython(source: str, mode: str = "exec") -> ast.AST:
    with warnings.catch_warnings():  # CPython's SyntaxWarnings ("'bool' object is not callable") are not ours to print
        warnings.simplefilter("ignore")
        return ast.parse(source, mode=mode)


#: A line that starts a type alias or a generic (PEP 695), an unparenthesised `except` (PEP 758) or holds
#: a t-string (PEP 750): where an older CPython stops on valid newer Python.
_NEWER_LINE = re.compile(
    r"^\s*(?:type\s+\w+\s*[\[=]|(?:async\s+)?def\s+\w+\s*\[|class\s+\w+\s*\[|except\b[^:(]*,)"
    r"|(?<![\w'\"])(?:[tT][rR]?|[rR][tT])['\"]"
)


def _newer_syntax_at(error: SyntaxError, source: str) -> bool:
    """Whether CPython may have stopped at `error` on syntax newer than itself (LibCST's error is then the real one)."""
    if "f-string" in error.msg:
        return True
    lines = source.splitlines()
    return (
        error.lineno is not None
        and 0 < error.lineno <= len(lines)
        and bool(_NEWER_LINE.search(lines[error.lineno - 1]))
    )


def _too_nested(error: SyntaxError) -> bool:
    return "too many nested" in error.msg or "too complex" in error.msg


def parse_module(source: str) -> cst.Module:
    """`libcst.parse_module(source)`, without validating each node as the parser builds it.

    Every LibCST node checks its fields when constructed (`CSTNode.__post_init__`), a tenth of a
    parse; a tree its parser built from source it accepted is valid by construction (LibCST's own
    comment there says so). Nodes made while rules run or fixes are built are checked as usual.
    The engine builds nodes in one thread at a time, so no other node skips its check meanwhile.
    """
    import libcst as cst
    from libcst._nodes.base import CSTNode

    check = CSTNode.__dict__.get("__post_init__")
    if getattr(getattr(check, "__code__", None), "co_names", None) != ("_validate",):
        return cst.parse_module(source)  # a LibCST whose nodes do more when built: parsed as it parses
    CSTNode.__post_init__ = _unchecked  # type: ignore[method-assign,assignment]
    try:
        return cst.parse_module(source)
    finally:
        CSTNode.__post_init__ = check  # type: ignore[method-assign,assignment]


def _unchecked(node: object) -> None:
    """A node's `__post_init__` while `parse_module` parses."""


def parse_expression(text: str) -> cst.BaseExpression | None:
    """`text` (say a string annotation) as a LibCST expression, or None when it is not a safe one."""
    import libcst as cst

    if check_source(text, mode="eval") is not None:
        return None
    try:
        return cst.parse_expression(text)
    except (cst.ParserSyntaxError, ValueError, RecursionError, MemoryError):
        return None


#: What the lexer of `nesting_bound` reads in code: a multi-character operator is one token.
_TOKEN = re.compile(
    r"""(?P<space>[ \t\f]+|\\\r?\n)
      | (?P<newline>\r?\n|\r)
      | (?P<comment>\#[^\r\n]*)
      | (?P<string>(?P<prefix>[rRbBuUfFtT]{0,3})(?P<quote>'''|\"\"\"|'|\"))
      | (?P<number>\.?\d(?:[\w.]|(?<=[eE])[-+])*)
      | (?P<word>\w+)
      | (?P<op>\*\*=?|//=?|>>=?|<<=?|->|:=|\.\.\.|[-+*/%@&|^<>=!]=|[^\w\s])""",
    re.VERBOSE,
)
#: Words that nest what follows them one level deeper (`else` ends what `if` opened).
_NESTING_WORDS = frozenset({"and", "or", "not", "if", "lambda", "await", "yield", "for", "in", "is"})


def _string_end(quote: str, formatted: bool) -> re.Pattern[str]:
    """The text of a string up to its end or, in an f-string, up to a `{` or `}` that is not doubled."""
    q = re.escape(quote[0])
    braces = r"{}" if formatted else ""
    plain = rf"[^\\{braces}{q}{'' if len(quote) == 3 else chr(13) + chr(10)}]"
    alone = rf"|{q}(?!{q}{q})" if len(quote) == 3 else ""
    doubled = r"|\{\{|\}\}" if formatted else ""
    return re.compile(rf"(?:{plain}|\\.{doubled}{alone})*", re.DOTALL)


def _end(pattern: re.Pattern[str], source: str, pos: int) -> int:
    match = pattern.match(source, pos)  # matches the empty string at least
    return match.end() if match is not None else pos


_STRING_ENDS = {(q, f): _string_end(q, f) for q in ("'", '"', "'''", '"""') for f in (False, True)}


def nesting_bound(source: str) -> int:
    """An upper bound of `nesting_depth` for `source`, read from its tokens alone, with no parser.

    It stands in for CPython's parser when that rejects the source (syntax newer than the running
    interpreter), so that LibCST is still never given what would crash it. Every level of nesting
    takes a token: an operator, a nesting keyword, a bracket (which also nests what it closes, like
    a call), an `elif`, a block, a string beside another; a comma starts a sibling at the same level.
    F-strings are read as Python 3.12 reads them (PEP 701: quotes and fields nest).
    """
    deepest = 0
    indents, chains, chained = [0], [0], 0  # open blocks' widths, `elif`s chained at each, their sum
    counts, lambdas = [0], [0]  # per open bracket, the statement first: levels in its element; lambdas
    total = 1  # len(counts) + sum(counts)
    modes: list[tuple[str, str, int]] = []  # f-strings being read: ("text"|"spec"|"field", quote, len(counts))
    at_line_start, after_string = True, False
    line_begin, pos, end = 0, 0, len(source)

    def deeper(by: int = 1) -> None:
        nonlocal total, deepest
        counts[-1] += by
        total += by
        deepest = max(deepest, 2 * len(indents) + chained + total)

    def open_() -> None:
        nonlocal total
        counts.append(0)
        lambdas.append(0)
        total += 1
        deeper(0)

    def close() -> None:
        nonlocal total
        if len(counts) > 1:
            total -= counts.pop() + 1
            lambdas.pop()
            deeper()  # `f(a)(b)`: what a bracket closes nests in what follows it

    while pos < end:
        mode = modes[-1] if modes else None
        if mode is not None and mode[0] != "field":  # inside an f-string's text or a field's format spec
            kind, quote, _ = mode
            pos = _end(_STRING_ENDS[quote, True], source, pos)
            if pos >= end:
                break
            char = source[pos]
            if char == "{":
                pos += 1
                open_()
                modes.append(("field", quote, len(counts)))
            elif kind == "text" and source.startswith(quote, pos):  # the f-string ends
                pos += len(quote)
                modes.pop()
                close()
                after_string = True
            elif kind == "spec" and char == "}":  # the field ends
                pos += 1
                modes.pop()
                close()
            elif char in "\r\n" or source.startswith(quote, pos):  # unterminated: the line or the string ends it
                modes.pop()
                close()
            else:
                pos += 1  # a stray `}` in the text
            continue
        match = _TOKEN.match(source, pos)
        assert match is not None  # the last alternative matches any character but whitespace
        kind, text, pos = match.lastgroup or "", match.group(), match.end()
        if kind in ("space", "comment"):
            continue
        if kind == "newline":
            if len(counts) == 1 and not modes:  # a logical line ends
                total -= counts[0]
                counts[0] = lambdas[0] = 0
                at_line_start, after_string, line_begin = True, False, pos
            continue
        if at_line_start:
            at_line_start = False
            width = len(source[line_begin : match.start()].expandtabs(8))
            while len(indents) > 1 and indents[-1] > width:
                indents.pop()
                chained -= chains.pop()
            if width > indents[-1]:
                indents.append(width)
                chains.append(0)
            step = 1 if text == "elif" else 0 if text == "else" else -chains[-1]
            chains[-1] += step
            chained += step
            deeper(0)
        if kind == "string":
            if after_string:
                deeper()  # LibCST nests adjacent strings pairwise
            quote = match.group("quote")
            if set(match.group("prefix")) & set("fFtT"):
                open_()
                modes.append(("text", quote, len(counts)))
                continue
            pos = _end(_STRING_ENDS[quote, False], source, pos)
            pos += len(quote) if source.startswith(quote, pos) else 0
            after_string = True
            continue
        after_string = False
        field = modes[-1] if modes and modes[-1][2] == len(counts) else None  # at a field's own level
        if kind == "word":
            if text in _NESTING_WORDS:
                deeper()
                if text == "lambda":
                    lambdas[-1] += 1
        elif kind == "op":
            if text in "([{":
                open_()
            elif text == "}" and field is not None:
                modes.pop()
                close()
            elif text in ")]}":
                if field is None or len(counts) > field[2]:
                    close()
            elif text == ",":
                if not lambdas[-1]:  # a lambda's parameters are not siblings of what holds it
                    total -= counts[-1]
                    counts[-1] = 0
            elif text == ";" and len(counts) == 1:
                total -= counts[0]
                counts[0] = 0
            elif text == ":" and lambdas[-1]:
                lambdas[-1] -= 1
            elif text in (":", ":=") and field is not None:  # a format spec follows
                modes[-1] = ("spec", field[1], field[2])
                pos = match.start() + 1
            else:
                deeper()
    return deepest + 2

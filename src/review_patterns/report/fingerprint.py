"""Where a finding stands in the code, independent of its line number: for baselines and CI reports."""

from __future__ import annotations

import hashlib
import io
import tokenize
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from review_patterns.core.model import Finding, printable
from review_patterns.syntax.files import read_source


class Sources:
    """The lines of the reported files, read once each; paths are relative to `root`.

    `files` (path -> text) stands in for the disk, for reports built in memory.
    """

    def __init__(self, root: Path | None = None, files: Mapping[str, str] | None = None) -> None:
        self.root = root if root is not None else Path.cwd()
        self._lines: dict[str, list[str]] = {p: text.splitlines() for p, text in (files or {}).items()}

    def lines(self, path: str) -> list[str]:
        """The file's lines, or none when it cannot be read."""
        if path not in self._lines:
            text, _, _ = read_source(self.root / path)
            self._lines[path] = text.splitlines() if text is not None else []
        return self._lines[path]

    def line(self, path: str, number: int) -> str:
        """Line `number` (1-based) of `path`, or "" when there is none."""
        lines = self.lines(path)
        return printable(lines[number - 1]) if 0 < number <= len(lines) else ""


_LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}


def normalized(code: str) -> str:
    """The line's tokens without comments and whitespace: re-indenting, re-spacing or commenting it
    changes nothing. A line that does not tokenize alone (an open bracket) keeps its comment."""
    try:
        tokens = [
            t.string for t in tokenize.generate_tokens(io.StringIO(code.strip()).readline) if t.type not in _LAYOUT
        ]
    except (tokenize.TokenError, SyntaxError):
        tokens = [code]
    return "".join("".join(tokens).split())


def code_fingerprint(finding: Finding, sources: Sources) -> str:
    """A short hash of the finding's rule and normalized line: the same wherever the line moves."""
    text = f"{finding.code}\0{normalized(sources.line(finding.path, finding.line))}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def unique_fingerprints(findings: Iterable[Finding], sources: Sources) -> list[str]:
    """One stable fingerprint per finding: rule, path, normalized code and which occurrence it is."""
    seen: Counter[tuple[str, str]] = Counter()
    result = []
    for finding in findings:
        key = (finding.path, code_fingerprint(finding, sources))
        seen[key] += 1
        text = f"{finding.path}\0{key[1]}\0{seen[key]}"
        result.append(hashlib.sha256(text.encode()).hexdigest()[:32])
    return result

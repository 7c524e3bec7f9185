"""The source tree read as text and syntax (no import): for the tests about layering, primitives and size."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "lesionkit"


def modules() -> list[Path]:
    """Every module of the package, sorted."""
    return sorted(SRC.rglob("*.py"))


def relative(path: Path) -> str:
    """``path`` relative to ``src/lesionkit``, with forward slashes (``qc/regions.py``)."""
    return path.relative_to(SRC).as_posix()


def stage_of(path: Path) -> str | None:
    """The stage (subpackage) a module belongs to; None for the package's top-level modules."""
    parts = path.relative_to(SRC).parts
    return parts[0] if len(parts) > 1 else None


@cache
def tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, lesionkit module) of every absolute import in ``path``, at any depth (lazy imports included)."""
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            if name == "lesionkit" or name.startswith("lesionkit."):
                yield node.lineno, name


def code_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of ``path`` with strings and comments blanked out: what the code does, not what it says."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    blank = [list(line) for line in lines]
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.STRING, tokenize.COMMENT) or token.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
            (r0, c0), (r1, c1) = token.start, token.end
            for row in range(r0, r1 + 1):
                start = c0 if row == r0 else 0
                end = c1 if row == r1 else len(blank[row - 1])
                blank[row - 1][start:end] = " " * (end - start)
    for number, chars in enumerate(blank, start=1):
        yield number, "".join(chars)


def functions() -> list[tuple[int, str]]:
    """(lines, ``module:line name``) of every function and method, longest first (decorators not counted)."""
    found = []
    for path in modules():
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((node.end_lineno - node.lineno + 1, f"{relative(path)}:{node.lineno} {node.name}"))
    return sorted(found, key=lambda row: (-row[0], row[1]))

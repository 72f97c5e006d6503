"""The project's own source files, read as text (never run), for tests about the tree."""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every import in a file, those inside functions included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef)


def source_files(*folders: str) -> list[Path]:
    """The project's Python files under ``folders`` (the whole tree when none are named),
    the tests and the virtual environments (ours, bench's MLServer one) left out."""
    roots = [PROJECT / folder for folder in folders] or [PROJECT]
    return sorted(
        path
        for root in roots
        for path in ([root] if root.is_file() else root.rglob("*.py"))
        if not any(
            part in ("tests", ".git") or part.startswith(".venv")
            for part in path.relative_to(PROJECT).parts
        )
    )


def own_length(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines, less those of the functions defined inside it (each of those is
    measured on its own)."""
    inner = [
        node for node in ast.walk(function) if node is not function and isinstance(node, FUNCTION)
    ]
    outermost = [
        node
        for node in inner
        if not any(
            other is not node and other.lineno <= node.lineno <= node.end_lineno <= other.end_lineno
            for other in inner
        )
    ]
    nested = sum(node.end_lineno - node.lineno + 1 + len(node.decorator_list) for node in outermost)
    return function.end_lineno - function.lineno + 1 - nested


def long_functions(path: Path, limit: int) -> list[str]:
    """``file:line name (n lines)`` for each function longer than ``limit`` lines of its
    own whose docstring does not say why it must be one piece."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, FUNCTION) or own_length(node) <= limit:
            continue
        if "one piece" in (ast.get_docstring(node) or "").lower():
            continue
        where = path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path.name
        found.append(f"{where}:{node.lineno} {node.name} ({own_length(node)} lines)")
    return found

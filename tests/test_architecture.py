"""The tree keeps its shape: services know nothing of Dash, and the registry, scoring and
files packages know nothing of Flask either; `ruff format` owns the layout of every line."""

from __future__ import annotations

import subprocess

import pytest

from tests.source_tree import PROJECT, imported_roots, long_functions, source_files


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("services", {"dash", "dash_bootstrap_components", "dash_ag_grid"}),
        ("services/registry", {"flask", "flask_caching"}),
        ("services/scoring", {"flask", "flask_caching"}),
        ("services/files", {"flask", "flask_caching"}),
    ],
)
def test_services_stay_free_of_the_ui(folder, forbidden):
    offenders = {
        str(path.relative_to(PROJECT)): sorted(imported_roots(path) & forbidden)
        for path in (PROJECT / folder).rglob("*.py")
        if imported_roots(path) & forbidden
    }
    assert offenders == {}


def test_the_formatter_owns_every_line():
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    marker = "fmt: " + "skip"
    skipped = [
        name
        for name in tracked
        if (PROJECT / name).exists() and marker in (PROJECT / name).read_text()
    ]
    assert skipped == []


LONGEST_FUNCTION = 60


def test_functions_are_short_or_say_why_they_are_one_piece():
    """A function over 60 lines of its own (functions defined inside it measured apart)
    says in its docstring why it must be one piece."""
    found = [entry for path in source_files() for entry in long_functions(path, LONGEST_FUNCTION)]
    assert found == []


def test_a_long_function_without_a_reason_is_found(tmp_path):
    body = "\n".join(f"    x{n} = {n}" for n in range(LONGEST_FUNCTION))
    source = PROJECT / "services" / "_long_function_probe.py"
    source.write_text(f'def long():\n    """Long."""\n{body}\n')
    try:
        assert long_functions(source, LONGEST_FUNCTION) == [
            f"services/_long_function_probe.py:1 long ({LONGEST_FUNCTION + 2} lines)"
        ]
        source.write_text(f'def long():\n    """One piece: a table."""\n{body}\n')
        assert long_functions(source, LONGEST_FUNCTION) == []
    finally:
        source.unlink()

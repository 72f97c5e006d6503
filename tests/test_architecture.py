"""The tree keeps its shape: services know nothing of Dash, and the registry, scoring and
files packages know nothing of Flask either; `ruff format` owns the layout of every line."""

from __future__ import annotations

import subprocess

import pytest

from tests.source_tree import PROJECT, imported_roots


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

"""The tree keeps its shape: services know nothing of Dash, and the registry, scoring and
files packages know nothing of Flask either; no project file grows past 400 lines."""

from __future__ import annotations

import subprocess

import pytest

from tests.source_tree import PROJECT, imported_roots

MAX_LINES = 400


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [("services", {"dash", "dash_bootstrap_components", "dash_ag_grid"}),
     ("services/registry", {"flask", "flask_caching"}),
     ("services/scoring", {"flask", "flask_caching"}),
     ("services/files", {"flask", "flask_caching"})],
)  # fmt: skip
def test_services_stay_free_of_the_ui(folder, forbidden):
    offenders = {
        str(path.relative_to(PROJECT)): sorted(imported_roots(path) & forbidden)
        for path in (PROJECT / folder).rglob("*.py")
        if imported_roots(path) & forbidden
    }
    assert offenders == {}


def test_no_project_file_is_over_400_lines():
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    sources = [PROJECT / name for name in tracked
               if name.endswith((".py", ".js", ".css")) and not name.startswith("assets/ace/")
               and "bootstrap" not in name]  # fmt: skip
    long = {str(p.relative_to(PROJECT)): n for p in sources
            if p.exists() and (n := len(p.read_text().splitlines())) > MAX_LINES}  # fmt: skip
    assert long == {}

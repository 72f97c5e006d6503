"""bench/RESULTS.md keeps each benchmark's current figures, the newest first after the goals
at a glance."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from tests.processes import PROJECT


def replace_section():
    spec = importlib.util.spec_from_file_location("bench_report", PROJECT / "bench" / "report.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.replace_section


def test_a_benchmark_run_replaces_its_section_and_comes_first_after_the_goals(tmp_path: Path):
    results = tmp_path / "RESULTS.md"
    results.write_text(
        "# Benchmark results\n\nintro\n\n## Goals at a glance\n\n| goal |\n\n"
        "## Big load\n\nbig table\n\n## Peers\n\nstale table\n"
    )
    replace_section()(results, "Peers", "# Peers run\n\n## Latency\n\nnew table\n")
    text = results.read_text()
    assert "stale table" not in text and "### Latency\n\nnew table" in text
    order = [text.index(f"## {name}") for name in ("Goals at a glance", "Peers", "Big load")]
    assert order == sorted(order)
    assert text.count("## Peers") == 1

"""Turn timings into the table, the verdicts and the machine description."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import statistics
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version
from pathlib import Path

IN_PROCESS = "in-process predict (the limit)"
PYFUNC = "in-process pyfunc.predict"
GOAL_PERCENT = 50.0
HEADER = ["case", "rows", "median ms", "p90 ms", "vs in-process", "overhead ms"]
VERSIONS_SHOWN = ("mlflow", "pandas", "numpy", "scikit-learn", "gunicorn", "uvicorn")
# Like for like: each of our cases against mlflow serve's case for the same input shape.
VERDICT_PAIRS = [
    ("ours: one record", "mlflow: dataframe_records"),
    ("ours: list of records", "mlflow: dataframe_records"),
    ("ours: dataframe_split", "mlflow: dataframe_split"),
]


@dataclass(frozen=True)
class Result:
    label: str
    rows: int
    median_ms: float
    p90_ms: float


def in_process_median(results: list[Result], rows: int) -> float:
    return next(r.median_ms for r in results if r.rows == rows and r.label == IN_PROCESS)


def table_rows(results: list[Result]) -> list[list[str]]:
    rows = []
    for r in results:
        base = in_process_median(results, r.rows)
        rows.append(
            [
                r.label,
                f"{r.rows:,}",
                f"{r.median_ms:.2f}",
                f"{r.p90_ms:.2f}",
                f"{r.median_ms / base:.2f}x",
                f"{r.median_ms - base:.2f}",
            ]
        )
    return rows


def text_table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(rows: list[list[str]], header: list[str] = HEADER) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _verdict(rows: int, ours: Result, theirs: Result, base: float) -> str:
    our_overhead, their_overhead = ours.median_ms - base, theirs.median_ms - base
    if their_overhead <= 0:
        share, mark = "n/a (mlflow serve showed no overhead)", "?"
    else:
        percent = 100 * our_overhead / their_overhead
        share, mark = f"{percent:.0f}%", "PASS" if percent <= GOAL_PERCENT else "MISS"
    size = "1 row" if rows == 1 else f"{rows:,} rows"
    return (
        f"{size}, {ours.label} vs {theirs.label}: our overhead is {share} "
        f"of mlflow serve's (goal ≤ {GOAL_PERCENT:.0f}%) [{mark}]"
    )


def verdicts(results: list[Result]) -> list[str]:
    """Per size and input shape: our overhead over in-process as a share of mlflow serve's."""
    by_key = {(r.label, r.rows): r for r in results}
    lines = []
    for rows in sorted({r.rows for r in results}):
        base = in_process_median(results, rows)
        for ours_label, theirs_label in VERDICT_PAIRS:
            ours, theirs = by_key.get((ours_label, rows)), by_key.get((theirs_label, rows))
            if ours is not None and theirs is not None:
                lines.append(_verdict(rows, ours, theirs, base))
    return lines


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_lines() -> list[str]:
    cpus = len(os.sched_getaffinity(0))  # what nproc prints
    versions = ", ".join(f"{name} {installed_version(name)}" for name in VERSIONS_SHOWN)
    return [
        f"machine: {cpus} CPUs (nproc), {cpu_model()}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}; {versions}",
    ]


def render_text(results: list[Result], notes: list[str]) -> str:
    return "\n\n".join(
        [
            "\n".join([*machine_lines(), *notes]),
            text_table(table_rows(results)),
            "\n".join(verdicts(results)),
        ]
    )


def render_markdown(results: list[Result], notes: list[str]) -> str:
    bullets = [f"- {line}" for line in [*machine_lines(), *notes]]
    return (
        "\n\n".join(
            [
                "# Prediction latency: our API vs mlflow models serve vs in-process",
                "\n".join(bullets),
                markdown_table(table_rows(results)),
                "\n".join(f"- {line}" for line in verdicts(results)),
            ]
        )
        + "\n"
    )


@dataclass(frozen=True)
class Section:
    title: str
    header: list[str]
    rows: list[list[str]]
    lines: list[str] = field(default_factory=list)


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def render_sections_text(sections: list[Section], notes: list[str]) -> str:
    parts = ["\n".join([*machine_lines(), *notes])]
    for section in sections:
        body = [section.title, text_table(section.rows, section.header), *section.lines]
        parts.append("\n".join(body))
    return "\n\n".join(parts)


def render_sections_markdown(title: str, sections: list[Section], notes: list[str]) -> str:
    parts = [
        f"# {title}",
        "\n".join(f"- {line}" for line in [*machine_lines(), *notes]),
    ]
    for section in sections:
        parts += [f"## {section.title}", markdown_table(section.rows, section.header)]
        if section.lines:
            parts.append("\n".join(f"- {line}" for line in section.lines))
    return "\n\n".join(parts) + "\n"


GLANCE = "Goals at a glance"


def replace_section(results: Path, heading: str, markdown: str) -> None:
    """``markdown`` (a rendered report: its title line dropped, its sections one level down)
    as the section ``## {heading}…`` of ``results``: replaced or added, first after the
    goals at a glance (the newest measurement first)."""
    body = markdown.split("\n", 1)[1].replace("\n## ", "\n### ").strip("\n")
    kept = re.sub(rf"\n## {re.escape(heading)}.*?(?=\n## |\Z)", "", results.read_text(), flags=re.S)
    section = f"## {heading}\n\n{body}\n\n"
    after_glance = re.search(rf"\n## (?!{re.escape(GLANCE)})", kept)
    if after_glance is None:
        results.write_text(f"{kept.rstrip()}\n\n{section}")
        return
    cut = after_glance.start() + 1
    results.write_text(f"{kept[:cut]}{section}{kept[cut:]}")

"""axe-core run in the page under test: the rules, the violations that fail a test, a table
to read them by."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
AXE_SCRIPT = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
FAILING_IMPACTS = frozenset({"critical", "serious"})
# WCAG 2.x A and AA plus axe's best practices: what the audit ran.
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def line(self) -> str:
        shown = ", ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return f"{self.impact:8} {self.rule}: {self.help} [{len(self.targets)}] {shown}"


def run_axe(driver: Any) -> list[Violation]:
    """Every violation axe finds in the document as it is now. The script is injected through
    WebDriver, which the page's Content-Security-Policy does not govern."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE_SCRIPT.read_text(encoding="utf-8"))
    driver.set_script_timeout(60)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const options = {runOnly: {type: 'tag', values: arguments[0]},"
        " resultTypes: ['violations']};"
        "axe.run(document, options).then(r => done(r.violations), e => done({error: String(e)}));",
        RUN_ONLY,
    )
    if isinstance(result, dict):
        raise AssertionError(f"axe failed: {result['error']}")
    return [_violation(v) for v in result]


def _violation(raw: dict[str, Any]) -> Violation:
    targets = tuple(" ".join(map(str, node["target"])) for node in raw["nodes"])
    return Violation(raw["id"], raw.get("impact") or "minor", raw["help"], targets)


def failing(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in FAILING_IMPACTS]

"""The docs keep up with the code: every error code a client can get is in docs/api.md's
table, every link between the docs lands on a file and a heading, and every screenshot the
browser tests write for the docs is shown."""

from __future__ import annotations

import re
from pathlib import Path

from tests.source_tree import PROJECT

DOCS = [
    PROJECT / "README.md",
    PROJECT / "CONTRIBUTING.md",
    *sorted((PROJECT / "docs").glob("*.md")),
]
SCREENSHOTS = PROJECT / "docs" / "screenshots"
# Where an error code is written: a ConsoleError subclass, a JSON body, the request guard.
CODE_PATTERNS = [
    re.compile(r'error_code\s*=\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'"error_code":\s*"([A-Z][A-Z_]+)"'),
    re.compile(r'\(\s*\d{3},\s*"([A-Z][A-Z_]+)",', re.S),
]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def answered_error_codes() -> set[str]:
    codes = set()
    for folder in ("services", "api", "callbacks"):
        for path in (PROJECT / folder).rglob("*.py"):
            text = path.read_text()
            for pattern in CODE_PATTERNS:
                codes |= set(pattern.findall(text))
    return codes


def test_every_error_code_is_in_the_api_docs():
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", (PROJECT / "docs" / "api.md").read_text()))
    missing = sorted(answered_error_codes() - documented)
    assert "PERMISSION_DENIED" in answered_error_codes()  # the scan finds them
    assert missing == [], f"error codes missing from docs/api.md's Errors table: {missing}"


def anchor(heading: str) -> str:
    """A heading's anchor as GitHub writes it."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return {anchor(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_links_between_the_docs_land():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file_part, _, fragment = target.partition("#")
            path = (doc.parent / file_part).resolve() if file_part else doc
            if not path.exists():
                broken.append(f"{doc.name}: {target} (no such file)")
            elif fragment and path.suffix == ".md" and fragment not in anchors(path):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert broken == []


def test_every_docs_screenshot_is_shown_and_every_shown_one_exists():
    shown = {
        (doc.parent / target).resolve()
        for doc in DOCS
        for target in LINK.findall(doc.read_text())
        if target.endswith(".png")
    }
    written = {path.resolve() for path in SCREENSHOTS.glob("*.png")}
    assert sorted(p.name for p in written - shown) == []  # taken but shown nowhere
    assert sorted(p.name for p in shown - written) == []  # shown but never taken

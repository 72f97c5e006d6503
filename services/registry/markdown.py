"""Make a model owner's Markdown safe to render: no raw HTML, no script or data links.

The description comes from whoever registered the model. Raw HTML is escaped (it shows as
text), and every link or image destination must be http(s), mailto or relative; anything
else, however it is spelled (entities, case, control characters), becomes ``#``.
Images are turned into links so a description cannot load tracking pixels.
"""

from __future__ import annotations

import html
import re

ALLOWED_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_INLINE_LINK = re.compile(r"(!?)\[([^\]]*)\]\(\s*(<[^>]*>|[^)\s]*)((?:\s+\"[^\"]*\")?\s*)\)")
_REFERENCE = re.compile(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)(.*)$", re.MULTILINE)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.\-]*:[^>\s]*)>")


def is_safe_url(url: str) -> bool:
    decoded = html.unescape(url.strip("<> "))
    compact = re.sub(r"[\x00-\x20\x7f]+", "", decoded).lower()
    match = _SCHEME.match(compact)
    return match is None or match.group(1) in ALLOWED_SCHEMES


def _safe(url: str) -> str:
    return url if is_safe_url(url) else "#"


def _inline(match: re.Match[str]) -> str:
    bang, text, url, title = match.groups()
    label = f"image: {text}" if bang else text
    return f"[{label}]({_safe(url)}{title})"


def _autolink(match: re.Match[str]) -> str:
    url = match.group(1)
    return f"<{url}>" if is_safe_url(url) else html.escape(url)


def safe_markdown(text: str | None) -> str:
    if not text:
        return ""
    text = _INLINE_LINK.sub(_inline, text)
    text = text.replace("![", "[image: ")  # reference-style images (![x][ref], ![ref]) too
    text = _REFERENCE.sub(lambda m: f"{m.group(1)}{_safe(m.group(2))}{m.group(3)}", text)
    text = _AUTOLINK.sub(_autolink, text)
    return _escape_html_tags(text)


def _escape_html_tags(text: str) -> str:
    """Escape ``<`` that would open an HTML tag or comment; autolinks were handled above."""
    return re.sub(r"<(?=[a-zA-Z/!?])(?![a-zA-Z][a-zA-Z0-9+.\-]*:[^>\s]*>)", "&lt;", text)

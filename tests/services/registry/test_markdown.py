"""A model owner's description: what survives rendering and what does not."""

from __future__ import annotations

import pytest

from services.registry.markdown import is_safe_url, safe_markdown


@pytest.mark.parametrize(
    "text",
    [
        "![pixel](http://127.0.0.1:9/p.gif)",
        "![reference pixel][px]\n\n[px]: http://127.0.0.1:9/p.gif",
        "![px]\n\n[px]: http://127.0.0.1:9/p.gif",
        "![px][]\n\n[px]: http://127.0.0.1:9/p.gif",
    ],
)
def test_no_image_of_any_spelling_survives(text):
    rendered = safe_markdown(text)
    assert "![" not in rendered
    assert "image:" in rendered  # the reader still sees that an image was there, as a link


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:x",
        "java&#x09;script:x",
        "data:,x",
    ],
)
def test_script_and_data_destinations_become_hash(url):
    assert not is_safe_url(url)
    assert "[x](#)" in safe_markdown(f"[x]({url})")
    assert "[r]: #" in safe_markdown(f"[x][r]\n\n[r]: {url}")


def test_ordinary_links_and_text_are_kept():
    text = "## Notes\n\nSee [docs](https://mlflow.org/docs) or <https://mlflow.org>. a < b"
    assert safe_markdown(text) == text


def test_raw_html_is_escaped():
    assert safe_markdown("<script>x</script>") == "&lt;script>x&lt;/script>"
    assert safe_markdown("<img src=x onerror=alert(1)>").startswith("&lt;img")

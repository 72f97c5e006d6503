"""MLflow's entities read as plain values, and the small rules about names and places that
the registry client follows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.errors import cut

LOCAL_SCHEMES = {"sqlite", "file"}


def timestamp(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def is_unreachable(exc: BaseException) -> bool:
    text = str(exc)
    markers = ("Max retries exceeded", "Connection refused", "unable to open database", "timed out")
    return any(marker in text for marker in markers)


def own_file(path: str) -> bool:
    """A relative path with no way out of the folder it is relative to."""
    parts = path.replace("\\", "/").split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and ":" not in parts[0]


def example_records(raw: Any) -> list[dict[str, Any]] | None:
    """MLflow stores examples as split-oriented frames or plain lists; return records."""
    if isinstance(raw, dict) and "columns" in raw and "data" in raw:
        return [dict(zip(raw["columns"], row, strict=False)) for row in raw["data"]]
    if isinstance(raw, list) and all(isinstance(row, dict) for row in raw):
        return raw
    if isinstance(raw, dict) and "inputs" in raw:
        return example_records(raw["inputs"])
    return None


def display_uri(uri: str) -> str:
    """The URI fit to show anyone: no user:password part, and of a local database or folder
    only its last name (where the server keeps its files is not theirs to read)."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return f"…/{uri.rstrip('/').rsplit('/', 1)[-1]}" if "/" in uri else uri
    if scheme.split("+")[0] in LOCAL_SCHEMES:
        return f"{scheme}:///…/{rest.rstrip('/').rsplit('/', 1)[-1]}"
    if "@" in rest.split("/", 1)[0]:
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


MAX_VERSION = 2**63 - 1  # registries keep version numbers as 64-bit integers
MAX_NAME_LENGTH = 768  # three Unity Catalog names of 255 and their dots


def is_version_number(ref: str) -> bool:
    return ref.isascii() and ref.isdigit()


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a registered model's name, in words; None when it can."""
    if not name.strip():
        return "A model name cannot be empty."
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "A model name cannot contain line breaks or other control characters."
    if not name.strip(". "):
        return f"'{cut(name)}' is not a model name: names cannot be made of dots alone."
    if len(name) > MAX_NAME_LENGTH:
        return f"A model name has at most {MAX_NAME_LENGTH} characters."
    return None


def logged_model_id(source: str) -> str | None:
    prefix = "models:/m-"
    if source.startswith(prefix) and "/" not in source[len("models:/") :]:
        return source[len("models:/") :]
    return None


def listed(model: Any, attribute: str) -> Any:
    """A model's tags or aliases. Unity Catalog's search results carry neither (the attribute
    is a method that raises): a listing shows them empty; ``get_model`` has them."""
    value = getattr(model, attribute, None)
    return None if callable(value) else value


def aliases_of(model: Any) -> dict[str, str]:
    aliases = listed(model, "aliases") or {}
    if isinstance(aliases, dict):
        return {alias: str(version) for alias, version in aliases.items()}
    return {a.alias: str(a.version) for a in aliases}


def quoted(name: str) -> str:
    return name.replace("'", "\\'")

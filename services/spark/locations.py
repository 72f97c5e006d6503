"""Where a table job reads and writes, and whether this user may name that place.

The cluster reads and writes with its own identity, so the console decides, before any Spark
work, which places a user may name: the user's own area (an uploaded file, a result kept
for download) always, and otherwise only what the operator lists in
``SPARK_ALLOWED_LOCATIONS`` (prefixes of paths, URIs and ``table:`` names). On Databricks
the session carries the user's own token, so Unity Catalog decides as well.

A location is written as the user sends it:

- ``upload:<file_id>``: a file the user uploaded (in the user's own area);
- ``table:<catalog.schema.name>``: a table in the Spark catalog;
- a path or URI (``/data/in.parquet``, ``s3a://bucket/in/``, ``file:/data/parts/``):
  Parquet, or CSV when it ends in ``.csv``; a directory of parts is read whole.
- as a destination, nothing (or ``mine``): the user's own area, downloadable when small.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import StrEnum

from services.errors import InvalidInput, PermissionDenied, cut

UPLOAD_PREFIX = "upload:"
TABLE_PREFIX = "table:"
MINE = "mine"
GLOB_SIGNS = ("*", "?", "[", "]", "{", "}")
_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):(//)?")
LOCATION_HINT = (
    "Name an uploaded file (upload:<file_id>), a table (table:<name>), or a path under one "
    "of the places the operator allows (SPARK_ALLOWED_LOCATIONS)."
)


class Kind(StrEnum):
    UPLOAD = "upload"  # a file in the user's own area
    MINE = "mine"  # the user's own area, as a destination
    PATH = "path"
    TABLE = "table"


@dataclass(frozen=True)
class Location:
    kind: Kind
    value: str  # file id, table name, or normalised path/URI

    @property
    def name(self) -> str:
        """What the audit record and the job page call it (never data)."""
        if self.kind is Kind.MINE:
            return "your files"
        return f"{self.kind}:{self.value}" if self.kind is not Kind.PATH else self.value

    @property
    def text(self) -> str:
        """As ``parse_location`` reads it back (what a job's record keeps)."""
        return MINE if self.kind is Kind.MINE else self.name

    @property
    def is_csv(self) -> bool:
        return self.kind is Kind.PATH and self.value.lower().rstrip("/").endswith(".csv")


def parse_location(raw: object, *, destination: bool = False) -> Location:
    """The location a user wrote, normalised (``..`` cannot climb out of a prefix)."""
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", MINE)):
        if destination:
            return Location(Kind.MINE, "")
        raise InvalidInput("Say which table to score: a source is needed.", hint=LOCATION_HINT)
    if not isinstance(raw, str) or len(raw) > 2000 or any(ord(c) < 32 for c in raw):
        raise InvalidInput("That is not a location.", hint=LOCATION_HINT)
    text = raw.strip()
    if text.startswith(UPLOAD_PREFIX):
        if destination:
            raise InvalidInput(
                "An uploaded file is a source, not a destination.",
                hint="Leave the destination empty to keep the result in your files.",
            )
        return Location(Kind.UPLOAD, text[len(UPLOAD_PREFIX) :])
    if text.startswith(TABLE_PREFIX):
        name = text[len(TABLE_PREFIX) :]
        if not _TABLE_NAME.fullmatch(name):
            raise InvalidInput(
                f"{cut(name)} is not a table name.",
                hint="Write it as catalog.schema.table (letters, digits, _).",
            )
        return Location(Kind.TABLE, name)
    return Location(Kind.PATH, _normalised_path(text))


def _normalised_path(text: str) -> str:
    match = _SCHEME.match(text)
    scheme = match.group(0) if match else ""
    rest = text[len(scheme) :]
    if not scheme and not rest.startswith("/"):
        raise InvalidInput(f"{cut(text)} is not an absolute path or a URI.", hint=LOCATION_HINT)
    if "\\" in rest:
        raise InvalidInput("Paths use forward slashes.", hint=LOCATION_HINT)
    if any(sign in rest for sign in GLOB_SIGNS):  # Spark would expand them past the prefix check
        raise InvalidInput(
            f"{cut(text)} has a wildcard or a set ({' '.join(GLOB_SIGNS)}).",
            hint="Name one file or a directory of parts; a directory is read whole.",
        )
    trailing = "/" if rest.endswith("/") else ""
    cleaned = posixpath.normpath(rest) if rest else rest
    if scheme in ("file:", "file://"):  # one spelling for local paths, so prefixes compare
        scheme = ""
        cleaned = "/" + cleaned.lstrip("/")
    return scheme + cleaned + (trailing if cleaned != "/" else "")


def _under(location: str, prefix: str) -> bool:
    """Whole path segments only: ``/data/team`` allows ``/data/team/x``, not ``/data/teamB``."""
    if prefix.endswith(("/", ".", ":")):
        return location.startswith(prefix)
    return location == prefix or location.startswith(prefix + "/")


def allowed_prefixes(raw: tuple[str, ...]) -> tuple[str, ...]:
    """The operator's prefixes, in the same normal form as users' locations."""
    prefixes = []
    for prefix in raw:
        if prefix.startswith(TABLE_PREFIX):
            prefixes.append(prefix)
        else:
            normal = _normalised_path(prefix)
            prefixes.append(normal if not prefix.endswith("/") else normal.rstrip("/") + "/")
    return tuple(prefixes)


def check_allowed(
    location: Location, prefixes: tuple[str, ...], *, writing: bool, private: str = ""
) -> None:
    """Refuse a place outside the user's own area and the operator's list, and any path in
    the console's own ``private`` folder (everyone's uploads, the audit log), however wide
    the operator's prefixes."""
    if location.kind in (Kind.UPLOAD, Kind.MINE):
        return  # the user's own area (the file id is looked up in it)
    spelled = location.name
    inside_private = bool(private) and _under(spelled, _normalised_path(private).rstrip("/"))
    if not inside_private and any(_under(spelled, prefix) for prefix in prefixes):
        return
    verb = "write to" if writing else "read"
    raise PermissionDenied(
        f"This console may not {verb} {cut(spelled, 200)}: it is outside the places its "
        "operator allows for Spark jobs.",
        hint=("Allowed: your own files, and " + ", ".join(prefixes) + ".")
        if prefixes
        else "Only your own files are allowed; the operator can add places in "
        "SPARK_ALLOWED_LOCATIONS.",
    )

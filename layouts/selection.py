"""The model this page loaded: one type wherever the page's choice is read.

The page keeps it in a session store (``Page.SELECTION``); it is only a choice. Every
prediction goes to exactly the version it names (an alias that moves later takes effect at
the next Load Model), and the services check the caller's permission on every call with the
caller's own credentials, whatever the page says.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.errors import InvalidInput


def no_model() -> InvalidInput:
    return InvalidInput(
        "No model is loaded in this session.",
        hint="Open Model Configuration, pick a model and a version, and press Load Model.",
    )


@dataclass(frozen=True)
class Selection:
    name: str
    ref: str  # as the person asked for it: a version, an alias or ``latest``
    version: str  # what it resolved to when it was loaded
    alias: str | None = None  # the alias that reached it, if one did

    @classmethod
    def from_store(cls, data: Any) -> Selection | None:
        """The store's value read back to its shape; anything else (forged, or written by
        an older console) is no selection."""
        if not isinstance(data, dict):
            return None
        name, ref, version = data.get("name"), data.get("ref"), data.get("version")
        alias = data.get("alias")
        if not all(isinstance(v, str) and v for v in (name, ref, version)):
            return None
        if alias is not None and not isinstance(alias, str):
            return None
        return cls(name, ref, version, alias or None)

    @classmethod
    def required(cls, data: Any) -> Selection:
        """The loaded model, or the error that says to load one."""
        selection = cls.from_store(data)
        if selection is None:
            raise no_model()
        return selection

    def to_store(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """``name v2 @Champion``: how the page names it in a sentence."""
        alias = f" @{self.alias}" if self.alias else ""
        return f"{self.name} v{self.version}{alias}"

    def same_version(self, other: Selection | None) -> bool:
        return other is not None and (self.name, self.version) == (other.name, other.version)


def selection_store_reader(data: Any) -> dict[str, Any] | None:
    """For the callback guard: the store's value if it reads as a selection, else None."""
    selection = Selection.from_store(data)
    return None if selection is None else selection.to_store()

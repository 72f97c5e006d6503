"""What each API route takes and answers, declared once: the route reads its query
parameters through its declaration, and ``api/openapi.py`` writes the OpenAPI document from
the same declarations, so the reference cannot drift from what the code reads.

A route is declared by one line under its ``@api.get/post(...)`` line::

    @api.post("/models/<name>/<ref>/predict")
    @declared(operations.PREDICT)
    def predict(name: str, ref: str) -> Response: ...

and reads ``query("probabilities")``, never ``request.args`` itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import current_app, request

from api.error_codes import ErrorCode

View = TypeVar("View", bound=Callable[..., Any])
_DECLARATION = "__api_operation__"
TRUE_WORDS = {"1", "true", "yes"}


@dataclass(frozen=True)
class Param:
    """A query parameter (or, with ``where="header"``, a request header)."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})
    default: Any = None
    where: str = "query"

    @property
    def is_flag(self) -> bool:
        return self.schema.get("type") == "boolean"

    def read(self, values: Mapping[str, str]) -> Any:
        """The value as the route uses it: a flag is on for 1, true or yes (any case);
        anything else is the text sent, or the declared default when it is absent or empty."""
        raw = values.get(self.name)
        if self.is_flag:
            return (raw or "").lower() in TRUE_WORDS
        return raw if raw else self.default


@dataclass(frozen=True)
class Body:
    """One form a request body may take: a media type and its schema."""

    media_type: str
    schema: Mapping[str, Any]
    description: str = ""
    examples: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """One successful answer: its status, media type, schema and headers."""

    status: int
    description: str
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # name → description


@dataclass(frozen=True)
class Operation:
    """Everything the reference says about one route and method."""

    summary: str
    tag: str
    answers: tuple[Answer, ...]
    errors: tuple[ErrorCode, ...] = ()
    params: tuple[Param, ...] = ()
    bodies: tuple[Body, ...] = ()
    body_required: bool = True
    description: str = ""
    # A route that is no operation of its own (the catch-all that answers 404): listed
    # here so that a route without any declaration still stands out.
    documented: bool = True

    def param(self, name: str, where: str = "query") -> Param:
        for param in self.params:
            if param.name == name and param.where == where:
                return param
        raise LookupError(f"{name!r} is not a declared {where} parameter of {self.summary!r}")


def declared(operation: Operation) -> Callable[[View], View]:
    """Attach ``operation`` to the view function (the decorator under the route's line)."""

    def attach(view: View) -> View:
        setattr(view, _DECLARATION, operation)
        return view

    return attach


def declaration_of(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, _DECLARATION, None)


def current_operation() -> Operation:
    """The declaration of the route serving this request."""
    view = current_app.view_functions.get(request.endpoint or "")
    operation = declaration_of(view) if view is not None else None
    if operation is None:
        raise LookupError(f"route {request.endpoint!r} has no declared operation")
    return operation


def query(name: str) -> Any:
    """A query parameter of this request, read as the route's declaration says."""
    return current_operation().param(name).read(request.args)


def header(name: str) -> Any:
    """A request header the route declares, read the same way."""
    return current_operation().param(name, where="header").read(request.headers)

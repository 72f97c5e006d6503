"""The OpenAPI 3.1 document of the API, written from Flask's url_map and the operations the
routes declare (``api/contract.py``, ``api/operations.py``): nothing here is a second copy
of a route. A route under ``/api`` without a declaration makes the document fail to build."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

from api.contract import Answer, Body, Operation, Param, declaration_of
from api.error_codes import ErrorCode
from api.operations import PATH_PARAMS
from api.schemas import SCHEMAS, ref
from services.access.caller import MODE_DATABRICKS, MODE_MLFLOW_BASIC
from services.access.identity import TOKEN_HEADER, USER_HEADERS

OPENAPI_VERSION = "3.1.0"
IGNORED_METHODS = {"HEAD", "OPTIONS"}
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class UndeclaredRoute(LookupError):
    """A route under /api whose view has no ``@declared(...)``."""


def path_template(rule: str) -> str:
    """Flask's ``/models/<name>/<path:x>`` → OpenAPI's ``/models/{name}/{x}``."""
    return _CONVERTER.sub(r"{\1}", rule)


def api_rules(server: Flask, mount: str) -> list[Rule]:
    """Every rule of the console mounted at ``mount`` whose path is under its /api."""
    api = f"{mount.rstrip('/')}/api/"
    return sorted(
        (rule for rule in server.url_map.iter_rules() if rule.rule.startswith(api)),
        key=lambda rule: rule.rule,
    )


def declared_operations(server: Flask, mount: str) -> list[tuple[Rule, Operation]]:
    found, missing = [], []
    for rule in api_rules(server, mount):
        operation = declaration_of(server.view_functions[rule.endpoint])
        if operation is None:
            missing.append(f"{rule.rule} ({rule.endpoint})")
        else:
            found.append((rule, operation))
    if missing:
        raise UndeclaredRoute(f"routes without @declared(...): {', '.join(missing)}")
    return found


def openapi_document(
    server: Flask, mount: str, public_prefix: str, auth_mode: str, version: str = "1"
) -> dict[str, Any]:
    """The document for the console mounted at ``mount``; ``public_prefix`` is where a
    client reaches it (Dash's requests_pathname_prefix: the same, unless a proxy strips it)."""
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for rule, operation in declared_operations(server, mount):
        if not operation.documented:
            continue
        path = "/" + path_template(rule.rule[len(mount.rstrip("/")) :]).lstrip("/")
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            paths[path][method.lower()] = _operation(rule, operation)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Model Console API",
            "version": version,
            "description": "The console's JSON API over the MLflow Model Registry: the same "
            "checks, permissions, audit log and errors as the console's page.",
        },
        "servers": [{"url": public_prefix.rstrip("/") or "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": SCHEMAS},
    }
    schemes = _security_schemes(auth_mode)
    if schemes:
        document["components"]["securitySchemes"] = schemes
        document["security"] = [{name: [] for name in schemes}]  # each request needs all
    return document


def _security_schemes(auth_mode: str) -> dict[str, Any]:
    """How a request says who sends it, in this console's identity mode (none: nobody)."""
    if auth_mode == MODE_MLFLOW_BASIC:
        return {"mlflowBasic": {"type": "http", "scheme": "basic"}}
    if auth_mode == MODE_DATABRICKS:  # set by the Databricks Apps proxy, never by a client
        return {
            "forwardedUser": {"type": "apiKey", "in": "header", "name": USER_HEADERS[0]},
            "forwardedToken": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
        }
    return {}


def _operation(rule: Rule, operation: Operation) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "operationId": rule.endpoint.rsplit(".", 1)[-1],
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(rule, operation),
        "responses": {**_answers(operation.answers), **_errors(operation.errors)},
    }
    if operation.description:
        spec["description"] = operation.description
    if operation.bodies:
        spec["requestBody"] = _request_body(operation.bodies, operation.body_required)
    return spec


def _parameters(rule: Rule, operation: Operation) -> list[dict[str, Any]]:
    in_path = [
        PATH_PARAMS.get(name) or Param(name, name, where="path")
        for name in _CONVERTER.findall(rule.rule)
    ]
    return [_parameter(param) for param in (*in_path, *operation.params)]


def _parameter(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "in": param.where,
        "required": param.where == "path",
        "description": param.description,
        "schema": dict(param.schema),
    }


def _request_body(bodies: Iterable[Body], required: bool) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for body in bodies:
        entry: dict[str, Any] = {"schema": dict(body.schema)}
        if body.description:
            entry["schema"].setdefault("description", body.description)
        if body.examples:
            entry["examples"] = dict(body.examples)
        content[body.media_type] = entry
    return {"required": required, "content": content}


def _answers(answers: Iterable[Answer]) -> dict[str, Any]:
    by_status: dict[str, dict[str, Any]] = {}
    for answer in answers:
        response = by_status.setdefault(str(answer.status), {"description": answer.description})
        if answer.description not in response["description"]:
            response["description"] += " " + answer.description
        media: dict[str, Any] = {"schema": dict(answer.schema)} if answer.schema else {}
        response.setdefault("content", {})[answer.media_type] = media
        if answer.headers:
            response.setdefault("headers", {}).update(
                {
                    name: {"description": words, "schema": {"type": "string"}}
                    for name, words in answer.headers.items()
                }
            )
    return by_status


def _errors(errors: Iterable[ErrorCode]) -> dict[str, Any]:
    """One response per status; its ``error_code`` is one of the codes this route can meet
    with that status, so a client can tell them apart and a new one is seen in review."""
    by_status: dict[int, list[ErrorCode]] = defaultdict(list)
    for error in errors:
        by_status[error.status].append(error)
    responses = {}
    for status, found in sorted(by_status.items()):
        names = sorted({e.code for e in found})
        schema = {
            "allOf": [ref("Error"), {"properties": {"error_code": {"enum": names}}}],
        }
        words = "; ".join(f"`{e.code}`: {e.title}" for e in sorted(found, key=lambda e: e.code))
        responses[str(status)] = {
            "description": words,
            "content": {"application/json": {"schema": schema}},
        }
    return responses

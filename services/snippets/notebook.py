"""The model versions of a request loaded in a notebook with MLflow, from the registry the
console reads, by the references chosen (an alias follows promotions), predicting the same
rows."""

from __future__ import annotations

from services.snippets.request import (
    EVALUATE,
    MODE_BASIC,
    MODE_DATABRICKS,
    PASSWORD_VARIABLE,
    TOKEN_VARIABLE,
    USER_VARIABLE,
    SnippetRequest,
    frame_source,
    model_uri,
    python_literal,
    registry_without_credentials,
)


def notebook(request: SnippetRequest) -> str:
    lines = [*_comment(request.auth_mode), "import mlflow", "import pandas as pd", ""]
    lines += _registries(request)
    lines.append(f"rows = {frame_source(request)}")
    if request.action == EVALUATE:
        lines.append(f"truth = rows.pop({request.label!r})")
    uris = [model_uri(request.model, ref) for ref in request.refs]
    if len(uris) == 1:
        lines += [f"model = mlflow.pyfunc.load_model({uris[0]!r})", "print(model.predict(rows))"]
        return "\n".join(lines)
    lines += [
        f"versions = {python_literal(uris)}",
        "predictions = pd.DataFrame(",
        "    {uri: mlflow.pyfunc.load_model(uri).predict(rows) for uri in versions}",
        ")",
    ]
    if request.action == EVALUATE:
        lines.append("predictions.insert(0, 'truth', truth)")
    lines.append("print(predictions)")
    return "\n".join(lines)


def _registries(request: SnippetRequest) -> list[str]:
    tracking = registry_without_credentials(request.tracking_uri)
    registry = registry_without_credentials(request.registry_uri)
    lines = []
    if tracking:
        lines.append(f"mlflow.set_tracking_uri({tracking!r})")
    if registry and registry != tracking:
        lines.append(f"mlflow.set_registry_uri({registry!r})")
    return lines


def _comment(mode: str) -> list[str]:
    if mode == MODE_BASIC:
        return [f"# MLflow reads your user and password from {USER_VARIABLE}, {PASSWORD_VARIABLE}."]
    if mode == MODE_DATABRICKS:
        return [
            "# In a Databricks notebook you are signed in; elsewhere set DATABRICKS_HOST and",
            f"# {TOKEN_VARIABLE} (e.g. from `databricks auth token`).",
        ]
    return []

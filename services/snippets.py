""" "Use via API": the request just made in the console, written as code to run elsewhere
(curl, Python ``requests``, JavaScript ``fetch``, a Databricks-style Python function over a
DataFrame), and the same model loaded in a notebook with MLflow.

Filled with the console's address as the caller's browser reached it (its prefix included),
the model and the reference the caller chose, the body sent, and the registry the console
reads. Credentials are never written: each mode's are read from environment variables the
snippet names (and a registry URI loses any user and password it holds)."""

from __future__ import annotations

import json
import pprint
import shlex
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from services.registry.client import LATEST
from services.registry.records import is_version_number

MODE_NONE, MODE_BASIC, MODE_DATABRICKS = "none", "mlflow-basic", "databricks"
TOKEN_VARIABLE = "DATABRICKS_TOKEN"
USER_VARIABLE, PASSWORD_VARIABLE = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
TIMEOUT_SECONDS = 60


def console_url(href: str | None) -> str | None:
    """The console's own address from the page's URL as the browser shows it: scheme, host
    and the path up to the page (the prefix), without query or fragment. None for anything
    but an http(s) URL (the value comes from the browser)."""
    if not isinstance(href, str) or len(href) > 2000:
        return None
    parts = urlsplit(href.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    path = parts.path[: parts.path.rfind("/") + 1] or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class SnippetRequest:
    """One prediction request: where, which model, how the caller signs in, what is sent
    (a JSON body, or a CSV file by its name)."""

    base_url: str  # the console's address, ending in "/"
    model: str
    ref: str  # as the caller chose it: an alias follows promotions, a version stays
    auth_mode: str
    payload: Any = None
    csv_file: str | None = None
    registry_uri: str = ""  # where a notebook finds the model (MLflow's registry URI)
    tracking_uri: str = ""  # and its files (an MLflow server's proxied artifacts)

    @property
    def url(self) -> str:
        return (
            f"{self.base_url}api/models/{quote(self.model, safe='')}/{quote(self.ref, safe='')}"
            "/predict"
        )


@dataclass(frozen=True)
class Snippets:
    curl: str
    python: str
    javascript: str
    databricks: str
    notebook: str


def snippets(request: SnippetRequest) -> Snippets:
    return Snippets(
        curl(request),
        python_requests(request),
        javascript_fetch(request),
        databricks_python(request),
        notebook(request),
    )


def curl(request: SnippetRequest) -> str:
    lines = [f"curl -sS -X POST {shlex.quote(request.url)}"]
    lines += _curl_auth(request.auth_mode)
    if request.csv_file is not None:
        lines += [
            "-H 'Content-Type: text/csv'",
            f"--data-binary {shlex.quote('@' + request.csv_file)}",
            f"-o {shlex.quote(_result_name(request.csv_file))}",
        ]
    else:
        body = json.dumps(request.payload, ensure_ascii=False, separators=(",", ":"))
        lines += ["-H 'Content-Type: application/json'", f"-d {shlex.quote(body)}"]
    return " \\\n  ".join(lines)


def _curl_auth(mode: str) -> list[str]:
    if mode == MODE_BASIC:
        return [f'-u "${USER_VARIABLE}:${PASSWORD_VARIABLE}"']
    if mode == MODE_DATABRICKS:
        return [f'-H "Authorization: Bearer ${TOKEN_VARIABLE}"']
    return []


def python_requests(request: SnippetRequest) -> str:
    auth = _python_auth(request.auth_mode)
    lines = [*auth.imports, "import requests", "", f"url = {request.url!r}"]
    call = ["url", *auth.arguments, f"timeout={TIMEOUT_SECONDS}"]
    if request.csv_file is not None:
        lines += [
            f"with open({request.csv_file!r}, 'rb') as body:",
            "    response = requests.post(",
            *(
                f"        {a},"
                for a in [*call, "data=body", "headers={'Content-Type': 'text/csv'}"]
            ),
            "    )",
            "response.raise_for_status()",
            f"with open({_result_name(request.csv_file)!r}, 'wb') as result:",
            "    result.write(response.content)",
        ]
    else:
        lines += [
            f"payload = {_python_literal(request.payload)}",
            "response = requests.post(",
            *(f"    {a}," for a in [*call, "json=payload"]),
            ")",
            "response.raise_for_status()",
            "print(response.json()['predictions'])",
        ]
    return "\n".join([*auth.comment, *lines])


def databricks_python(request: SnippetRequest) -> str:
    """The shape of Databricks' "Query endpoint" Python: a function that scores a DataFrame
    (sent as ``dataframe_split``) and raises on a refusal."""
    auth = _python_auth(request.auth_mode)
    headers = "{'Content-Type': 'application/json'" + auth.header_entry + "}"
    lines = [
        *auth.comment,
        *auth.imports,
        "import pandas as pd",
        "import requests",
        "",
        "",
        "def score_model(dataset):",
        f"    url = {request.url!r}",
        f"    headers = {headers}",
        "    if isinstance(dataset, pd.DataFrame):",
        "        data = {'dataframe_split': dataset.to_dict(orient='split', index=False)}",
        "    else:",
        "        data = dataset",
        "    response = requests.post(",
        *(f"        {a}," for a in ["url", *auth.basic_argument, "headers=headers", "json=data"]),
        f"        timeout={TIMEOUT_SECONDS},",
        "    )",
        "    if response.status_code != 200:",
        "        raise Exception(f'Request failed with status {response.status_code}, "
        "{response.text}')",
        "    return response.json()",
        "",
        "",
        f"result = score_model({_dataset(request)})",
        "print(result['predictions'])",
    ]
    return "\n".join(lines)


def javascript_fetch(request: SnippetRequest) -> str:
    """An ES module for Node 18 or later (``fetch`` built in; top-level ``await``)."""
    headers = [*_javascript_auth(request.auth_mode)]
    lines = [f"// Node 18 or later, saved as predict.mjs{_javascript_comment(request.auth_mode)}"]
    if request.csv_file is not None:
        lines += ['import { readFile, writeFile } from "node:fs/promises";', ""]
        headers.insert(0, '"Content-Type": "text/csv"')
        body = f"await readFile({json.dumps(request.csv_file)})"
    else:
        payload = json.dumps(request.payload, ensure_ascii=False, indent=2)
        lines += [f"const payload = {payload};", ""]
        headers.insert(0, '"Content-Type": "application/json"')
        body = "JSON.stringify(payload)"
    lines += [
        f"const response = await fetch({json.dumps(request.url)}, {{",
        '  method: "POST",',
        "  headers: {",
        *(f"    {header}," for header in headers),
        "  },",
        f"  body: {body},",
        f"  signal: AbortSignal.timeout({TIMEOUT_SECONDS * 1000}),",
        "});",
        "if (!response.ok) {",
        "  throw new Error(`${response.status}: ${await response.text()}`);",
        "}",
    ]
    if request.csv_file is not None:
        result = json.dumps(_result_name(request.csv_file))
        lines.append(f"await writeFile({result}, Buffer.from(await response.arrayBuffer()));")
    else:
        lines.append("console.log(JSON.stringify((await response.json()).predictions));")
    return "\n".join(lines)


def _javascript_auth(mode: str) -> list[str]:
    if mode == MODE_BASIC:
        pair = f"`${{process.env.{USER_VARIABLE}}}:${{process.env.{PASSWORD_VARIABLE}}}`"
        return [f'Authorization: "Basic " + Buffer.from({pair}).toString("base64")']
    if mode == MODE_DATABRICKS:
        return [f"Authorization: `Bearer ${{process.env.{TOKEN_VARIABLE}}}`"]
    return []


def _javascript_comment(mode: str) -> str:
    where = _credentials(mode)
    return f"; {where[0].lower()}{where[1:]}" if where else "."


def _credentials(mode: str) -> str:
    """Where the snippet reads the caller's own credentials, in words ("" without any)."""
    if mode == MODE_BASIC:
        return f"Your MLflow user and password in {USER_VARIABLE}, {PASSWORD_VARIABLE}."
    if mode == MODE_DATABRICKS:
        return f"{TOKEN_VARIABLE}: yours, e.g. from `databricks auth token`."
    return ""


def notebook(request: SnippetRequest) -> str:
    """The same model in a notebook: MLflow loads it from the registry the console reads, by
    the reference chosen (an alias follows promotions), and predicts the same rows."""
    tracking = registry_without_credentials(request.tracking_uri)
    registry = registry_without_credentials(request.registry_uri)
    lines = [*_notebook_comment(request.auth_mode), "import mlflow", "import pandas as pd", ""]
    if tracking:
        lines.append(f"mlflow.set_tracking_uri({tracking!r})")
    if registry and registry != tracking:
        lines.append(f"mlflow.set_registry_uri({registry!r})")
    lines += [
        f"model = mlflow.pyfunc.load_model({model_uri(request.model, request.ref)!r})",
        f"rows = {_frame(request)}",
        "print(model.predict(rows))",
    ]
    return "\n".join(lines)


def _notebook_comment(mode: str) -> list[str]:
    if mode == MODE_BASIC:
        return [f"# MLflow reads your user and password from {USER_VARIABLE}, {PASSWORD_VARIABLE}."]
    if mode == MODE_DATABRICKS:
        return [
            "# In a Databricks notebook you are signed in; elsewhere set DATABRICKS_HOST and",
            f"# {TOKEN_VARIABLE} (e.g. from `databricks auth token`).",
        ]
    return []


def model_uri(name: str, ref: str) -> str:
    """``models:/name/3`` for a version (or ``latest``), ``models:/name@Champion`` for an
    alias."""
    if is_version_number(ref) or ref == LATEST:
        return f"models:/{name}/{ref}"
    return f"models:/{name}@{ref}"


def registry_without_credentials(uri: str) -> str:
    """The registry URI with any ``user:password@`` taken out of it."""
    parts = urlsplit(uri)
    if not parts.netloc or "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _frame(request: SnippetRequest) -> str:
    """The rows sent, as Python source for a DataFrame."""
    if request.csv_file is not None:
        return f"pd.read_csv({request.csv_file!r})"
    payload = request.payload
    if isinstance(payload, dict) and "dataframe_split" in payload:
        return f"pd.DataFrame(**{_python_literal(payload['dataframe_split'])})"
    if isinstance(payload, dict):
        for key in ("dataframe_records", "instances", "inputs"):
            if key in payload:
                return f"pd.DataFrame({_python_literal(payload[key])})"
    records = payload if isinstance(payload, list) else [payload]
    return f"pd.DataFrame({_python_literal(records)})"


def _dataset(request: SnippetRequest) -> str:
    payload = request.payload
    mlflow_form = isinstance(payload, dict) and any(key in payload for key in MLFLOW_FORMATS)
    if request.csv_file is None and mlflow_form:
        return _python_literal(payload)  # already one of MLflow's forms: sent as it is
    return _frame(request)


@dataclass(frozen=True)
class _PythonAuth:
    comment: list[str]
    imports: list[str]
    arguments: list[str]  # for requests.post(...)
    header_entry: str  # added to a headers dict literal
    basic_argument: list[str]  # the auth= argument alone


def _python_auth(mode: str) -> _PythonAuth:
    if mode == MODE_BASIC:
        auth = f"auth=(os.environ[{USER_VARIABLE!r}], os.environ[{PASSWORD_VARIABLE!r}])"
        comment = [f"# {_credentials(mode)}"]
        return _PythonAuth(comment, ["import os"], [auth], "", [auth])
    if mode == MODE_DATABRICKS:
        bearer = f'f"Bearer {{os.environ[{TOKEN_VARIABLE!r}]}}"'
        comment = [f"# {_credentials(mode)}"]
        return _PythonAuth(
            comment,
            ["import os"],
            [f"headers={{'Authorization': {bearer}}}"],
            f", 'Authorization': {bearer}",
            [],
        )
    return _PythonAuth([], [], [], "", [])


def _python_literal(value: Any) -> str:
    """JSON as Python source (``true`` → ``True``), laid out to be read."""
    return pprint.pformat(value, sort_dicts=False, width=88)


def _result_name(csv_file: str) -> str:
    stem = csv_file[:-4] if csv_file.lower().endswith(".csv") else csv_file
    return f"{stem}_with_predictions.csv"

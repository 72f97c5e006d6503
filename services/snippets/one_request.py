"""The snippets of one request: a prediction (a JSON body, or a CSV file sent as the body
and returned with its predictions) or versions compared on a JSON body, as curl, Python
``requests``, JavaScript ``fetch`` and a Databricks-style function over a DataFrame."""

from __future__ import annotations

import json
import shlex

from services.files.store import result_name  # as the console names its result
from services.snippets.request import (
    TIMEOUT_SECONDS,
    SnippetRequest,
    curl_auth,
    frame_source,
    javascript_auth,
    javascript_first_line,
    javascript_literal,
    python_auth,
    python_literal,
)

MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def curl(request: SnippetRequest) -> str:
    lines = [f"curl -sS -X POST {shlex.quote(request.url)}"]
    lines += curl_auth(request.auth_mode)
    if request.csv_file is not None:
        lines += [
            "-H 'Content-Type: text/csv'",
            f"--data-binary {shlex.quote('@' + request.csv_file)}",
            f"-o {shlex.quote(result_name(request.csv_file))}",
        ]
    else:
        body = json.dumps(request.payload, ensure_ascii=False, separators=(",", ":"))
        lines += ["-H 'Content-Type: application/json'", f"-d {shlex.quote(body)}"]
    return " \\\n  ".join(lines)


def python_requests(request: SnippetRequest) -> str:
    auth = python_auth(request.auth_mode)
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
            f"with open({result_name(request.csv_file)!r}, 'wb') as result:",
            "    result.write(response.content)",
        ]
    else:
        lines += [
            f"payload = {python_literal(request.payload)}",
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
    auth = python_auth(request.auth_mode)
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
    headers = [*javascript_auth(request.auth_mode)]
    lines = [javascript_first_line(request.auth_mode, f"{request.action}.mjs")]
    if request.csv_file is not None:
        lines += ['import { readFile, writeFile } from "node:fs/promises";', ""]
        headers.insert(0, '"Content-Type": "text/csv"')
        body = f"await readFile({json.dumps(request.csv_file)})"
    else:
        lines += [f"const payload = {javascript_literal(request.payload)};", ""]
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
        result = json.dumps(result_name(request.csv_file))
        lines.append(f"await writeFile({result}, Buffer.from(await response.arrayBuffer()));")
    else:
        lines.append("console.log(JSON.stringify((await response.json()).predictions));")
    return "\n".join(lines)


def _dataset(request: SnippetRequest) -> str:
    payload = request.payload
    mlflow_form = isinstance(payload, dict) and any(key in payload for key in MLFLOW_FORMATS)
    if request.csv_file is None and mlflow_form:
        return python_literal(payload)  # already one of MLflow's forms: sent as it is
    return frame_source(request)

"""The snippets of a file compared or evaluated, as the console does it: the CSV file
uploaded (``POST /api/uploads``), a job started on it (``POST
/api/models/<name>/<ref>/jobs``), its record asked for until it ends (``GET
/api/jobs/<id>``), then the compared file downloaded (``GET /api/files/<id>``) or the
evaluation printed. A job, not one long request: a large file takes minutes, and a job
survives a dropped connection."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from services.compare.files import compared_name
from services.snippets.request import (
    COMPARE,
    POLL_SECONDS,
    TIMEOUT_SECONDS,
    SnippetRequest,
    curl_auth,
    javascript_auth,
    javascript_first_line,
    python_auth,
    python_literal,
)

# where the uploaded file's id goes in the job's body (no file name or column holds a NUL)
FILE_PLACEHOLDER = "\x00file id\x00"
FROM_FILE_ID = 'f"upload:{file_id}"'  # in the Python snippet
SPLICED = json.dumps(f"upload:{FILE_PLACEHOLDER}")


def _saved_as(request: SnippetRequest) -> str:
    return compared_name(request.csv_file or "")  # as the console names the compared file


def _job_path(request: SnippetRequest) -> str:
    return f"{request.model_path}/{quote(request.ref, safe='')}/jobs"


def _body_with(
    request: SnippetRequest, file_id_source: str, literal: Callable[[Any], str] = json.dumps
) -> str:
    """The job's body as the language writes it, the file id spliced in by its own code."""
    text = literal(request.job_body(FILE_PLACEHOLDER))
    return text.replace(literal(f"upload:{FILE_PLACEHOLDER}"), file_id_source)


def curl(request: SnippetRequest) -> str:
    """A bash script: curl, and jq to read the answers; a refusal stops it with the
    console's own message."""
    csv_file = request.csv_file or ""
    curl = " ".join(["curl -sS --fail-with-body", *curl_auth(request.auth_mode)])
    job_url = '"$api"' + shlex.quote(_job_path(request))
    upload_url = '"$api"' + shlex.quote(f"/uploads?filename={quote(csv_file)}")
    body = shlex.quote(_body_with(request, SPLICED)).replace(SPLICED, '"upload:\'"$file_id"\'"')
    lines = [
        "#!/usr/bin/env bash",
        f"# Saved as {request.action}.sh and run with bash; needs curl 7.76 or later, and jq.",
        "set -euo pipefail",
        f"api={shlex.quote(request.api)}",
        "console() {  # one request; a refusal stops the script with the console's message",
        "  local answer",
        f'  answer=$({curl} "$@") || {{ echo "$answer" >&2; exit 1; }}',
        "  printf '%s\\n' \"$answer\"",
        "}",
        f"file_id=$(console -X POST {upload_url} -H 'Content-Type: text/csv' \\",
        f"  --data-binary {shlex.quote('@' + csv_file)} | jq -r .file_id)",
        f"job_id=$(console -X POST {job_url} -H 'Content-Type: application/json' \\",
        f"  -d {body} | jq -r .job_id)",
        "while :; do",
        '  job=$(console "$api/jobs/$job_id")',
        '  case $(jq -r .state <<<"$job") in',
        f"    queued | running) sleep {POLL_SECONDS} ;;",
        "    succeeded) break ;;",
        '    *) jq .error <<<"$job" >&2; exit 1 ;;',
        "  esac",
        "done",
    ]
    if request.action == COMPARE:
        lines += [
            f'{curl} "$api/files/$(jq -r .result.files.csv.file_id <<<"$job")" \\',
            f"  -o {shlex.quote(_saved_as(request))}",
            'jq .result.agreement <<<"$job"',
        ]
    else:
        lines += [
            "jq -c '.detail.evaluation.versions[] | {ref, version, metrics}' <<<\"$job\"",
            "jq -r '.detail.evaluation.comparison.summary // empty' <<<\"$job\"",
        ]
    return "\n".join(lines)


def python_requests(request: SnippetRequest) -> str:
    auth = python_auth(request.auth_mode)
    lines = [
        *auth.comment,
        *auth.imports,
        "import time",
        "",
        "import requests",
        "",
        f"api = {request.api!r}",
        "session = requests.Session()",
        *auth.session,
        "",
        "",
        "def checked(response):",
        "    # the answer; a refusal raised with the console's own message",
        "    if not response.ok:",
        "        raise RuntimeError(f'{response.status_code}: {response.text}')",
        "    return response",
        "",
        "",
        f"with open({request.csv_file!r}, 'rb') as body:",
        "    upload = checked(session.post(",
        f"        f'{{api}}/uploads', params={{'filename': {request.csv_file!r}}}, data=body,",
        f"        headers={{'Content-Type': 'text/csv'}}, timeout={TIMEOUT_SECONDS},",
        "    ))",
        "file_id = upload.json()['file_id']",
        f"job = {_body_with(request, FROM_FILE_ID, python_literal)}",
        f"job = checked(session.post(f'{{api}}{_job_path(request)}', json=job,"
        f" timeout={TIMEOUT_SECONDS})).json()",
        "while job['state'] in ('queued', 'running'):",
        f"    time.sleep({POLL_SECONDS})",
        "    job_url = f\"{api}/jobs/{job['job_id']}\"",
        f"    job = checked(session.get(job_url, timeout={TIMEOUT_SECONDS})).json()",
        "if job['state'] != 'succeeded':",
        "    raise RuntimeError(job['error'])",
    ]
    if request.action == COMPARE:
        lines += [
            "result_id = job['result']['files']['csv']['file_id']",
            "result_url = f'{api}/files/{result_id}'",
            f"result = checked(session.get(result_url, timeout={TIMEOUT_SECONDS}))",
            f"with open({_saved_as(request)!r}, 'wb') as saved:",
            "    saved.write(result.content)",
            "print(job['result']['agreement'])",
        ]
    else:
        lines += [
            "evaluation = job['detail']['evaluation']",
            "for version in evaluation['versions']:",
            "    print(version['ref'], version['version'], version['metrics'])",
            "if evaluation['comparison']:",
            "    print(evaluation['comparison']['summary'])",
        ]
    return "\n".join(lines)


def javascript_fetch(request: SnippetRequest) -> str:
    headers = "".join(f" {header}," for header in javascript_auth(request.auth_mode))
    lines = [
        javascript_first_line(request.auth_mode, f"{request.action}.mjs"),
        'import { readFile, writeFile } from "node:fs/promises";',
        "",
        f"const api = {json.dumps(request.api)};",
        "",
        "async function call(path, options = {}) {",
        "  const response = await fetch(api + path, {",
        "    ...options,",
        f"    headers: {{{headers} ...options.headers }},",
        f"    signal: AbortSignal.timeout({TIMEOUT_SECONDS * 1000}),",
        "  });",
        "  if (!response.ok) {",
        "    throw new Error(`${response.status}: ${await response.text()}`);",
        "  }",
        "  return response;",
        "}",
        "",
        f"const name = {json.dumps(request.csv_file)};",
        'const upload = await call("/uploads?filename=" + encodeURIComponent(name), {',
        '  method: "POST",',
        '  headers: { "Content-Type": "text/csv" },',
        "  body: await readFile(name),",
        "});",
        "const { file_id } = await upload.json();",
        f"const started = await call({json.dumps(_job_path(request))}, {{",
        '  method: "POST",',
        '  headers: { "Content-Type": "application/json" },',
        f"  body: JSON.stringify({_body_with(request, '`upload:${file_id}`')}),",
        "});",
        "let job = await started.json();",
        'while (job.state === "queued" || job.state === "running") {',
        f"  await new Promise((wake) => setTimeout(wake, {POLL_SECONDS * 1000}));",
        "  job = await (await call(`/jobs/${job.job_id}`)).json();",
        "}",
        'if (job.state !== "succeeded") {',
        "  throw new Error(JSON.stringify(job.error));",
        "}",
    ]
    if request.action == COMPARE:
        lines += [
            "const result = await call(`/files/${job.result.files.csv.file_id}`);",
            f"await writeFile({json.dumps(_saved_as(request))},"
            " Buffer.from(await result.arrayBuffer()));",
            "console.log(job.result.agreement);",
        ]
    else:
        lines += [
            "const { evaluation } = job.detail;",
            "for (const version of evaluation.versions) {",
            "  console.log(version.ref, version.version, JSON.stringify(version.metrics));",
            "}",
            "if (evaluation.comparison) {",
            "  console.log(evaluation.comparison.summary);",
            "}",
        ]
    return "\n".join(lines)

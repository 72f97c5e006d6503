"""What a snippet is written from (the request the console just made, or the one its controls
make), and what every language's snippet shares: the console's address as the browser
reached it, where credentials are read from, and values written as source."""

from __future__ import annotations

import json
import pprint
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from services.registry.client import LATEST
from services.registry.records import is_version_number

MODE_NONE, MODE_BASIC, MODE_DATABRICKS = "none", "mlflow-basic", "databricks"
TOKEN_VARIABLE = "DATABRICKS_TOKEN"
USER_VARIABLE, PASSWORD_VARIABLE = "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"
TIMEOUT_SECONDS = 60
POLL_SECONDS = 1  # how often a file job's snippet asks how its job is doing

PREDICT, COMPARE, EVALUATE = "predict", "compare", "evaluate"


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
    """One request of the console's: where, which model, how the caller signs in, what is
    done (predict, compare versions, evaluate against a label column) on what (a JSON body,
    or a CSV file by its name)."""

    base_url: str  # the console's address, ending in "/"
    model: str
    ref: str  # as the caller chose it: an alias follows promotions, a version stays
    auth_mode: str
    payload: Any = None
    csv_file: str | None = None
    registry_uri: str = ""  # where a notebook finds the model (MLflow's registry URI)
    tracking_uri: str = ""  # and its files (an MLflow server's proxied artifacts)
    action: str = PREDICT
    compare_with: tuple[str, ...] = ()  # the other versions or aliases (compare, evaluate)
    label: str = ""  # the column of true values (evaluate)
    slice_column: str | None = None  # figures per value of this column (evaluate)

    def __post_init__(self) -> None:
        if self.action == EVALUATE and self.csv_file is None:
            raise ValueError("an evaluation's snippet is written for a file")

    @property
    def api(self) -> str:
        return f"{self.base_url}api"

    @property
    def model_path(self) -> str:
        return f"/models/{quote(self.model, safe='')}"

    @property
    def refs(self) -> tuple[str, ...]:
        return (self.ref, *self.compare_with)

    @property
    def url(self) -> str:
        """Where the one request of a JSON body goes."""
        if self.action == COMPARE:
            refs = quote(",".join(self.refs), safe=",")
            return f"{self.api}{self.model_path}/compare?refs={refs}"
        return f"{self.api}{self.model_path}/{quote(self.ref, safe='')}/predict"

    @property
    def is_file_job(self) -> bool:
        """A file compared or evaluated: uploaded, run as a job, waited on."""
        return self.csv_file is not None and self.action != PREDICT

    def job_body(self, file_id: str) -> dict[str, Any]:
        """What ``POST /api/models/<name>/<ref>/jobs`` is sent, for an uploaded file."""
        body: dict[str, Any] = {
            "kind": self.action,
            "source": f"upload:{file_id}",
            "compare_with": list(self.compare_with),
        }
        if self.action == EVALUATE:
            body["label"] = self.label
            if self.slice_column:
                body["slice"] = self.slice_column
        return body


@dataclass(frozen=True)
class Snippets:
    curl: str
    python: str
    javascript: str
    databricks: str | None  # the shape of Databricks' "Query endpoint" (predictions only)
    notebook: str


def credentials(mode: str) -> str:
    """Where the snippet reads the caller's own credentials, in words ("" without any)."""
    if mode == MODE_BASIC:
        return f"Your MLflow user and password in {USER_VARIABLE}, {PASSWORD_VARIABLE}."
    if mode == MODE_DATABRICKS:
        return f"{TOKEN_VARIABLE}: yours, e.g. from `databricks auth token`."
    return ""


def curl_auth(mode: str) -> list[str]:
    if mode == MODE_BASIC:
        return [f'-u "${USER_VARIABLE}:${PASSWORD_VARIABLE}"']
    if mode == MODE_DATABRICKS:
        return [f'-H "Authorization: Bearer ${TOKEN_VARIABLE}"']
    return []


def javascript_auth(mode: str) -> list[str]:
    """Header entries of a ``fetch`` call's headers object."""
    if mode == MODE_BASIC:
        pair = f"`${{process.env.{USER_VARIABLE}}}:${{process.env.{PASSWORD_VARIABLE}}}`"
        return [f'Authorization: "Basic " + Buffer.from({pair}).toString("base64")']
    if mode == MODE_DATABRICKS:
        return [f"Authorization: `Bearer ${{process.env.{TOKEN_VARIABLE}}}`"]
    return []


def javascript_first_line(mode: str, saved_as: str) -> str:
    where = credentials(mode)
    said = f"; {where[0].lower()}{where[1:]}" if where else "."
    return f"// Node 18 or later, saved as {saved_as}{said}"


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


def python_literal(value: Any) -> str:
    """JSON as Python source (``true`` → ``True``), laid out to be read."""
    return pprint.pformat(value, sort_dicts=False, width=88)


def javascript_literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class PythonAuth:
    """How a Python snippet signs in, in each place it may need to."""

    comment: list[str]
    imports: list[str]
    arguments: list[str]  # for requests.post(...)
    header_entry: str  # added to a headers dict literal
    basic_argument: list[str]  # the auth= argument alone
    session: list[str]  # set on a requests.Session named ``session``


def python_auth(mode: str) -> PythonAuth:
    if mode == MODE_BASIC:
        pair = f"(os.environ[{USER_VARIABLE!r}], os.environ[{PASSWORD_VARIABLE!r}])"
        comment = [f"# {credentials(mode)}"]
        auth = f"auth={pair}"
        return PythonAuth(comment, ["import os"], [auth], "", [auth], [f"session.auth = {pair}"])
    if mode == MODE_DATABRICKS:
        bearer = f'f"Bearer {{os.environ[{TOKEN_VARIABLE!r}]}}"'
        comment = [f"# {credentials(mode)}"]
        return PythonAuth(
            comment,
            ["import os"],
            [f"headers={{'Authorization': {bearer}}}"],
            f", 'Authorization': {bearer}",
            [],
            [f"session.headers['Authorization'] = {bearer}"],
        )
    return PythonAuth([], [], [], "", [], [])


def frame_source(request: SnippetRequest) -> str:
    """The rows sent, as Python source for a DataFrame."""
    if request.csv_file is not None:
        return f"pd.read_csv({request.csv_file!r})"
    payload = request.payload
    if isinstance(payload, dict) and "dataframe_split" in payload:
        return f"pd.DataFrame(**{python_literal(payload['dataframe_split'])})"
    if isinstance(payload, dict):
        for key in ("dataframe_records", "instances", "inputs"):
            if key in payload:
                return f"pd.DataFrame({python_literal(payload[key])})"
    records = payload if isinstance(payload, list) else [payload]
    return f"pd.DataFrame({python_literal(records)})"

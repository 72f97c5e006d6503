"""The JSON a Dash page sends when a button is clicked, built by hand: to send it as someone
else would (a forged store, another page load) and see what the server answers."""

from __future__ import annotations

import json
import re
from typing import Any

from layouts.ids import Csv, Insight, Page

CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)


def click_request(
    app: Any, outputs: tuple[str, ...], button: str, states: list[tuple[str, str, Any]]
) -> dict[str, Any]:
    """The callback request for ``button``'s n_clicks, for the callback whose outputs
    include all of ``outputs`` ("id.prop"), with ``states`` as (id, prop, value)."""
    output = next(key for key in app.callback_map if all(part in key for part in outputs))
    return {
        "output": output,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".", 1)[1]}
            for part in output.strip(".").split("...")
        ],
        "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in states],
        "changedPropIds": [f"{button}.n_clicks"],
    }


def json_predict_request(app: Any, record: dict[str, Any]) -> dict[str, Any]:
    """The JSON tab's Predict for one record on iris version 1, loaded as @Champion."""
    from layouts.answer import JSON_ANSWER
    from layouts.ids import History, Json
    from services.registry.demo import IRIS_MODEL

    loaded = {"name": IRIS_MODEL, "ref": "Champion", "version": "1", "alias": "Champion"}
    return click_request(
        app,
        (f"{JSON_ANSWER.result}.children", f"{History.NEW}.data"),
        Json.PREDICT,
        [(Json.TEXT, "value", json.dumps(record)), (Page.SELECTION, "data", loaded)],
    )


def store_request(app: Any, output: str, store: str, value: Any) -> dict[str, Any]:
    """The callback request that follows ``store``'s data changing to ``value``, for the
    callback whose outputs include ``output`` ("id.prop")."""
    key = next(key for key in app.callback_map if output in key)
    return {
        "output": key,
        "outputs": [
            {"id": part.split(".")[0], "property": part.split(".", 1)[1]}
            for part in key.strip(".").split("...")
        ],
        "inputs": [{"id": store, "property": "data", "value": value}],
        "state": [],
        "changedPropIds": [f"{store}.data"],
    }


def page_token(client: Any, headers: dict[str, str] | None = None) -> str:
    """What the renderer of one page load sends as ``endId`` with every callback."""
    page = client.get("/", headers=headers or {}).get_data(as_text=True)
    return json.loads(CONFIG.search(page).group(1))["end_id"]


def score_request(
    app: Any,
    file_info: dict[str, str],
    selection: dict[str, Any],
    result_format: str = "csv",
    probabilities: bool = False,
) -> dict:
    """Predict from CSV pressed on a page that has ``file_info`` uploaded and ``selection``."""
    return click_request(
        app,
        (f"{Csv.START_ERROR}.children", f"{Page.OPEN_JOB}.data"),
        Csv.PREDICT,
        [
            (Csv.FILE, "data", file_info),
            (Page.SELECTION, "data", selection),
            (Csv.RESULT_FORMAT, "value", result_format),
            (Insight.CSV_PROBABILITIES, "value", probabilities),
        ],
    )


def started_job(answer: Any) -> str | None:
    """The job a Predict from CSV answer opened (None: it was refused; the reason is in
    ``Csv.START_ERROR``)."""
    body = answer.get_json()["response"]
    opened = body.get(str(Page.OPEN_JOB), {}).get("data")
    return opened if isinstance(opened, str) else None


def start_error(answer: Any) -> str:
    """What the CSV tab says when Predict from CSV was refused."""
    return json.dumps(answer.get_json()["response"].get(str(Csv.START_ERROR), {}))

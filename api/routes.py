"""The JSON API: a thin HTTP face over the console's services. No logic lives here."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import orjson
from flask import Blueprint, Response, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from api import operations
from api.contract import declared, header, query
from services.access.audit import Source
from services.access.identity import current_caller
from services.compare.service import DEFAULT_REFS, parse_refs
from services.compat import whole_socket_reader
from services.errors import (
    ConsoleError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
    cut,
)
from services.evaluation.service import Request
from services.files.results import mimetype_for
from services.files.service import ScoreOptions
from services.files.store import too_large
from services.jobs.record import EVALUATE, FROM_API
from services.monitor.split import request_key
from services.scoring.payload import parse_json_text
from services.wiring import ConsoleServices

log = logging.getLogger(__name__)

JSON_TYPES = {"application/json"}
CSV_TYPES = {"text/csv", "application/csv"}
# What a browser may label a .csv file with; a page on another site cannot send these
# without asking first (a CORS preflight), unlike text/plain or a form.
UPLOAD_TYPES = CSV_TYPES | {"application/vnd.ms-excel", "application/octet-stream"}


def _flag(name: str) -> bool:
    """A declared flag of this route (``?probabilities=true``): read as its declaration says."""
    return bool(query(name))


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request is larger than {limit // (1024 * 1024)} MB.",
        hint="Split the input into smaller batches.",
    )


def _body(limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes without reading all of it."""
    length = request.content_length
    if length is not None and length > limit:
        raise _too_large(limit)
    # read(n) sets aside n bytes first: the declared length, not the limit, when it is known
    body = _read(limit + 1 if length is None else length)
    # Without a declared length, a server other than gunicorn hands the body through
    # werkzeug's stream, capped at the limit: it stops there instead of reading one byte
    # more, and raises (413) only when read past it.
    if len(body) > limit or (length is None and len(body) == limit and _read(1)):
        raise _too_large(limit)
    return body


def _read(size: int) -> bytes:
    """Up to ``size`` bytes of the body: under gunicorn, whole socket reads (its own ``read``
    gathers a kilobyte at a time, costly for thousands of rows; ``services/compat.py``)."""
    reader = whole_socket_reader(request.environ.get("wsgi.input"))
    return reader(size) if reader is not None else request.stream.read(size)


def _json(body: Any, status: int = 200) -> Response:
    """orjson: several times faster than the standard encoder for thousands of predictions."""
    payload = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return Response(payload, status=status, mimetype="application/json")


def _require_json() -> None:
    content_type = (request.mimetype or "").lower()
    if content_type not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {cut(content_type) or '(none)'} is not supported.",
            hint="Send Content-Type: application/json (records or MLflow formats).",
        )


def _evaluation_request() -> Request:
    """``?refs=Champion,Challenger&label=<column>[&slice=<column>]``."""
    label = (query("label") or "").strip()
    if not label:
        raise InvalidInput(
            "Name the label column: ?label=<column with the true values>.",
            hint="The rows must include that column.",
        )
    chosen = (query("slice") or "").strip() or None
    return Request(parse_refs(query("refs")), label, chosen)


def create_api_blueprint(services: ConsoleServices, name: str = "model_console_api") -> Blueprint:
    api = Blueprint(name, __name__)
    settings = services.settings
    registry, scoring, files = services.registry, services.scoring, services.files

    @api.errorhandler(ConsoleError)
    def _console_error(error: ConsoleError) -> Response:
        return _json(error.to_dict(), error.http_status)

    @api.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        if isinstance(error, RequestEntityTooLarge):  # werkzeug's cap on a body's length
            return _console_error(_too_large(request.max_content_length or 0))
        code = (error.name or "error").upper().replace(" ", "_")
        return _json({"error_code": code, "message": error.description}, error.code or 500)

    @api.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("Unexpected error in the API")
        return _json({"error_code": "INTERNAL_ERROR", "message": "Unexpected server error."}, 500)

    @api.route("/<path:unknown>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @declared(operations.FALLBACK)
    def not_found(unknown: str) -> Response:
        body = {"error_code": "NOT_FOUND", "message": "No such API route. See /api/health."}
        return _json(body, 404)

    @api.get("/health")
    @declared(operations.HEALTH)
    def health() -> Response:
        return _json(services.health())

    @api.get("/models")
    @declared(operations.LIST_MODELS)
    def list_models() -> Response:
        models = registry.list_models(current_caller())
        return _json({"models": [asdict(m) for m in models]})

    @api.get("/models/<name>")
    @declared(operations.MODEL_DETAIL)
    def model_detail(name: str) -> Response:
        return _json(registry.model_detail(current_caller(), name, Source.API).to_dict())

    @api.get("/models/<name>/<ref>")
    @declared(operations.VERSION_DETAIL)
    def version_detail(name: str, ref: str) -> Response:
        return _json(registry.version_detail(current_caller(), name, ref, Source.API).to_dict())

    @api.post("/models/<name>/<ref>/predict")
    @declared(operations.PREDICT)
    def predict(name: str, ref: str) -> Response:
        content_type = (request.mimetype or "").lower()
        if content_type in CSV_TYPES:
            return _predict_csv(name, ref)
        if content_type not in JSON_TYPES:
            raise UnsupportedMediaType(
                f"Content-Type {cut(content_type) or '(none)'} is not supported.",
                hint="Send Content-Type: application/json (records or MLflow formats) or text/csv.",
            )
        payload = parse_json_text(_body(settings.max_request_bytes))
        answer = scoring.predict(
            current_caller(),
            name,
            ref,
            payload,
            source=Source.API,
            probabilities=_flag("probabilities"),
        )
        if not _flag("drift"):
            return _json(answer.to_dict())
        drift = services.drift.of_rows(current_caller(), name, answer.version, payload)
        return _json({**answer.to_dict(), "drift": drift})

    def _predict_csv(name: str, ref: str) -> Response:
        """The CSV with the prediction and ``error`` columns appended, on the same path as an
        uploaded file: streamed to disk, scored in chunks, streamed back."""
        limit = settings.max_request_bytes
        if request.content_length is not None and request.content_length > limit:
            raise _too_large(limit)
        caller = current_caller()
        scored = files.score_body(
            caller, name, ref, request.stream, _too_large, probabilities=_flag("probabilities")
        )
        response = send_file(
            files.store.path(caller, scored.output.file_id), mimetype="text/csv", max_age=0
        )
        response.call_on_close(lambda: files.store.remove(caller, scored.output.file_id))
        response.headers["X-Model-Version"] = scored.version
        response.headers["X-Input-Rows"] = str(scored.rows)
        response.headers["X-Failed-Rows"] = str(scored.failed_rows)
        return response

    @api.post("/models/<name>/<ref>/explain")
    @declared(operations.EXPLAIN)
    def explain(name: str, ref: str) -> Response:
        """Each row's feature contributions (at most 100 rows), same JSON forms as predict."""
        _require_json()
        payload = parse_json_text(_body(settings.max_request_bytes))
        answer = services.explain.explain(current_caller(), name, ref, payload, source=Source.API)
        return _json(answer.to_dict())

    @api.post("/models/<name>/compare")
    @declared(operations.COMPARE)
    def compare(name: str) -> Response:
        """The same rows through each of ``?refs=`` (default Champion,Challenger)."""
        _require_json()
        payload = parse_json_text(_body(settings.max_request_bytes))
        refs = parse_refs(query("refs"))
        answer = services.compare.compare(current_caller(), name, refs, payload, source=Source.API)
        return _json(answer.to_dict())

    @api.post("/models/<name>/compare/<file_id>")
    @declared(operations.COMPARE_FILE)
    def compare_file(name: str, file_id: str) -> Response:
        """An uploaded file through each of ``?refs=``; the result (one prediction column
        per version) is a new file to GET from /files/."""
        refs = parse_refs(query("refs"))
        compared = services.compare_files.compare_file(
            current_caller(), name, refs, file_id, source=Source.API
        )
        return _json(compared.summary())

    @api.post("/models/<name>/evaluate")
    @declared(operations.EVALUATE)
    def evaluate(name: str) -> Response:
        """The rows (any predict form, the label column included; at most 100,000) through
        each of ``?refs=``, set against ``?label=``; ``?slice=`` adds figures per value."""
        _require_json()
        wanted = _evaluation_request()
        payload = parse_json_text(_body(settings.max_request_bytes))
        answer = services.evaluation.evaluate(
            current_caller(), name, wanted, payload, source=Source.API
        )
        return _json(answer.to_dict())

    @api.post("/models/<name>/evaluate/<file_id>")
    @declared(operations.EVALUATE_FILE)
    def evaluate_file(name: str, file_id: str) -> Response:
        """An uploaded file evaluated as a job (202); its finished record carries the
        evaluation in ``detail.evaluation``."""
        wanted = _evaluation_request()
        first, *others = wanted.refs or list(DEFAULT_REFS)
        body = {
            "kind": EVALUATE,
            "source": f"upload:{file_id}",
            "label": wanted.label,
            "compare_with": others,
            "slice": wanted.slice_column,
        }
        job = services.jobs.submit(current_caller(), name, first, body, FROM_API)
        return _json(job.to_dict(), 202)

    @api.get("/models/<name>/split")
    @declared(operations.SPLIT)
    def split(name: str) -> Response:
        return _json(services.split.split(current_caller(), name).to_dict())

    @api.post("/models/<name>/split/predict")
    @declared(operations.SPLIT_PREDICT)
    def split_predict(name: str) -> Response:
        """One arm of the model's traffic split, sticky for ``X-Request-Key`` (or ``?key=``)."""
        _require_json()
        payload = parse_json_text(_body(settings.max_request_bytes))
        key = request_key(header("X-Request-Key"), query("key"))
        answer = services.split.predict(current_caller(), name, key, payload)
        return _json(answer.to_dict())

    @api.get("/models/<name>/traffic")
    @declared(operations.TRAFFIC)
    def traffic(name: str) -> Response:
        """Per arm of the split: requests, rows, latency, predictions (``?since=&until=``)."""
        report = services.traffic.report(current_caller(), name, query("since"), query("until"))
        return _json(report.to_dict())

    @api.get("/models/<name>/<ref>/drift")
    @declared(operations.DRIFT_HISTORY)
    def drift(name: str, ref: str) -> Response:
        """The stored drift summaries of the version, oldest first (``?since=`` ISO time)."""
        history = services.drift.history(current_caller(), name, ref, query("since"))
        return _json(history)

    @api.get("/models/<name>/<ref>/importance")
    @declared(operations.IMPORTANCE)
    def importance(name: str, ref: str) -> Response:
        return _json(services.explain.importance(current_caller(), name, ref, Source.API).to_dict())

    @api.post("/uploads")
    @declared(operations.UPLOAD_FILE)
    def upload() -> Response:
        """A file streamed to the caller's own area; the CSV tab uploads through here."""
        limit = settings.upload_limit_bytes
        if request.content_length is not None and request.content_length > limit:
            raise too_large(limit)
        if (request.mimetype or "").lower() not in UPLOAD_TYPES:
            raise UnsupportedMediaType(
                f"Content-Type {cut(request.mimetype) or '(none)'} is not an upload of a CSV file.",
                hint="Send the file as the body with Content-Type: text/csv.",
            )
        filename = query("filename")
        # a file is most often scored, compared or evaluated next
        services.jobs.expect_one(request.content_length)
        return _json(asdict(files.upload(current_caller(), filename, request.stream)), 201)

    @api.post("/models/<name>/<ref>/score/<file_id>")
    @declared(operations.SCORE_FILE)
    def score_file(name: str, ref: str, file_id: str) -> Response:
        """Score an uploaded file in chunks; the result is a new file to GET from /files/,
        as ``?format=`` csv (the default) or parquet; ``?probabilities=true`` adds a
        ``probability_<class>`` column per class."""
        options = ScoreOptions(
            result_format=query("format"),
            probabilities=_flag("probabilities"),
        )
        scored = files.score_upload(current_caller(), name, ref, file_id, options)
        return _json(scored.summary())

    @api.post("/models/<name>/<ref>/jobs")
    @declared(operations.START_JOB)
    def start_job(name: str, ref: str) -> Response:
        """A job of any kind ({"kind": "score" | "compare", "source", ...}) → its record (202)."""
        _require_json()
        body = parse_json_text(_body(settings.max_request_bytes))
        job = services.jobs.submit(current_caller(), name, ref, body, FROM_API)
        return _json(job.to_dict(), 202)

    @api.get("/jobs")
    @declared(operations.LIST_JOBS)
    def list_jobs() -> Response:
        """The caller's jobs of every kind (started here or in the console), newest first."""
        jobs = services.jobs.list(current_caller())
        return _json({"jobs": [job.to_dict(detail=False) for job in jobs]})

    @api.get("/jobs/<job_id>")
    @declared(operations.JOB_STATE)
    def job_state(job_id: str) -> Response:
        return _json(services.jobs.get(current_caller(), job_id).to_dict())

    @api.delete("/jobs/<job_id>")
    @declared(operations.CANCEL_JOB)
    def cancel_job(job_id: str) -> Response:
        return _json(services.jobs.cancel(current_caller(), job_id).to_dict(), 202)

    @api.get("/history")
    @declared(operations.LIST_RUNS)
    def list_runs() -> Response:
        """The caller's runs in the page (JSON and form), as Prediction History lists them."""
        return _json({"runs": services.runs.list(current_caller())})

    @api.delete("/history")
    @declared(operations.CLEAR_RUNS)
    def clear_runs() -> Response:
        services.runs.clear(current_caller())
        return _json({"runs": []})

    @api.get("/files/<file_id>")
    @declared(operations.DOWNLOAD)
    def download(file_id: str) -> Response:
        """The caller's own file, streamed from disk: memory stays flat for any size."""
        caller = current_caller()
        stored = files.store.describe(caller, file_id)
        return send_file(
            files.store.path(caller, file_id),
            mimetype=mimetype_for(stored.filename),
            as_attachment=True,
            download_name=stored.filename,
            max_age=0,
        )

    add_promotion_routes(api, services)
    return api


def _json_object(limit: int) -> dict[str, Any]:
    _require_json()
    body = parse_json_text(_body(limit))
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", hint='For example {"version": "2"}.')
    return body


def add_promotion_routes(api: Blueprint, services: ConsoleServices) -> None:
    """Aliases and the traffic split moved with the caller's own rights: a caller without
    them gets 403 naming what is missing, nothing changes, and the attempt is audited."""
    promotion, limit = services.promotion, services.settings.max_request_bytes

    @api.put("/models/<name>/aliases/<alias>")
    @declared(operations.SET_ALIAS)
    def set_alias(name: str, alias: str) -> Response:
        """``{"version": "2"}`` → alias, version, previous. The evidence recorded is the
        caller's latest evaluation of the two versions, found by the server."""
        version = _json_object(limit).get("version")
        moved = promotion.set_alias(
            current_caller(), name, alias, str(version) if isinstance(version, (str, int)) else ""
        )
        return _json(moved.to_dict())

    @api.delete("/models/<name>/aliases/<alias>")
    @declared(operations.DELETE_ALIAS)
    def delete_alias(name: str, alias: str) -> Response:
        return _json(promotion.delete_alias(current_caller(), name, alias).to_dict())

    @api.get("/models/<name>/aliases/<alias>/history")
    @declared(operations.ALIAS_HISTORY)
    def alias_history(name: str, alias: str) -> Response:
        """The alias's moves made in the console, newest first."""
        moves = promotion.alias_history(current_caller(), name, alias)
        return _json({"alias": alias, "moves": [move.to_dict() for move in moves]})

    @api.post("/models/<name>/aliases/<alias>/rollback")
    @declared(operations.ROLLBACK)
    def rollback(name: str, alias: str) -> Response:
        return _json(promotion.rollback(current_caller(), name, alias).to_dict())

    @api.put("/models/<name>/split")
    @declared(operations.SET_SPLIT)
    def set_split(name: str) -> Response:
        """``{"Champion": 90, "Challenger": 10}``: weights adding up to 100."""
        split = promotion.set_split(current_caller(), name, _json_object(limit))
        return _json(split.to_dict())

"""The JSON API: a thin HTTP face over ``ModelConsole``. No logic lives here."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import orjson
from flask import Blueprint, Response, request, send_file
from werkzeug.exceptions import HTTPException

from services.console import ModelConsole
from services.csv_io import to_csv_bytes
from services.csv_service import CsvService
from services.errors import ConsoleError, PayloadTooLarge, UnsupportedMediaType
from services.files import too_large
from services.identity import current_caller
from services.payload import parse_json_text
from services.results import DEFAULT_RESULT_FORMAT, mimetype_for

log = logging.getLogger(__name__)

JSON_TYPES = {"application/json", ""}
CSV_TYPES = {"text/csv", "application/csv"}


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in {"1", "true", "yes"}


def _body(limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes without reading all of it."""
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise _too_large(limit)
    return body


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request is larger than {limit // (1024 * 1024)} MB.",
        hint="Split the input into smaller batches.",
    )


def _json(body: Any, status: int = 200) -> Response:
    """orjson: several times faster than the standard encoder for thousands of predictions."""
    payload = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS)
    return Response(payload, status=status, mimetype="application/json")


def _error_response(error: ConsoleError) -> Response:
    return _json(error.to_dict(), error.http_status)


def create_api_blueprint(
    console: ModelConsole, csv: CsvService, name: str = "model_console_api"
) -> Blueprint:
    api = Blueprint(name, __name__)
    limit = console.settings.max_request_bytes
    upload_limit = console.settings.upload_limit_bytes

    @api.errorhandler(ConsoleError)
    def _console_error(error: ConsoleError) -> Response:
        return _error_response(error)

    @api.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        code = (error.name or "error").upper().replace(" ", "_")
        return _json({"error_code": code, "message": error.description}, error.code or 500)

    @api.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("Unexpected error in the API")
        return _json({"error_code": "INTERNAL_ERROR", "message": "Unexpected server error."}, 500)

    @api.route("/<path:unknown>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def not_found(unknown: str) -> Response:
        body = {"error_code": "NOT_FOUND", "message": "No such API route. See /api/health."}
        return _json(body, 404)

    @api.get("/health")
    def health() -> Response:
        return _json(console.health())

    @api.get("/models")
    def list_models() -> Response:
        models = console.list_models(current_caller())
        return _json({"models": [asdict(m) for m in models]})

    @api.get("/models/<name>")
    def model_detail(name: str) -> Response:
        return _json(console.model_detail(current_caller(), name).to_dict())

    @api.get("/models/<name>/<ref>")
    def version_detail(name: str, ref: str) -> Response:
        return _json(console.version_detail(current_caller(), name, ref).to_dict())

    @api.post("/models/<name>/<ref>/predict")
    def predict(name: str, ref: str) -> Response:
        content_type = (request.mimetype or "").lower()
        if content_type in CSV_TYPES:
            return _predict_csv(name, ref)
        if content_type not in JSON_TYPES:
            raise UnsupportedMediaType(
                f"Content-Type {content_type} is not supported.",
                hint="Send application/json (records or MLflow formats) or text/csv.",
            )
        payload = parse_json_text(_body(limit))
        result = console.predict(
            current_caller(), name, ref, payload, probabilities=_flag("probabilities")
        )
        return _json(result.to_dict())

    @api.post("/uploads")
    def upload() -> Response:
        """A file streamed to the caller's own area; the CSV tab uploads through here."""
        if request.content_length is not None and request.content_length > upload_limit:
            raise too_large(upload_limit)
        filename = request.args.get("filename") or "upload.csv"
        stored = csv.store_stream(current_caller(), filename, request.stream, upload_limit)
        return _json(asdict(stored), 201)

    @api.post("/models/<name>/<ref>/score/<file_id>")
    def score_file(name: str, ref: str, file_id: str) -> Response:
        """Score an uploaded file in chunks; the result is a new file to GET from /files/,
        as ``?format=`` csv (the default) or parquet."""
        result_format = request.args.get("format", DEFAULT_RESULT_FORMAT)
        scored = csv.score(current_caller(), name, ref, file_id, result_format=result_format)
        body = {
            **scored.result.to_dict(),
            "failed_rows": scored.summary.failed_rows,
            "result_file": asdict(scored.download),
        }
        return _json(body)

    @api.get("/files/<file_id>")
    def download(file_id: str) -> Response:
        """The caller's own file, streamed from disk: memory stays flat for any size."""
        caller = current_caller()
        stored = csv.files.describe(caller, file_id)
        return send_file(
            csv.files.path(caller, file_id),
            mimetype=mimetype_for(stored.filename),
            as_attachment=True,
            download_name=stored.filename,
            max_age=0,
        )

    def _predict_csv(name: str, ref: str) -> Response:
        predicted = console.predict_csv(current_caller(), name, ref, _body(limit))
        response = Response(to_csv_bytes(predicted.frame), mimetype="text/csv")
        response.headers["X-Model-Version"] = predicted.result.version
        response.headers["X-Input-Rows"] = str(predicted.result.input_rows)
        return response

    return api

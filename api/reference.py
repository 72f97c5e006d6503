"""The API's reference: the OpenAPI document (``/api/openapi.json``) written from the routes'
declarations, and Swagger UI (``/api/docs``) served from the console's own files."""

from __future__ import annotations

from pathlib import Path

import orjson
from flask import Blueprint, Response, current_app, send_from_directory

from api import operations
from api.contract import declared
from api.openapi import openapi_document

SWAGGER_UI = Path(__file__).resolve().parent / "swagger_ui"
SWAGGER_UI_VERSION = "5.35.0"  # npm swagger-ui-dist, Apache-2.0 (swagger_ui/README.md)
# The only files the page asks for: a name outside this list is 404, never a path.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "docs.js": "text/javascript",
}
# No inline script or style: it runs under the console's Content-Security-Policy as it is.
# Relative links, so the page works under any prefix.
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Model Console API</title>
  <link rel="icon" href="../_favicon.ico">
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <main id="swagger-ui"></main>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/docs.js"></script>
</body>
</html>
"""


def _not_found() -> Response:
    body = {"error_code": "NOT_FOUND", "message": "No such file of the API reference."}
    return Response(orjson.dumps(body), status=404, mimetype="application/json")


def create_reference_blueprint(
    mount: str, public_prefix: str, auth_mode: str, name: str = "model_console_reference"
) -> Blueprint:
    """Register under ``<mount>/api``: ``public_prefix`` is where clients reach the console
    (Dash's requests_pathname_prefix), written into the document's ``servers``."""
    reference = Blueprint(name, __name__)

    @reference.get("/openapi.json")
    @declared(operations.OPENAPI)
    def openapi_json() -> Response:
        document = openapi_document(current_app, mount, public_prefix, auth_mode)
        return Response(orjson.dumps(document), mimetype="application/json")

    @reference.get("/docs")
    @declared(operations.DOCS_PAGE)
    def docs_page() -> Response:
        return Response(PAGE, mimetype="text/html")

    @reference.get("/docs/<asset>")
    @declared(operations.DOCS_ASSET)
    def docs_asset(asset: str) -> Response:
        if asset not in ASSETS:
            return _not_found()
        return send_from_directory(SWAGGER_UI, asset, mimetype=ASSETS[asset], max_age=3600)

    return reference

"""A small local HTTP fake of the few Databricks REST endpoints the app calls.

Databricks itself cannot run here, so this stands in for a workspace: it answers Unity
Catalog's model registry calls and the temporary-credentials call that loading a model makes,
allows only the token ``ana-token`` (whose owner, SCIM ``Me`` says, is ana@corp.com) and
records every request, so tests can prove the user's
token (never the app's service principal) is what reaches the workspace.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

from services.registry.unity_catalog import TEMPORARY_CREDENTIALS

ALLOWED_TOKEN = "ana-token"
MODEL = "main.sales.churn"
UC = "/api/2.0/mlflow/unity-catalog"
VERSION = {
    "name": MODEL,
    "version": "3",
    "status": "READY",
    "storage_location": "s3://bucket/models/churn/3",
}
ROUTES = {
    TEMPORARY_CREDENTIALS: {"credentials": {}},
    f"{UC}/registered-models/get": {"registered_model": {"name": MODEL}},
    f"{UC}/registered-models/search": {"registered_models": [{"name": MODEL}]},
    f"{UC}/model-versions/get": {"model_version": VERSION},
    f"{UC}/model-versions/search": {"model_versions": [VERSION]},
    f"{UC}/registered-models/alias": {"model_version": VERSION},
    "/api/2.0/preview/scim/v2/Me": {
        "userName": "ana@corp.com",
        "id": "1001",
        "emails": [{"value": "ana@corp.com", "primary": True}],
    },
}


class FakeWorkspace(BaseHTTPRequestHandler):
    """Answers the routes above for ``ALLOWED_TOKEN``; 403 for any other token."""

    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        FakeWorkspace.seen.append({"path": self.path, "authorization": authorization})
        route = ROUTES.get(self.path.split("?", 1)[0])
        if route is None:
            status, body = 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": self.path}
        elif authorization != f"Bearer {ALLOWED_TOKEN}":
            status, body = 403, {"error_code": "PERMISSION_DENIED", "message": "no EXECUTE"}
        else:
            status, body = 200, route
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer


@contextlib.contextmanager
def running_workspace() -> Iterator[str]:
    """The fake on a free loopback port; yields its URL (what DATABRICKS_HOST would be)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWorkspace)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWorkspace.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()

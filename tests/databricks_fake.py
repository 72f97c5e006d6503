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
from pathlib import Path
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

# Where Unity Catalog keeps the version's files, as MLflow asks for them, and the fake's own
# stand-in for a cloud store's presigned URLs.
FILES_ROOT = f"/Models/{MODEL.replace('.', '/')}/{VERSION['version']}"
DIRECTORIES = "/api/2.0/fs/directories"
DOWNLOAD_URL = "/api/2.0/fs/create-download-url"
PRESIGNED = "/presigned"


class FakeWorkspace(BaseHTTPRequestHandler):
    """Answers the routes above for ``ALLOWED_TOKEN``; 403 for any other token. With
    ``model_files`` set (a model's folder), the version's files too, as Unity Catalog hands
    them out: listed and given a download URL through the Files API, then fetched."""

    seen: ClassVar[list[dict[str, str]]] = []
    model_files: ClassVar[Path | None] = None

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        FakeWorkspace.seen.append({"path": self.path, "authorization": authorization})
        path = self.path.split("?", 1)[0]
        if FakeWorkspace.model_files is not None and path.startswith(PRESIGNED):
            self._send_file(path[len(PRESIGNED) :])  # a presigned URL carries no token
            return
        route = ROUTES.get(path)
        if FakeWorkspace.model_files is not None and authorization == f"Bearer {ALLOWED_TOKEN}":
            route = route or self._files_api(path, body)
        if route is None and path.startswith(DIRECTORIES):  # not a folder, as the API says it
            status, body = 404, {"error_code": "NOT_FOUND", "message": self.path}
        elif route is None:
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

    def _files_api(self, path: str, body: bytes) -> dict | None:
        """The Files API calls MLflow's PresignedUrlArtifactRepository makes."""
        if path.startswith(DIRECTORIES):
            folder = self._local(path[len(DIRECTORIES) :])
            if folder is None or not folder.is_dir():
                return None  # 404: MLflow reads that as "not a directory"
            return {"contents": [self._entry(child) for child in sorted(folder.iterdir())]}
        if path == DOWNLOAD_URL:
            remote = json.loads(body or b"{}").get("path", "")
            host = f"http://127.0.0.1:{self.server.server_address[1]}"
            return {"url": f"{host}{PRESIGNED}{remote}", "headers": []}
        return None

    def _local(self, remote: str) -> Path | None:
        if not remote.startswith(FILES_ROOT) or ".." in remote:
            return None
        assert FakeWorkspace.model_files is not None
        return FakeWorkspace.model_files / remote[len(FILES_ROOT) :].strip("/")

    def _entry(self, local: Path) -> dict:
        assert FakeWorkspace.model_files is not None
        remote = f"{FILES_ROOT}/{local.relative_to(FakeWorkspace.model_files)}"
        if local.is_dir():
            return {"path": remote, "is_directory": True}
        return {"path": remote, "is_directory": False, "file_size": local.stat().st_size}

    def _send_file(self, remote: str) -> None:
        local = self._local(remote)
        found = local is not None and local.is_file()
        payload = local.read_bytes() if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@contextlib.contextmanager
def running_workspace(model_files: Path | None = None) -> Iterator[str]:
    """The fake on a free loopback port; yields its URL (what DATABRICKS_HOST would be).
    ``model_files``: a model's folder, served as the files of the fake's model version."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeWorkspace)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeWorkspace.seen = []
    FakeWorkspace.model_files = model_files
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        FakeWorkspace.model_files = None
        server.shutdown()
        server.server_close()

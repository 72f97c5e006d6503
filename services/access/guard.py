"""What every request under the console's prefix must be, before anyone asks who sent it,
and what every answer carries.

- **Host**: only the names the console is meant to be reached by (``ALLOWED_HOSTS``; in mode
  ``none`` by default only loopback names): a page on another site that points its own name
  at 127.0.0.1 (DNS rebinding) cannot reach the API with the console's own credentials.
- **Same origin**: a request that changes something (POST, PUT, PATCH, DELETE) sent by a
  browser from another site (its ``Origin``, ``Referer`` or ``Sec-Fetch-Site`` says so) is
  refused: a signed-in browser cannot be made to predict or upload for someone else's page.
- **Size**: no body larger than the console accepts for that route, refused before reading.
- **Headers** on every answer: a Content-Security-Policy fit for Dash (scripts from the
  console only, its inline scripts by hash; ``frame-ancestors`` from ``FRAME_ANCESTORS``),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import orjson
from flask import Flask, Response, request

from services.files.store import human_size
from services.settings import Settings

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
UPLOAD_ROUTE = "api/uploads"


def _host_name(host: str) -> str:
    """``Example.COM:8050`` → ``example.com``; ``[::1]:8050`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def allowed_hosts(settings: Settings) -> list[str] | None:
    """The names requests may be addressed to; None: any (behind a proxy that decides)."""
    if settings.allowed_hosts:
        names = [_host_name(h) for h in settings.allowed_hosts.split(",") if h.strip()]
        return None if "*" in names else names
    return list(LOOPBACK_NAMES) if settings.auth_mode == "none" else None


def content_security_policy(script_hashes: Iterable[str], frame_ancestors: str) -> str:
    scripts = " ".join(["'self'", *script_hashes])  # Dash's hashes come quoted
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",  # React, Ace and AG Grid set styles inline
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


class RequestGuard:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hosts = allowed_hosts(settings)
        self.policy = content_security_policy([], settings.frame_ancestors)

    def allow_scripts(self, script_hashes: Iterable[str]) -> None:
        """The page's own inline scripts (Dash's, by their hashes), once the page is known."""
        self.policy = content_security_policy(script_hashes, self.settings.frame_ancestors)

    def init_app(self, server: Flask, prefix: str) -> None:
        """Before any other hook of the console: nothing is asked of a request refused here."""
        api = f"{prefix.rstrip('/')}/api/"
        uploads = f"{prefix.rstrip('/')}/{UPLOAD_ROUTE}"

        @server.before_request
        def guard_request() -> Response | None:
            if not request.path.startswith(prefix):
                return None
            problem = self._problem(uploads)
            if problem is None:
                return None
            status, code, message = problem
            if request.path.startswith(api):
                body = orjson.dumps({"error_code": code, "message": message})
                return Response(body, status=status, mimetype="application/json")
            return Response(message, status=status, mimetype="text/plain")

        @server.after_request
        def secure_headers(response: Response) -> Response:
            if request.path.startswith(prefix):
                response.headers.setdefault("Content-Security-Policy", self.policy)
                response.headers["X-Content-Type-Options"] = "nosniff"
                response.headers["Referrer-Policy"] = "same-origin"
            return response

    def _problem(self, uploads: str) -> tuple[int, str, str] | None:
        if self.hosts is not None and _host_name(request.host) not in self.hosts:
            return (
                400,
                "HOST_NOT_ALLOWED",
                (
                    "This console does not answer to that host name. The administrator can "
                    "allow it with ALLOWED_HOSTS."
                ),
            )
        if request.method in STATE_CHANGING and self._cross_site():
            return (
                403,
                "CROSS_SITE_REQUEST",
                (
                    "Refused: this request came from another site's page. Use the console "
                    "itself, or call the API from a script (no browser Origin)."
                ),
            )
        upload = request.path.startswith(uploads)
        limit = self.settings.upload_limit_bytes if upload else self.settings.max_request_bytes
        request.max_content_length = limit
        if request.content_length is not None and request.content_length > limit:
            what = "file" if upload else "request"
            return (
                413,
                "PAYLOAD_TOO_LARGE",
                (
                    f"The {what} is larger than the {human_size(limit)} this console accepts. "
                    + ("Split it into smaller files." if upload else "Send smaller batches.")
                ),
            )
        return None

    def _cross_site(self) -> bool:
        """A browser says so: Sec-Fetch-Site, else Origin, else Referer names another site.
        A request with none of them is not from a browser page (a script: no CSRF)."""
        if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            return True
        source = request.headers.get("Origin") or request.headers.get("Referer")
        if not source:
            return False
        if source == "null":
            return True  # sandboxed frames and some redirects: no origin to trust
        # Behind a proxy (Databricks Apps) the page's host is the one the proxy forwards; a
        # page on another site cannot set that header on a browser's request.
        own = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip() or request.host
        return urlsplit(source).netloc.lower() != own.lower()

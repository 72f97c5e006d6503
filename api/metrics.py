"""``GET <prefix>metrics`` for Prometheus, and the hooks that time every request of the
console (its page, Dash's callbacks, the API). What is counted: ``services/metrics.py``."""

from __future__ import annotations

import hmac
import time
from ipaddress import IPv4Network, IPv6Network, ip_address

from flask import Flask, Response, g, request

from services import metrics
from services.wiring import ConsoleServices

TOKEN_HEADER = "X-Metrics-Token"
_STARTED = "metrics_started"


def init_metrics(server: Flask, prefix: str, services: ConsoleServices) -> None:
    """Count the requests under ``prefix`` and answer ``<prefix>metrics``, when enabled.
    The route stays behind the console's own checks (host, identity): a scraper signs in
    like anyone in mode ``mlflow-basic`` and passes the platform's sign-in in Databricks
    Apps; the token, required there, keeps the metrics to the scraper."""
    settings = services.settings
    if not settings.metrics_enabled:
        return
    path = f"{prefix.rstrip('/')}/metrics"

    @server.before_request
    def start_timing() -> None:
        if request.path.startswith(prefix):
            g.setdefault(_STARTED, time.perf_counter())
            metrics.start_request()

    @server.after_request
    def count(response: Response) -> Response:
        started = g.pop(_STARTED, None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else None
            seconds = time.perf_counter() - started
            metrics.finish_request(route, request.method, response.status_code, seconds)
        return response

    def scrape() -> Response:
        if not from_allowed_address(request.remote_addr, settings.metrics_allowed):
            refusal = "This address may not read the metrics (METRICS_ALLOWED)."
            return Response(refusal, 403, mimetype="text/plain")
        expected = settings.metrics_token
        sent = request.headers.get(TOKEN_HEADER, "")
        if expected and not hmac.compare_digest(sent.encode(), expected.encode()):
            refusal = f"Send the metrics token as {TOKEN_HEADER}."
            return Response(refusal, 403, mimetype="text/plain")
        body = metrics.exposition(services.jobs.counts)
        return Response(body, content_type=metrics.CONTENT_TYPE)

    server.add_url_rule(path, endpoint=f"model_console_metrics_{id(services)}", view_func=scrape)


def from_allowed_address(
    address: str | None, allowed: tuple[IPv4Network | IPv6Network, ...]
) -> bool:
    """Any address when no network is named; else one inside them (an unreadable one: no)."""
    if not allowed:
        return True
    try:
        client = ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(client, "ipv4_mapped", None)  # ::ffff:10.0.0.1 from a dual-stack socket
    return any((mapped or client) in network for network in allowed)

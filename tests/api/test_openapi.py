"""The OpenAPI document: every route of the API in it (a route added without its declaration
fails here), valid OpenAPI 3.1, every error code in it, the prefix in ``servers``; the
interactive reference served from the console's own files under its CSP; and the routes
reading their query parameters through the same declarations."""

from __future__ import annotations

import re

import pytest
from dash import dcc
from flask import Blueprint, Flask
from openapi_spec_validator import validate

from api.contract import Operation, declared, query
from api.error_codes import IN_JOB_RECORDS, all_error_codes, http_error_codes
from api.openapi import UndeclaredRoute, api_rules, declared_operations, path_template
from app import create_app
from layouts import help_tab
from layouts.page import header
from tests.source_tree import PROJECT
from tests.test_docs import answered_error_codes


@pytest.fixture(scope="module")
def document(flask_app) -> dict:
    answer = flask_app.test_client().get("/api/openapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.get_json()


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_api_route_is_in_the_document(flask_app, document):
    documented = _documented(document)
    missing = []
    for rule, operation in declared_operations(flask_app, "/"):
        if not operation.documented:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if (method, path_template(rule.rule)) not in documented:
                missing.append(f"{method} {rule.rule}")
    assert missing == []
    # the walk sees the routes people call (not an empty map that passes by saying nothing)
    assert {("POST", "/api/models/{name}/{ref}/predict"), ("GET", "/api/docs")} <= documented
    assert len(documented) >= 23


def test_a_route_without_its_declaration_fails_the_document():
    """What happens when someone adds a route and forgets the line under it."""
    server = Flask(__name__)
    api = Blueprint("api", __name__)
    api.add_url_rule("/declared", "declared", declared(Operation("ok", "t", ()))(lambda: ""))
    api.add_url_rule("/forgotten/<name>", "forgotten", lambda name: "")
    server.register_blueprint(api, url_prefix="/api")
    assert [r.rule for r in api_rules(server, "/")] == ["/api/declared", "/api/forgotten/<name>"]
    with pytest.raises(UndeclaredRoute, match="/api/forgotten/<name>"):
        declared_operations(server, "/")


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises with the first problem


def test_flask_paths_become_openapi_templates():
    assert path_template("/api/models/<name>/<ref>/score/<file_id>") == (
        "/api/models/{name}/{ref}/score/{file_id}"
    )
    assert path_template("/api/docs/<path:asset>") == "/api/docs/{asset}"


def test_every_error_code_is_in_the_document_with_its_status(document):
    """Each code a client can get is written under its own status in some route's answers."""
    found: dict[str, set[str]] = {}
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                for part in (schema or {}).get("allOf", []):
                    codes = part.get("properties", {}).get("error_code", {}).get("enum", [])
                    for code in codes:
                        found.setdefault(code, set()).add(status)
    catalogue = {e.code: str(e.status) for e in http_error_codes()}
    assert sorted(code for code in catalogue if code not in found) == []
    assert {code: found[code] for code in catalogue} == {c: {s} for c, s in catalogue.items()}
    job_error = document["components"]["schemas"]["Job"]["properties"]["error"]
    assert all(f"`{code}`" in job_error["description"] for code in IN_JOB_RECORDS)


def test_the_catalogue_holds_every_code_the_source_answers():
    """The catalogue walks the ConsoleError types; the docs test scans the source text:
    both must find the same codes."""
    catalogue = {e.code for e in all_error_codes()} | set(IN_JOB_RECORDS)
    assert answered_error_codes() - catalogue == set()
    assert "JOB_LOST" in answered_error_codes() and "JOB_LOST" not in {
        e.code for e in http_error_codes()
    }


def test_under_a_prefix_the_servers_carry_it(settings):
    host = Flask("host")
    create_app(host, url_base_pathname="/console/", settings=settings)
    client = host.test_client()
    document = client.get("/console/api/openapi.json").get_json()
    assert document["servers"] == [{"url": "/console"}]
    assert "/api/models/{name}/{ref}/predict" in document["paths"]
    assert client.get("/console/api/docs").status_code == 200
    assert client.get("/api/openapi.json").status_code == 404  # nothing outside the prefix


def test_without_a_prefix_the_server_is_the_root(document):
    assert document["servers"] == [{"url": "/"}]
    assert "security" not in document  # mode none: nobody signs in


def test_the_reference_page_needs_no_inline_script_and_no_outside_file(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script
    assert "http" not in html.replace("http-equiv", "")  # nothing from another server
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(docs/[^"]+)"', html):
        answer = client.get(f"/api/{asset}")
        assert answer.status_code == 200, asset
        assert len(answer.get_data()) > 100


def test_only_the_references_own_files_are_served(client):
    assert client.get("/api/docs/LICENSE").status_code == 404
    assert client.get("/api/docs/..%2Froutes.py").status_code == 404
    answer = client.get("/api/docs/not-there.js")
    assert answer.status_code == 404 and answer.get_json()["error_code"] == "NOT_FOUND"


def test_a_route_reads_only_the_parameters_it_declares():
    server = Flask(__name__)
    operation = Operation("o", "t", (), params=())

    @server.get("/x")
    @declared(operation)
    def _view() -> str:
        return str(query("probabilities"))

    context = server.test_request_context("/x?probabilities=true")
    with pytest.raises(LookupError, match="probabilities"), context:
        _view()


def test_declared_flags_and_defaults_reach_the_route(client):
    """``?probabilities=yes`` turns the flag on (read through the declaration); an absent
    ``?format=`` is the declared default."""
    from tests.conftest import SETOSA

    url = "/api/models/main.ml_models.iris_classifier/Champion/predict"
    answer = client.post(f"{url}?probabilities=yes", json=SETOSA).get_json()
    assert len(answer["probabilities"]) == 1
    assert "probabilities" not in client.post(f"{url}?probabilities=0", json=SETOSA).get_json()


def _hrefs(component) -> list[str]:
    """Every link's target in a layout: ``href`` props and Markdown links."""
    found = []
    href = getattr(component, "href", None)
    if isinstance(href, str):
        found.append(href)
    if isinstance(component, dcc.Markdown):
        found += re.findall(r"\]\(([^)\s]+)\)", str(component.children))
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found += _hrefs(child)
    return found


def test_the_header_and_help_link_the_reference_relative_to_the_page(settings, client):
    """Relative links: the page is served at the console's prefix, so ``api/docs`` is the
    reference of this very console under any prefix."""
    assert "api/docs" in _hrefs(header())
    assert {"api/docs", "api/openapi.json"} <= set(_hrefs(help_tab.layout(1 << 20)))
    for target in ("api/docs", "api/openapi.json"):
        assert client.get(f"/{target}").status_code == 200


def _route_shape(method: str, path: str) -> str:
    """``GET /api/jobs/{job_id}`` and ``GET /api/jobs/<id>?x=`` alike: ``GET /api/jobs/<>``."""
    return f"{method} {re.sub(r'[{<][^}>]*[}>]', '<>', path.split('?')[0])}"


def test_the_api_docs_route_table_names_every_route_of_the_document(document):
    """docs/api.md's table is for people; the document is generated. They must agree."""
    text = (PROJECT / "docs" / "api.md").read_text()
    table = {
        _route_shape(*row) for row in re.findall(r"^\| `([A-Z]+) (/api/[^`]*)` \|", text, re.M)
    }
    generated = {_route_shape(method.upper(), path) for method, path in _documented(document)}
    assert generated - table == set()
    assert table - generated == set()

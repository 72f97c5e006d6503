"""One console for each corpus file, and the Guard that checks each answer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app import create_app, services_of
from tests.hostile.corpus import (
    IRIS_HEADER,
    MARKER,
    PASSWORD,
    TOKEN,
    Guard,
    forbidden_paths,
)


@pytest.fixture(scope="module")
def hostile_app(settings, tmp_path_factory):
    """One console for the whole corpus, with its own data folder (uploads, results, jobs)
    on the shared registry."""
    return create_app(settings=replace(settings, app_data_dir=tmp_path_factory.mktemp("hostile")))


@pytest.fixture(scope="module")
def guard(hostile_app, settings) -> Guard:
    folders = forbidden_paths(
        services_of(hostile_app.server).settings.app_data_dir, settings.app_data_dir
    )
    return Guard(
        hostile_app.server.test_client(),
        {**folders, "the test token": TOKEN, "the test password": PASSWORD},
    )


@pytest.fixture(scope="module")
def iris_upload(guard) -> str:
    body = (f"note,{IRIS_HEADER}\n{MARKER},5.1,3.5,1.4,0.2\n").encode()
    upload = guard.send(
        "post", "/api/uploads?filename=iris.csv", data=body, content_type="text/csv"
    )
    return upload.get_json()["file_id"]

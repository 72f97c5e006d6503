"""Services with small chunks, so every figure is accumulated over many chunks."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cachelib import SimpleCache

from tests.evaluation_models import evaluation_models  # noqa: F401 (a fixture)

CHUNK_ROWS = 37


@pytest.fixture(scope="module")
def chunked(settings, evaluation_models):  # noqa: F811
    from services.wiring import build_services

    return build_services(replace(settings, predict_chunk_rows=CHUNK_ROWS), SimpleCache())

"""The private behaviour of other libraries the console leans on (services/compat.py): each
checked here, so an upgrade that changes it fails this test rather than a user's page."""

from __future__ import annotations

import mlflow

from services.compat import mlflow_mismatch_text

CHECKED_ON_MLFLOW = "3.17.2"


def test_mlflow_words_for_a_missing_and_a_mismatched_requirement():
    assert mlflow_mismatch_text("console-absent-pkg==1.2.3") == (
        "console-absent-pkg (current: uninstalled, required: console-absent-pkg==1.2.3)"
    )
    assert mlflow_mismatch_text("mlflow==0.1.0") == (
        f"mlflow (current: {mlflow.__version__}, required: mlflow==0.1.0)"
    )
    assert mlflow_mismatch_text(f"mlflow=={mlflow.__version__}") is None


def test_it_was_checked_on_this_mlflow():
    """On another MLflow, read services/compat.py's notes again, re-check, then move this."""
    assert mlflow.__version__ == CHECKED_ON_MLFLOW

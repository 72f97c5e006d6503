"""Another library's private behaviour, in one place: each use says the version it was checked
on, and ``tests/test_compat.py`` fails when that behaviour changes.

- ``mlflow_mismatch_text``: ``mlflow.utils.requirements_utils._check_requirement_satisfied``
  and the text of its ``_MismatchedPackageInfo`` (checked on MLflow 3.17.2). MLflow has no
  public way to ask whether one requirement is met; its words are the ones users also see in
  the warning ``mlflow.pyfunc.load_model`` logs ("xgboost (current: uninstalled, required:
  xgboost==3.2.0)").
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def mlflow_mismatch_text(requirement: str) -> str | None:
    """MLflow's own words for a requirement this process does not meet; None when MLflow
    finds it met, or cannot say (then the console's own check stands alone)."""
    try:
        from mlflow.utils.requirements_utils import _check_requirement_satisfied

        mismatch = _check_requirement_satisfied(requirement)
    except Exception:  # a changed private API must not cost the page: the test notices
        log.debug("MLflow's requirement check failed for %s", requirement, exc_info=True)
        return None
    return None if mismatch is None else str(mismatch)

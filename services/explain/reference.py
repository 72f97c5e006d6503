"""The training reference: a sample of the data a model was trained on, carried in the
model's own files, so reading it asks exactly what loading the model asks (the caller's
credentials, the same permission check).

Convention: a Parquet file named ``console_reference.parquet`` (at most
``MAX_REFERENCE_ROWS`` rows; more are sampled down) next to ``MLmodel``. A data scientist
logs it after ``log_model`` with one line::

    mlflow.MlflowClient().log_model_artifact(info.model_id, "console_reference.parquet")

A model without one falls back to its saved input example, and every view says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from services.errors import InvalidInput, PermissionDenied, Unauthenticated
from services.registry.client import Registry
from services.registry.signature import SignatureInfo
from services.registry.types import ResolvedVersion
from services.scoring.payload import ModelInput
from services.scoring.validation import conform

REFERENCE_FILE = "console_reference.parquet"
MAX_REFERENCE_ROWS = 10_000
TRAINING = "training reference"
EXAMPLE = "input example"


class NoReference(InvalidInput):
    error_code = "NO_REFERENCE_DATA"
    http_status = 422


@dataclass(frozen=True)
class TrainingReference:
    """Rows the model saw (or its input example), typed as the model takes them."""

    frame: pd.DataFrame
    source: str  # TRAINING or EXAMPLE

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def is_fallback(self) -> bool:
        return self.source != TRAINING

    def describe(self) -> dict[str, Any]:
        """What every view relying on the reference tells its reader."""
        return {"source": self.source, "rows": self.rows, "fallback": self.is_fallback}

    def note(self) -> str:
        if self.is_fallback:
            return (
                f"Compared against the model's input example ({self.rows} rows): it carries "
                f"no training reference ({REFERENCE_FILE}), so these figures are rough."
            )
        return f"Compared against the training reference ({self.rows:,} rows)."


def read_reference(
    registry: Registry, resolved: ResolvedVersion, signature: SignatureInfo
) -> TrainingReference:
    """The version's training reference, else its input example; ``NoReference`` without
    either. The caller must already be authorised for ``resolved``."""
    frame = _training_file(registry, resolved)
    source = TRAINING
    if frame is None:
        example = registry.version_files(resolved).input_example
        if not example:
            raise NoReference(
                f"{resolved.name} version {resolved.version} carries neither a training "
                f"reference ({REFERENCE_FILE}) nor an input example, so there is nothing to "
                "compare its predictions against.",
                hint="Ask the model's owner to log a training sample next to the model (see Help).",
            )
        frame, source = pd.DataFrame(example), EXAMPLE
    if len(frame) > MAX_REFERENCE_ROWS:
        frame = frame.sample(MAX_REFERENCE_ROWS, random_state=0)
    return TrainingReference(_typed(frame.reset_index(drop=True), signature), source)


def _training_file(registry: Registry, resolved: ResolvedVersion) -> pd.DataFrame | None:
    """The Parquet sample, or None when the model's files have none. A refusal is not an
    absence: it propagates."""
    try:
        path = registry.download(resolved, REFERENCE_FILE)
    except (PermissionDenied, Unauthenticated):
        raise
    except Exception:  # MLflow says "not found" in many ways, by store
        return None
    if not path.is_file():
        return None
    return pd.read_parquet(path)


def _typed(frame: pd.DataFrame, signature: SignatureInfo) -> pd.DataFrame:
    """Only the signature's columns, in its order and types (a target column is dropped)."""
    if not signature.present or signature.is_tensor:
        return frame
    data = conform(ModelInput(frame), signature).data
    return data.reset_index(drop=True) if isinstance(data, pd.DataFrame) else frame

"""A JSON value read once for prediction: clean records keep the fast path's shape (the
model-ready frame is made from them in one step once the model's signature is known,
``services/scoring/fast.py``); anything else is parsed the usual way here, so a refusal is
said before any model is loaded and keeps its words. Callers get the rows to count and to
show, and never parse the input a second time."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from services.registry.signature import SignatureInfo
from services.scoring.fast import FastShape, fast_conformed, fast_shape
from services.scoring.payload import ModelInput, parse_payload
from services.scoring.validation import ConformedInput, conform


@dataclass
class PreparedInput:
    payload: Any
    shape: FastShape | None = None
    parsed: ModelInput | None = field(default=None, repr=False)

    @property
    def rows(self) -> int:
        if self.shape is not None:
            return len(self.shape.rows)
        return self.model_input().rows

    def model_input(self) -> ModelInput:
        """The rows as the usual path reads them (read once, the first time it is asked)."""
        if self.parsed is None:
            self.parsed = parse_payload(self.payload)
        return self.parsed

    def for_model(self, signature: SignatureInfo) -> ConformedInput:
        """What the model gets: the fast path's frame when it can say yes, else the input
        conformed by the signature's rules (a bad value refused in words)."""
        if self.shape is not None and (fast := fast_conformed(self.shape, signature)):
            return fast
        return conform(self.model_input(), signature)

    def table(self) -> pd.DataFrame | None:
        """The rows as a table, to show beside the answers (None: not a table)."""
        if self.shape is not None and self.shape.columns is None:
            return pd.DataFrame.from_records(self.shape.rows)
        data = self.model_input().data
        return data if isinstance(data, pd.DataFrame) else None


def prepare(payload: Any) -> PreparedInput:
    """Any accepted JSON form (or rows already read), ready to predict."""
    if isinstance(payload, PreparedInput):
        return payload
    if isinstance(payload, ModelInput):
        return PreparedInput(payload, parsed=payload)
    shape = fast_shape(payload)
    prepared = PreparedInput(payload, shape)
    if shape is None:
        prepared.model_input()  # refused here, in the usual words, before any model loads
    return prepared

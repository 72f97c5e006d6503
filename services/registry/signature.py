"""A model's signature as plain data the UI and the API can show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class TensorInfo:
    name: str | None
    dtype: str
    shape: tuple[int, ...]

    @property
    def features(self) -> int | None:
        """Values per row, when the shape fixes it (shape (-1, 4) → 4)."""
        if len(self.shape) == 2 and self.shape[1] > 0:
            return self.shape[1]
        return None


@dataclass(frozen=True)
class ParamInfo:
    name: str
    type: str
    default: Any


@dataclass(frozen=True)
class SignatureInfo:
    """Inputs are either named columns or tensors; a model may have no signature at all."""

    columns: list[ColumnInfo] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    outputs: list[ColumnInfo | TensorInfo] = field(default_factory=list)
    params: list[ParamInfo] = field(default_factory=list)
    present: bool = False

    @property
    def is_tensor(self) -> bool:
        return bool(self.tensors)

    @property
    def required_columns(self) -> list[str]:
        return [column.name for column in self.columns if column.required]

    def to_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "inputs": [vars(c) for c in self.columns] or [_tensor_dict(t) for t in self.tensors],
            "input_kind": "tensor" if self.is_tensor else "columns",
            "outputs": [
                _tensor_dict(o) if isinstance(o, TensorInfo) else vars(o) for o in self.outputs
            ],
            "params": [vars(p) for p in self.params],
        }


def _tensor_dict(tensor: TensorInfo) -> dict[str, Any]:
    return {"name": tensor.name, "dtype": tensor.dtype, "shape": list(tensor.shape)}


def _spec_to_info(spec: Any) -> ColumnInfo | TensorInfo:
    from mlflow.types.schema import TensorSpec

    if isinstance(spec, TensorSpec):
        return TensorInfo(spec.name, str(spec.type), tuple(spec.shape))
    type_name = getattr(spec.type, "name", None) or str(spec.type)
    return ColumnInfo(spec.name or "", type_name, bool(getattr(spec, "required", True)))


def describe_signature(signature: Any) -> SignatureInfo:
    """Turn an ``mlflow.models.ModelSignature`` (or None) into a ``SignatureInfo``."""
    if signature is None or signature.inputs is None:
        return SignatureInfo()
    inputs = [_spec_to_info(spec) for spec in signature.inputs.inputs]
    outputs = (
        [_spec_to_info(spec) for spec in signature.outputs.inputs] if signature.outputs else []
    )
    params = [
        ParamInfo(p.name, getattr(p.dtype, "name", str(p.dtype)), p.default)
        for p in (signature.params.params if signature.params else [])
    ]
    return SignatureInfo(
        columns=[i for i in inputs if isinstance(i, ColumnInfo)],
        tensors=[i for i in inputs if isinstance(i, TensorInfo)],
        outputs=outputs,
        params=params,
        present=True,
    )


PLACEHOLDERS: dict[str, Any] = {
    "long": 0,
    "integer": 0,
    "double": 0.0,
    "float": 0.0,
    "boolean": False,
    "string": "text",
    "datetime": "2024-01-01T00:00:00",
}


def placeholder_payload(signature: SignatureInfo) -> Any:
    """An input of the right shape when a model saved no example: zeros, false, "text"."""
    if signature.is_tensor:
        width = signature.tensors[0].features or 1
        return {"inputs": [[0.0] * width]}
    return {c.name: PLACEHOLDERS.get(c.type, "") for c in signature.columns}

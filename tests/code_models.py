"""Registries the tests fill with models written as code (MLflow's "models from code"): a file
that calls ``set_model``, copied into the model's files, so ``mlflow models serve`` in
another process loads the very same model without importing anything from the tests."""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.registry.demo import using_tracking_uri
from services.settings import embedded_artifact_root, embedded_tracking_uri

EXPERIMENT = "/console-code-models"


@dataclass
class CodeRegistry:
    """An MLflow client on a fresh SQLite registry in ``data_dir``, and one experiment."""

    data_dir: Path
    client: Any
    experiment_id: str

    @property
    def uri(self) -> str:
        return embedded_tracking_uri(self.data_dir)


@contextlib.contextmanager
def fresh_registry(data_dir: Path) -> Iterator[CodeRegistry]:
    """The registry in ``data_dir`` (created on first use), pointed at for a while."""
    from mlflow import MlflowClient

    uri = embedded_tracking_uri(data_dir)
    with using_tracking_uri(uri):
        client = MlflowClient(uri, uri)
        existing = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = (
            existing.experiment_id
            if existing
            else client.create_experiment(
                EXPERIMENT, artifact_location=embedded_artifact_root(data_dir).as_uri()
            )
        )
        yield CodeRegistry(data_dir, client, experiment_id)


def pinned(*names: str) -> list[str]:
    """``name==<installed version>`` for each package, as MLflow would write it."""
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in names]


def register_code_model(
    registry: CodeRegistry,
    name: str,
    code: str,
    *,
    requirements: list[str] | None = None,
    **log_kwargs: Any,
) -> str:
    """Register ``code`` (a module body that ends with ``set_model(...)``) as a new version
    of ``name``; its version number."""
    import mlflow

    source = registry.data_dir / "code" / f"{name.replace('.', '_')}.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(textwrap.dedent(code))
    with mlflow.start_run(experiment_id=registry.experiment_id):
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(source),
            pip_requirements=requirements or pinned("mlflow", "pandas", "numpy"),
            **log_kwargs,
        )
    with contextlib.suppress(Exception):  # it exists already: one more version
        registry.client.create_registered_model(name)
    version = registry.client.create_model_version(name, source=info.model_uri, run_id=info.run_id)
    return str(version.version)


def version_folder(registry: CodeRegistry, name: str, version: str) -> Path:
    """Where the registry keeps the version's files (to damage them on purpose)."""
    from services.registry.records import logged_model_id

    source = registry.client.get_model_version(name, version).source
    model_id = logged_model_id(source)
    location = registry.client.get_logged_model(model_id).artifact_location if model_id else source
    return Path(location.removeprefix("file://"))

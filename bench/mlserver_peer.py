"""MLServer (Seldon's inference server) with its MLflow runtime, serving a model folder the
way its documentation says, as a peer in the benchmarks: its MLflow-compatible
``/invocations`` takes the same bodies as ``mlflow models serve``.

MLServer pins its own dependencies (FastAPI, uvloop, ...), so it lives in a virtualenv of
its own (``.venv-mlserver``, made on first use), with the MLflow, scikit-learn, pandas and
NumPy this project pins, so that it loads the very same model the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from servers import Launch, Server, child_env, free_port, start_launch, wait_ready

MLSERVER_VERSION = "1.7.1"
SAME_AS_OURS = ("mlflow", "scikit-learn", "pandas", "numpy")


@dataclass(frozen=True)
class Batching:
    """MLServer's adaptive batching and its worker pool (``parallel_workers: 0`` runs the
    model in the server's own process; its default pool fails to start here, see
    ../shared/FACTS.md)."""

    max_batch_size: int = 64
    max_batch_time_s: float = 0.002
    parallel_workers: int = 0

    @property
    def words(self) -> str:
        if self.max_batch_size <= 1:
            return f"no batching, parallel_workers {self.parallel_workers}"
        return (
            f"batches of ≤ {self.max_batch_size} rows / {self.max_batch_time_s * 1000:g} ms, "
            f"parallel_workers {self.parallel_workers}"
        )


def pinned(requirements: Path, names: tuple[str, ...]) -> list[str]:
    """Our pins of ``names`` from requirements.txt."""
    lines = [line.split("#")[0].strip() for line in requirements.read_text().splitlines()]
    found = [line for line in lines if line.split("==")[0].lower() in names]
    if len(found) != len(names):
        raise RuntimeError(f"requirements.txt does not pin all of {', '.join(names)}")
    return found


def mlserver_venv(root: Path) -> Path:
    """``.venv-mlserver`` with MLServer and our model's libraries, made once."""
    venv = root / ".venv-mlserver"
    binary = venv / "bin" / "mlserver"
    if binary.exists():
        return binary
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    packages = [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-mlflow=={MLSERVER_VERSION}",
        *pinned(root / "requirements.txt", SAME_AS_OURS),
    ]
    print(f"installing {' '.join(packages)} into {venv.name} (once)")
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *packages],
        check=True,
    )
    return binary


def write_settings(folder: Path, model_dir: Path, port: int, batching: Batching) -> Path:
    """MLServer's two settings files: the server's and the one model's."""
    models = folder / "models"
    (models / "model").mkdir(parents=True, exist_ok=True)
    server = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": batching.parallel_workers,
    }
    model = {
        "name": "model",
        "implementation": "mlserver_mlflow.MLflowRuntime",
        "parameters": {"uri": str(model_dir)},
        "max_batch_size": batching.max_batch_size,
        "max_batch_time": batching.max_batch_time_s,
    }
    (models / "settings.json").write_text(json.dumps(server))
    (models / "model" / "model-settings.json").write_text(json.dumps(model))
    return models


def mlserver_launch(
    root: Path, model_dir: Path, work: Path, batching: Batching = Batching()
) -> Launch:
    """MLServer serving the model's files with ``batching``, its settings in ``work``."""
    binary = mlserver_venv(root)
    port = free_port()
    models = write_settings(work, model_dir, port, batching)
    env = child_env(PATH=f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return Launch([str(binary), "start", str(models)], port, env, work)


def start_mlserver(
    stack: contextlib.ExitStack,
    root: Path,
    model_dir: Path,
    work: Path,
    log_dir: Path,
    batching: Batching = Batching(),
    name: str = "mlserver",
) -> Server:
    server = start_launch(
        stack, name, mlserver_launch(root, model_dir, work / name, batching), log_dir
    )
    print(f"{name} ready in {wait_ready(server, '/v2/models/model/ready'):.1f} s")
    return server

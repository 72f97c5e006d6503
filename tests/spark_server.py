"""A real Spark Connect server on 127.0.0.1, started from the pip package's own
``sbin/start-connect-server.sh`` in the foreground (``SPARK_NO_DAEMONIZE``) in a process
group of its own, so stopping it stops the JVM and every Python worker it started.

Its Python workers run this interpreter (``PYSPARK_PYTHON``), like executors on a cluster
with the console's requirements installed. What this does not exercise: a cluster on other
machines (the app and the server share a filesystem here, which is what lets the user's
own area be a source and destination), and Databricks Connect with a user's token.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import free_port
from tests.waiting import exited, until

STARTUP_TIMEOUT_SECONDS = 120.0


@dataclass
class SparkServer:
    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """SIGKILL to the whole group: the server as a crash leaves it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _script() -> Path:
    import pyspark

    script = Path(pyspark.__file__).parent / "sbin" / "start-connect-server.sh"
    if not script.exists():
        raise RuntimeError("pyspark[connect] is missing: pip install -r requirements-spark.txt")
    return script


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def start_spark_server(workdir: Path) -> SparkServer:
    script, port = _script(), free_port()
    log = workdir / "spark-connect.log"
    env = {
        **os.environ,
        "SPARK_NO_DAEMONIZE": "1",
        "SPARK_HOME": str(script.parent.parent),
        "SPARK_LOG_DIR": str(workdir / "logs"),
        "SPARK_PID_DIR": str(workdir),
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    command = [
        "nice",
        "-n",
        "19",
        "bash",
        str(script),
        "--master",
        "local[2]",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        f"spark.connect.grpc.binding.port={port}",
        "--conf",
        "spark.ui.enabled=false",
        "--conf",
        f"spark.sql.warehouse.dir={workdir / 'warehouse'}",
        "--conf",
        f"spark.driver.extraJavaOptions=-Dderby.system.home={workdir}",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = SparkServer(f"sc://127.0.0.1:{port}", port, process, log)
    try:
        until(
            lambda: _answers(port) and b"Spark Connect server started" in log.read_bytes(),
            STARTUP_TIMEOUT_SECONDS,
            poll=0.3,
            msg="Spark Connect started",
            gone=exited(process, "Spark Connect"),
        )
    except AssertionError as exc:
        server.stop()
        raise RuntimeError(f"{exc}:\n{log.read_text(errors='replace')[-3000:]}") from exc
    return server


@contextlib.contextmanager
def running_spark_server(workdir: Path) -> Iterator[SparkServer]:
    server = start_spark_server(workdir)
    try:
        yield server
    finally:
        server.stop()

"""A real PostgreSQL server for the tests, started on a free loopback port in a throw-away
folder and stopped (process group) at the end. Debian's postgresql package provides it
(``.ci/run`` installs it); as root it runs as ``nobody``, since PostgreSQL refuses root."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.processes import stop_process_group
from tests.waiting import exited, until

NOBODY = 65534
START_SECONDS = 60


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: apt-get install postgresql")
    return found


def _as_nobody() -> None:
    if os.geteuid() == 0:
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def postgres_url(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


@contextlib.contextmanager
def running_postgres(port: int | None = None) -> Iterator[str]:
    """Yields an SQLAlchemy URL (psycopg) of a fresh database server (on ``port``, or a free
    one)."""
    folder = Path(tempfile.mkdtemp(prefix="console-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    subprocess.run(
        [_binary("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        preexec_fn=_as_nobody,
    )
    port = port or free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        [
            _binary("postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            str(folder),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_as_nobody,
        start_new_session=True,
    )
    try:
        try:
            until(lambda: _listening(port), START_SECONDS, gone=exited(server, "PostgreSQL"))
        except AssertionError as exc:
            raise RuntimeError(f"{exc}\n{(folder / 'server.log').read_text()[-2000:]}") from exc
        yield postgres_url(port)
    finally:
        stop_process_group(server)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)

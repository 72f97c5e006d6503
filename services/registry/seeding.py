"""Seeding the embedded registry: ``python -m services.registry.seeding`` (the data folder
from APP_DATA_DIR, or ``--data-dir``), a plain command like flaskr's ``init-db``: it seeds
once, says so, or says in one line why it could not (exit code 1).

The console's start runs the same command in a process of its own while gunicorn's first
worker boots, the others after it (a fresh start shows its first page in about two seconds
instead of after the seeding):
``services.startup.start_seeding`` takes the seeding lock and marks a seeding under way
(``lock_for_seeding``), hands the held lock and a pipe to the command, which says ``SEEDED`` or
its error on the pipe; its exit releases the lock. Whoever needs the registry meanwhile waits
on the lock (``wait_for_seeding``) and then finds the seeded mark, or the mark of a seeding
that failed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import sys
import time
from pathlib import Path

from services.registry.seed_marks import SEED_LOCK, SEEDING_MARK, demo_seeded

log = logging.getLogger("services.registry.seeding")  # also when run as __main__

SEEDED = "seeded"  # what the seeding process says when it succeeded
SEED_POLL_SECONDS = 0.02
# Seeding takes seconds; whoever still waits after this long stops waiting.
SEEDING_WAIT_SECONDS = 120.0


def lock_for_seeding(data_dir: Path) -> int:
    """The seeding lock, held exclusively through the returned descriptor, and the mark that
    a seeding is under way: a seeding process that inherits the descriptor holds the lock
    from before it even starts, so no one can take the lock first and find the registry
    still empty. Waits while someone else seeds this folder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / SEED_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        (data_dir / SEEDING_MARK).write_text(f"{os.getpid()}\n")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def wait_for_seeding(tracking_uri: str, data_dir: Path, timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds, then ``TimeoutError``) while a seeding process
    started for this registry runs; False if it failed (it left its mark of a seeding under
    way), True otherwise, also when no one seeds here."""
    if demo_seeded(tracking_uri, data_dir) or not (data_dir / SEEDING_MARK).exists():
        return True  # the mark is written before any worker starts
    deadline = time.monotonic() + timeout
    descriptor = os.open(data_dir / SEED_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:  # shared: the workers' threads waiting here do not queue behind each other
                fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{data_dir} still being seeded") from None
                time.sleep(SEED_POLL_SECONDS)
        return demo_seeded(tracking_uri, data_dir) or not (data_dir / SEEDING_MARK).exists()
    finally:
        os.close(descriptor)  # and with it the lock


def seed_in_this_process(tracking_uri: str, data_dir: Path, lock_fd: int, status_fd: int) -> int:
    """The seeding process's work: seed under the lock it inherited, then write one word to
    ``status_fd`` for whoever started it, ``SEEDED`` or the error in one line. The exit
    code repeats it, for a caller that can still collect it (gunicorn's master reaps every
    child it has, so it reads the word instead)."""
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # inherited, ours already: a wrong descriptor fails
        _sqlite_without_waiting_for_the_disk()
        from services.registry.demo import seed_under_lock  # pandas, MLflow: not in the master

        seeded = seed_under_lock(tracking_uri, data_dir)
    except Exception as error:  # said in one line by the starter: no traceback here
        report, code = one_line(f"{type(error).__name__}: {error}"), 1
    else:
        log.info("Demo registry ready (%s)", ", ".join(seeded) or "already seeded")
        report, code = SEEDED, 0
    with contextlib.suppress(OSError):  # no one to tell: the master has gone
        os.write(status_fd, report.encode())
    return code


def _sqlite_without_waiting_for_the_disk() -> None:
    """This process only writes the demo database, mostly MLflow's schema migrations: SQLite
    need not wait for the disk after each statement. Only an operating system crash meanwhile
    could lose what it wrote; the seeded mark comes last, so the next start seeds again (or
    says to start over)."""
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def unsynced(connection: object, _record: object) -> None:
        # not a database (a broken file): MLflow's own first statement says so, at once
        if isinstance(connection, sqlite3.Connection):
            with contextlib.suppress(sqlite3.DatabaseError):
                connection.execute("PRAGMA synchronous=OFF")

    event.listen(Engine, "connect", unsynced)


def one_line(text: str, limit: int = 400) -> str:
    """An error as a single line of bounded length (SQL errors span many)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> None:
    """``python -m services.registry.seeding``: seed by hand (the lock taken here, failures
    said in one line), or as the process the start runs (``--lock-fd``, ``--status-fd``: the
    lock and the pipe it hands over)."""
    parser = argparse.ArgumentParser(description="seed the embedded demo registry")
    parser.add_argument("--data-dir", type=Path, help="default: APP_DATA_DIR")
    parser.add_argument("--tracking-uri", help="default: the data folder's registry.db")
    parser.add_argument("--lock-fd", type=int)
    parser.add_argument("--status-fd", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for name in ("services.registry.demo", log.name):
        logging.getLogger(name).setLevel(logging.INFO)
    data_dir, tracking_uri = _where(args.data_dir, args.tracking_uri)
    if args.lock_fd is not None and args.status_fd is not None:
        sys.exit(seed_in_this_process(tracking_uri, data_dir, args.lock_fd, args.status_fd))
    sys.exit(seed_by_hand(tracking_uri, data_dir))


def _where(data_dir: Path | None, tracking_uri: str | None) -> tuple[Path, str]:
    from services.settings import Settings, embedded_tracking_uri

    folder = (data_dir or Settings.from_env().app_data_dir).resolve()
    return folder, tracking_uri or embedded_tracking_uri(folder)


def seed_by_hand(tracking_uri: str, data_dir: Path) -> int:
    """The command on its own: the lock taken here, a failure in one line on stderr."""
    lock_fd = lock_for_seeding(data_dir)
    read_end, write_end = os.pipe()
    try:
        code = seed_in_this_process(tracking_uri, data_dir, lock_fd, write_end)
    finally:
        os.close(write_end)
        os.close(lock_fd)
    with os.fdopen(read_end, "rb") as status:
        report = status.read().decode(errors="replace").strip()
    if code:
        print(
            f"Cannot seed the demo registry in {data_dir}: {report}; delete that folder to "
            "start over, or set MLFLOW_TRACKING_URI to your own registry.",
            file=sys.stderr,
        )
    return code


if __name__ == "__main__":
    main()

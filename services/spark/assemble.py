"""A Spark result's part files joined into the one file a user downloads, block by block
(memory stays flat): CSV parts were written without headers and get one; Parquet parts'
row groups are copied into one file."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import IO

import pyarrow.parquet as pq

from services.files import results

BLOCK = 8 * 1024 * 1024


def part_files(parts: Path) -> list[Path]:
    """Spark's data files, in order (``_SUCCESS``, ``.crc`` and hidden files are not data)."""
    return sorted(p for p in parts.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))


def parts_size(parts: Path) -> int:
    return sum(p.stat().st_size for p in part_files(parts))


def join(parts: Path, handle: IO[bytes], result_format: str, header: list[str]) -> None:
    if result_format == results.CSV:
        _join_csv(part_files(parts), handle, header)
    else:
        _join_parquet(part_files(parts), handle)


def _join_csv(files: list[Path], handle: IO[bytes], header: list[str]) -> None:
    handle.write((",".join(_quoted(name) for name in header) + "\n").encode())
    for path in files:
        with open(path, "rb") as part:
            shutil.copyfileobj(part, handle, BLOCK)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _join_parquet(files: list[Path], handle: IO[bytes]) -> None:
    writer = None
    try:
        for path in files:
            source = pq.ParquetFile(path)
            if writer is None:
                writer = pq.ParquetWriter(handle, source.schema_arrow, compression="zstd")
            for group in range(source.num_row_groups):
                writer.write_table(source.read_row_group(group))
    finally:
        if writer is not None:
            writer.close()

"""Writers that never leave a half-made dataset behind.

* :class:`JsonlWriter` streams lines and flushes after every chunk, so a killed run keeps every
  chunk it finished; at worst the last line is cut short, which :func:`repair_jsonl_tail`
  removes before ``--resume`` appends.
* :class:`AtomicParquetWriter` streams row groups into a temporary file in the target's folder
  and moves it over the target with ``os.replace`` only when everything was written.  A failed
  or interrupted run leaves the earlier file (if any) untouched and no partial file at the
  target.  Memory holds at most one row group.
"""
from __future__ import annotations

import json
import os
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_ROW_GROUP_SIZE = 8192
_TAIL_BLOCK = 1 << 16


def _fsync_dir(path: str) -> None:
    # makes the rename itself durable; not every platform lets a directory be opened
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def repair_jsonl_tail(path: str) -> int:
    """Cut a partially written last line (no final newline) off ``path``; returns bytes removed."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        end = size
        # scan backwards block by block for the last newline: a million-row file is not read whole
        while end > 0:
            start = max(0, end - _TAIL_BLOCK)
            f.seek(start)
            block = f.read(end - start)
            if end == size and block.endswith(b"\n"):
                return 0
            nl = block.rfind(b"\n")
            if nl >= 0:
                keep = start + nl + 1
                break
            end = start
        else:
            keep = 0
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def iter_jsonl(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without its newline) for every line, the last included
    even when it has no newline (callers decide what a cut-off line means)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            yield lineno, raw[:-1] if raw.endswith(b"\n") else raw


def dumps_line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


class JsonlWriter:
    """Appends JSON lines; every :meth:`write_lines` call reaches the OS before it returns."""

    def __init__(self, path: str, *, append: bool = False):
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self.path = path
        self._file = open(path, "ab" if append else "wb")

    def write_lines(self, lines: Iterable[str]) -> None:
        # one write per chunk: a kill can cut only the chunk being written
        self._file.write("".join(line + "\n" for line in lines).encode("utf-8"))
        self._file.flush()

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AtomicParquetWriter:
    """Streams rows into ``path`` through a temporary file that replaces it only on success.

    Use as a context manager: leaving the block normally commits, an exception aborts (removes
    the temporary file, keeps whatever was at ``path`` before).
    """

    def __init__(self, path: str, schema: pa.Schema, *, row_group_size: int = DEFAULT_ROW_GROUP_SIZE,
                 compression: str = "zstd"):
        if row_group_size < 1:
            raise ValueError("row_group_size must be >= 1")
        self.path = path
        self.schema = schema
        self.row_group_size = row_group_size
        self.rows_written = 0
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        self._dir = parent
        # same folder as the target, so os.replace is a rename within one filesystem
        self.tmp_path = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        if os.path.exists(self.tmp_path):  # left by a killed run that had our pid
            os.unlink(self.tmp_path)
        self._writer = pq.ParquetWriter(self.tmp_path, schema, compression=compression)
        self._buffer: list[dict] = []
        self._done = False

    def write_row(self, row: dict) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.row_group_size:
            self._flush()

    def write_rows(self, rows: Iterable[dict]) -> None:
        for row in rows:
            self.write_row(row)

    def write_table(self, table: pa.Table) -> None:
        """Append already-built rows (e.g. those kept by --resume), in row groups."""
        self._flush()
        self._writer.write_table(table.cast(self.schema), row_group_size=self.row_group_size)
        self.rows_written += table.num_rows

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._writer.write_table(table, row_group_size=self.row_group_size)
        self.rows_written += len(self._buffer)
        self._buffer = []

    def commit(self) -> None:
        if self._done:
            return
        try:
            self._flush()
            self._writer.close()
            with open(self.tmp_path, "rb") as f:
                os.fsync(f.fileno())
            os.replace(self.tmp_path, self.path)
        except BaseException:
            self.abort()
            raise
        self._done = True
        _fsync_dir(self._dir)

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._buffer = []
        try:
            self._writer.close()
        except Exception:
            pass
        try:
            os.unlink(self.tmp_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> "AtomicParquetWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

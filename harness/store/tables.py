"""Metric and episode tables on disk, written atomically and read back defensively.

Tables are uncompressed Arrow IPC files (Feather V2): they open ten times faster than Parquet,
which matters when a store of a thousand runs is loaded at once, and pandas, polars and DuckDB
read them directly. Runs stored before episode tables keep a `metrics.parquet`, still read.
Writing needs only pyarrow: a worker never imports pandas (`harness.store.frames` has the
pandas side).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

from harness.names import EPISODE_COLUMNS, GLOBAL_STEP
from harness.store.atomic import atomic_path
from harness.store.damage import DamagedFile
from harness.store.files import FileInfo, read_checked
from harness.store.paths import RunPaths
from harness.store.record import RunRecord, RunStatus

EPISODE_SCHEMA = pa.schema(list(zip(EPISODE_COLUMNS, (
    pa.string(), pa.int64(), pa.float64(), pa.int64(), pa.bool_()), strict=True)))
"""Types of a run's episode table (`EPISODE_COLUMNS`); length and `terminated` may be null."""
EPISODE_DTYPES = (np.dtype(object), np.dtype(np.int64), np.dtype(np.float64),
                  np.dtype(np.int64), np.dtype(np.bool_))
"""The numpy dtypes whose columns are `EPISODE_SCHEMA`'s types as they are."""


def no_episodes() -> pa.Table:
    """An episode table without rows (`Schema.empty_table` would import pandas)."""
    return pa.Table.from_batches([], schema=EPISODE_SCHEMA)


def numpy_column(values: np.ndarray) -> pa.Array:
    """A 1-D numpy array as an Arrow array (strings for an object or text array; NaN becomes
    null, as pandas' conversion makes it), built from its buffers: `pa.array` imports pandas
    (to ask whether `values` is a pandas object), half a second of a worker's start-up that
    nothing else there needs."""
    if values.dtype.kind in "OUS":
        encoded = [str(value).encode() for value in values]
        ends = np.cumsum(np.fromiter(map(len, encoded), np.int32, len(encoded)), dtype=np.int32)
        offsets = np.concatenate([np.zeros(1, np.int32), ends])
        buffers = [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(pa.string(), len(encoded), buffers)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    values = np.ascontiguousarray(values)
    validity = None
    if values.dtype.kind == "f" and np.isnan(values).any():
        validity = pa.py_buffer(np.packbits(~np.isnan(values), bitorder="little"))
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [validity, pa.py_buffer(values)])


def column_values(table: pa.Table, name: str, dtype: type) -> np.ndarray:
    """Column `name` of `table` as a numpy array of `dtype` (nulls as NaN for floats), through
    Python values: pyarrow's own conversion to numpy imports pandas."""
    return np.array(table[name].to_pylist(), dtype=dtype)


def numpy_table(columns: Mapping[str, np.ndarray]) -> pa.Table:
    """A table of 1-D numpy columns (see `numpy_column`)."""
    return pa.Table.from_arrays([numpy_column(np.asarray(values)) for values in columns.values()],
                                names=list(columns))


def episode_table(columns: Mapping[str, Any]) -> pa.Table:
    """An episode table from its columns by name: numpy arrays, or lists or pandas Series
    (where lengths or `terminated` may be missing)."""
    arrays = [columns[name] for name in EPISODE_COLUMNS]
    if all(isinstance(array, np.ndarray) and array.dtype == dtype
           for array, dtype in zip(arrays, EPISODE_DTYPES, strict=True)):
        # No cast: a cast imports pyarrow.compute (0.1 s of a worker's first chunk).
        return pa.Table.from_arrays([numpy_column(array) for array in arrays],
                                    schema=EPISODE_SCHEMA)
    if all(isinstance(array, np.ndarray) for array in arrays):
        return numpy_table(dict(zip(EPISODE_COLUMNS, arrays, strict=True))).cast(EPISODE_SCHEMA)
    return pa.table(dict(zip(EPISODE_COLUMNS, arrays, strict=True)), schema=EPISODE_SCHEMA)


def write_table(path: Path, table: pa.Table) -> FileInfo:
    """Store `table` at `path` atomically as an uncompressed Arrow IPC file (Feather V2); what
    was written. (`pyarrow.feather.write_feather` would import pandas.)"""
    with atomic_path(path) as tmp, ipc.new_file(str(tmp), table.schema) as writer:
        writer.write_table(table)
    return FileInfo.of(path)


def concat_tables(tables: Sequence[pa.Table]) -> pa.Table:
    """Rows of `tables` one after another; a column some lack is null there."""
    return pa.concat_tables(tables, promote_options="default")


def concat_episodes(tables: Sequence[pa.Table]) -> pa.Table:
    """Episode tables one after another, as `EPISODE_SCHEMA` (however each was written)."""
    return pa.concat_tables([no_episodes(),
                             *(table.select(list(EPISODE_COLUMNS)).cast(EPISODE_SCHEMA)
                               .replace_schema_metadata(None) for table in tables)])


def read_arrow(path: Path, info: FileInfo | None = None) -> pa.Table:
    """The table stored at `path` (checked against `info` when given); DamagedFile if it is
    missing, unreadable or not the file that was written."""
    data = read_checked(path, info)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq  # runs stored by earlier versions only

            return pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
        return ipc.open_file(pa.BufferReader(data)).read_all()
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DamagedFile(path, f"is not a readable table ({err})") from None


def _chunk_tables(paths: RunPaths, pattern: str) -> list[pa.Table]:
    return [read_arrow(path) for path in sorted(paths.chunks_dir.glob(pattern))]


def run_tables(record: RunRecord, status: dict[str, Any],
               verify: bool = True) -> tuple[pa.Table, pa.Table]:
    """`(metric rows, episodes)` of a run as stored now: the files of a finished run (checked
    against what was written unless not `verify`), the chunks of an unfinished one.
    DamagedFile names a file that cannot be used."""
    paths = record.paths
    if status.get("status") == RunStatus.DONE:
        files = record.data_files(status) if verify else {}
        if not files and not paths.metrics.exists() and paths.legacy_metrics.exists():
            from harness.store.frames import legacy_tables  # runs of earlier versions only

            return legacy_tables(read_arrow(paths.legacy_metrics))
        return (read_arrow(paths.metrics, files.get("metrics")),
                read_arrow(paths.episodes, files.get("episodes")))
    metric_chunks = _chunk_tables(paths, "metrics-*.arrow")
    metrics = concat_tables(metric_chunks) if metric_chunks \
        else pa.table({GLOBAL_STEP: pa.array([], pa.int64())})
    return metrics, concat_episodes(_chunk_tables(paths, "episodes-*.arrow"))

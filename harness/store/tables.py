"""Metric and episode tables on disk, written atomically and read back defensively.

Tables are uncompressed Arrow IPC files (Feather V2): they open ten times faster than Parquet,
which matters when a store of a thousand runs is loaded at once, and pandas, polars and DuckDB
read them directly. Runs stored before episode tables keep a `metrics.parquet`, still read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc

from harness.names import EPISODE_COLUMNS, EPISODE_METRICS, GLOBAL_STEP
from harness.store.atomic import atomic_path
from harness.store.damage import DamagedFile
from harness.store.files import FileInfo, read_checked
from harness.store.paths import RunPaths
from harness.store.record import RunRecord, RunStatus

COMPRESSION = "uncompressed"


def write_table(path: Path, frame: pd.DataFrame) -> FileInfo:
    """Store `frame` (without its index) at `path` atomically; what was written."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    with atomic_path(path) as tmp:
        feather.write_feather(table, tmp, compression=COMPRESSION)
    return FileInfo.of(path)


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


def read_frame(path: Path, info: FileInfo | None = None) -> pd.DataFrame:
    """`read_arrow` as pandas."""
    return read_arrow(path, info).to_pandas()


def empty_episodes() -> pd.DataFrame:
    """An episode table with no rows, typed as a filled one."""
    return pd.DataFrame({
        "kind": pd.Series(dtype=object), GLOBAL_STEP: pd.Series(dtype=np.int64),
        "episodic_return": pd.Series(dtype=np.float64),
        "episodic_length": pd.Series(dtype="Int64"),
        "terminated": pd.Series(dtype="boolean")})[list(EPISODE_COLUMNS)]


def _chunk_tables(paths: RunPaths, pattern: str) -> list[pa.Table]:
    return [read_arrow(path) for path in sorted(paths.chunks_dir.glob(pattern))]


def split_episodes(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Metric rows that also carry episodes as columns (W&B history: one row per episode, as
    CleanRL logs them) as `(metric rows, episodes)`: each row holding an episodic return is one
    episode; the episode columns leave the metrics, and rows left empty are dropped."""
    names = [name for pair in EPISODE_METRICS.values() for name in pair]
    parts = [empty_episodes()]
    for kind, (return_name, length_name) in EPISODE_METRICS.items():
        if return_name in frame:
            rows = frame[frame[return_name].notna()]
            lengths = rows[length_name] if length_name in rows else pd.Series(pd.NA, rows.index)
            parts.append(pd.DataFrame({
                "kind": kind, GLOBAL_STEP: rows[GLOBAL_STEP].astype(np.int64),
                "episodic_return": rows[return_name].astype(np.float64),
                "episodic_length": lengths.astype("Int64"),
                "terminated": pd.array([pd.NA] * len(rows), dtype="boolean")}))
    episodes = pd.concat(parts, ignore_index=True).sort_values(GLOBAL_STEP, kind="stable",
                                                               ignore_index=True)
    metrics = frame[[name for name in frame.columns if name not in names]]
    values = metrics.drop(columns=GLOBAL_STEP)
    kept = metrics[values.notna().any(axis=1)] if len(values.columns) else metrics.iloc[:0]
    return kept.reset_index(drop=True), episodes.astype(empty_episodes().dtypes.to_dict())


def _legacy_episodes(metrics: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A run stored before episode tables (or pulled before them): its episodes from its
    metric columns."""
    kept, episodes = split_episodes(metrics.to_pandas())
    return (pa.Table.from_pandas(kept, preserve_index=False),
            pa.Table.from_pandas(episodes, preserve_index=False))


def run_tables(record: RunRecord, status: dict[str, Any],
               verify: bool = True) -> tuple[pa.Table, pa.Table]:
    """`(metric rows, episodes)` of a run as stored now: the files of a finished run (checked
    against what was written unless not `verify`), the chunks of an unfinished one.
    DamagedFile names a file that cannot be used."""
    paths = record.paths
    if status.get("status") == RunStatus.DONE:
        files = record.data_files(status) if verify else {}
        if not files and not paths.metrics.exists() and paths.legacy_metrics.exists():
            return _legacy_episodes(read_arrow(paths.legacy_metrics))
        return (read_arrow(paths.metrics, files.get("metrics")),
                read_arrow(paths.episodes, files.get("episodes")))
    metric_chunks = _chunk_tables(paths, "metrics-*.arrow")
    episode_chunks = _chunk_tables(paths, "episodes-*.arrow")
    empty = pa.Table.from_pandas(empty_episodes(), preserve_index=False)
    metrics = pa.concat_tables(metric_chunks, promote_options="default") if metric_chunks \
        else pa.table({GLOBAL_STEP: pa.array([], pa.int64())})
    episodes = pa.concat_tables([empty, *episode_chunks], promote_options="default")
    return metrics, episodes

"""The pandas side of stored tables: reading them as DataFrames, and W&B history (metric rows
that carry episodes as columns) split into metric rows and episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from harness.names import EPISODE_METRICS, GLOBAL_STEP
from harness.store.files import FileInfo
from harness.store.tables import episode_table, no_episodes, read_arrow


def read_frame(path: Path, info: FileInfo | None = None) -> pd.DataFrame:
    """`read_arrow` as pandas."""
    return read_arrow(path, info).to_pandas()


def frame_table(frame: pd.DataFrame) -> pa.Table:
    """`frame` as an Arrow table, without its index."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def episodes_as_frame(table: pa.Table) -> pd.DataFrame:
    """An episode table as pandas, its nullable columns typed as such (`Int64`, `boolean`)."""
    return table.to_pandas().astype({"episodic_length": "Int64", "terminated": "boolean"})


def empty_episodes() -> pd.DataFrame:
    """An episode table with no rows, typed as a filled one."""
    return episodes_as_frame(no_episodes())


def split_episodes(frame: pd.DataFrame) -> tuple[pa.Table, pa.Table]:
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
    return frame_table(kept.reset_index(drop=True)), episode_table(episodes)


def legacy_tables(metrics: pa.Table) -> tuple[pa.Table, pa.Table]:
    """A run stored before episode tables (or pulled before them): its metric rows and its
    episodes from its metric columns."""
    return split_episodes(metrics.to_pandas())

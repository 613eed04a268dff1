"""Read the stored tables of many runs and assemble them into pandas frames, fast and small.

Each run's files are read, checked against their recorded hashes and opened as Arrow tables
(threads were tried: on two cores the GIL-bound parts made them slower); the tidy frame is
filled into arrays allocated once, with categorical string columns, so loading 10 million values
takes under two seconds and little more memory than the frame itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness.names import EPISODE_METRICS, GLOBAL_STEP
from harness.store import RunRecord, SuitePaths
from harness.store.damage import DamagedFile
from harness.store.frames import episodes_as_frame
from harness.store.tables import run_tables

RUN_COLUMNS = ["run_id", "suite", "exp_name", "env_id", "seed"]
Metrics = str | Iterable[str] | None
Series = tuple[np.ndarray, np.ndarray]
"""`(global_step, value)` of one metric of one run."""


class RunData:
    """One run's stored metric rows and episodes, with the run's catalog row."""

    def __init__(self, row: Any, metrics: pa.Table, episodes: pa.Table) -> None:
        self.row = row
        self.metrics = metrics
        self.episodes = episodes
        self.prepared: dict[str, Series] = {}
        """The series `read_runs` prepared (those `long_frame` assembles)."""

    def column(self, name: str) -> np.ndarray:
        """A column of the episode table as numpy (missing values as NaN or None)."""
        return self.episodes.column(name).to_numpy(zero_copy_only=False)

    @cached_property
    def kinds(self) -> np.ndarray:
        """The kind (train or eval) of each episode."""
        return self.column("kind")

    def of_kind(self, kind: str) -> np.ndarray | slice:
        """Which episodes are of `kind`: a mask, or `slice(None)` when all are."""
        picked = pc.equal(self.episodes.column("kind"), kind)
        if pc.all(picked).as_py():
            return slice(None)
        return picked.to_numpy(zero_copy_only=False)

    def series(self, metrics: Metrics) -> dict[str, Series]:
        """Every selected metric, episodes included, as `(steps, values)` without missing
        values, by metric name in name order."""
        chosen = None if metrics is None else ({metrics} if isinstance(metrics, str)
                                               else set(metrics))
        found: dict[str, Series] = {}
        names = [n for n in self.metrics.column_names if n != GLOBAL_STEP]
        if any(chosen is None or name in chosen for name in names):
            steps = self.metrics.column(GLOBAL_STEP).to_numpy().astype(np.int64, copy=False)
            for name in names:
                if chosen is None or name in chosen:
                    found[name] = _present(steps, self.metrics.column(name))
        pairs = [(kind, names) for kind, names in EPISODE_METRICS.items()
                 if chosen is None or chosen & set(names)]
        if pairs and self.episodes.num_rows:
            steps = self.column(GLOBAL_STEP).astype(np.int64, copy=False)
            for kind, (return_name, length_name) in pairs:
                picked = self.of_kind(kind)
                if isinstance(picked, np.ndarray) and not picked.any():
                    continue
                for name, column in ((return_name, "episodic_return"),
                                     (length_name, "episodic_length")):
                    if chosen is None or name in chosen:
                        values = self.episodes.column(column)
                        if isinstance(picked, np.ndarray):
                            values = values.filter(pa.array(picked))
                        found[name] = _present(steps[picked], values)
        return dict(sorted(found.items()))


def _present(steps: np.ndarray, column: pa.ChunkedArray | pa.Array) -> Series:
    """A metric column's values where present, with their steps."""
    values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    if column.null_count == 0 and not np.isnan(values).any():
        return steps, values
    present = ~np.isnan(values)
    return steps[present], values[present]


def read_runs(frame: pd.DataFrame, paths: SuitePaths, metrics: Metrics = None
              ) -> tuple[list[RunData], list[tuple[str, DamagedFile]]]:
    """The tables of each run of catalog rows `frame`, in order, with their `metrics` series
    prepared (see `RunData.series`); and `(run_id, damage)` of each run whose files turned out
    damaged."""

    def read(row: Any) -> RunData | DamagedFile:
        record = RunRecord(paths.run(row.run_id))
        try:
            data = RunData(row, *run_tables(record, record.status()))
        except DamagedFile as damage:
            return damage
        data.prepared = data.series(metrics)
        return data

    rows = list(frame.itertuples(index=False))
    loaded = [read(row) for row in rows]
    found = [data for data in loaded if isinstance(data, RunData)]
    damaged = [(row.run_id, data) for row, data in zip(rows, loaded, strict=True)
               if isinstance(data, DamagedFile)]
    return found, damaged


def _code_type(count: int) -> type:
    return np.int8 if count < 127 else np.int16 if count < 32_767 else np.int32


def long_frame(runs: list[RunData]) -> pd.DataFrame:
    """The tidy frame of the series `read_runs` prepared: one row per run, metric and step, in
    run, metric and step order; its string columns are categoricals."""
    per_run = [data.prepared for data in runs]
    sizes = [sum(len(steps) for steps, _ in series.values()) for series in per_run]
    total = sum(sizes)
    if not total:
        return pd.DataFrame(columns=[*RUN_COLUMNS, GLOBAL_STEP, "metric", "value"])
    names = sorted({name for series in per_run for name in series})
    code_of = {name: i for i, name in enumerate(names)}
    step, value = np.empty(total, np.int64), np.empty(total, np.float64)
    metric = np.empty(total, _code_type(len(names)))
    labels = {column: [getattr(data.row, column) for data in runs]
              for column in ("run_id", "suite", "exp_name", "env_id")}
    categories = {column: sorted(set(values)) for column, values in labels.items()}
    codes = {column: np.empty(total, _code_type(len(categories[column])))
             for column in categories}
    position = {column: {label: i for i, label in enumerate(categories[column])}
                for column in categories}
    seeds = [data.row.seed for data in runs]
    missing_seed = any(pd.isna(seed) for seed in seeds)
    seed = np.empty(total, np.int64)
    start = 0
    for index, (series, size) in enumerate(zip(per_run, sizes, strict=True)):
        at = start
        for name, (steps, values) in series.items():
            step[at:at + len(steps)] = steps
            value[at:at + len(steps)] = values
            metric[at:at + len(steps)] = code_of[name]
            at += len(steps)
        for column in codes:
            codes[column][start:at] = position[column][labels[column][index]]
        seed[start:at] = -1 if pd.isna(seeds[index]) else seeds[index]
        start += size
    columns: dict[str, Any] = {column: pd.Categorical.from_codes(codes[column],
                                                                categories=categories[column])
                               for column in ("run_id", "suite", "exp_name", "env_id")}
    columns["seed"] = pd.array(np.where(seed < 0, None, seed), dtype="Int64") if missing_seed \
        else seed
    columns[GLOBAL_STEP] = step
    columns["metric"] = pd.Categorical.from_codes(metric, categories=names)
    columns["value"] = value
    return pd.DataFrame(columns, copy=False)


def wide_frame(runs: list[RunData], metrics: Metrics) -> pd.DataFrame:
    """One row per stored record (metric row or episode) of each run, a column per metric, in
    step order (episodes before the metric row of the same step), as W&B's history holds it."""
    chosen = None if metrics is None else ({metrics} if isinstance(metrics, str)
                                           else set(metrics))
    frames = []
    for data in runs:
        records = [data.metrics.to_pandas().assign(_order=1)]
        steps = data.column(GLOBAL_STEP)
        for kind, (return_name, length_name) in EPISODE_METRICS.items():
            picked = data.kinds == kind
            if picked.any():
                records.append(pd.DataFrame({
                    GLOBAL_STEP: steps[picked],
                    return_name: data.column("episodic_return")[picked],
                    length_name: data.column("episodic_length")[picked].astype(np.float64),
                    "_order": 0}))
        merged = pd.concat(records, ignore_index=True)
        if chosen is not None:
            keep = [c for c in merged.columns if c in chosen]
            merged = merged[[GLOBAL_STEP, "_order", *keep]].dropna(how="all", subset=keep)
        merged = merged.sort_values([GLOBAL_STEP, "_order"], kind="stable", ignore_index=True)
        frames.append(merged.drop(columns="_order").assign(
            **{column: getattr(data.row, column) for column in RUN_COLUMNS}))
    if not frames:
        return pd.DataFrame(columns=[*RUN_COLUMNS, GLOBAL_STEP])
    frame = pd.concat(frames, ignore_index=True)
    leading = [*RUN_COLUMNS, GLOBAL_STEP]
    return frame[leading + sorted(c for c in frame.columns if c not in leading)]


def episode_frame(runs: list[RunData], kind: str | None) -> pd.DataFrame:
    """One row per episode of each run (of `kind` only, when given), run columns first."""
    columns = [*RUN_COLUMNS, "kind", GLOBAL_STEP, "episodic_return", "episodic_length",
               "terminated"]
    parts = []
    for data in runs:
        table = episodes_as_frame(data.episodes)
        if kind is not None:
            table = table[table["kind"] == kind]
        parts.append(table.assign(**{c: getattr(data.row, c) for c in RUN_COLUMNS}))
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]

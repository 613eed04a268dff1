"""The catalog of a suite: one row per stored run, cached so that large stores list quickly.

Reading a row costs three small JSON files; a store of 25,000 runs would take seconds for every
`harness.results.runs()`. The catalog keeps the rows of finished runs (done, failed, damaged) in
`<suite>/catalog.arrow`, each with a signature (the newest mtime of the run directory and of
its JSON and data files): a row is reused only while its signature is unchanged, so a run that
is retried, repaired or damaged is read again. Rows of unfinished runs are always read fresh.
The file is a cache: any reader may rewrite it (atomically; a read-only store just goes
without), and deleting it loses nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd

from harness.scores import STORED_REDUCTIONS
from harness.store.damage import DamagedFile
from harness.store.frames import frame_table, read_frame
from harness.store.paths import RECORD_FILES, SuitePaths
from harness.store.state import RunState, finished_view, inspect_run
from harness.store.tables import write_table

CATALOG_VERSION = 1
CACHED_STATES = (RunState.DONE, RunState.FAILED, RunState.DAMAGED)
"""Rows of runs in these states are kept between reads (until their signature changes)."""
SCORE_COLUMNS = tuple(f"score:{reduction.key}" for reduction in STORED_REDUCTIONS)
COUNT_COLUMNS = tuple(f"episodes:{reduction.key}" for reduction in STORED_REDUCTIONS)
INTEGER_COLUMNS = {"seed": "Int64", "total_timesteps": "Int64", "global_step": "int64",
                   "attempt": "Int64", "train_episodes": "Int64", "eval_episodes": "Int64",
                   "signature": "int64"}
COLUMNS = ("run_id", "suite", "exp_name", "env_id", "seed", "algo", "status", "global_step",
           "total_timesteps", "reason", "job_id", "attempt", "started_at", "finished_at",
           "compile_seconds", "train_seconds", "train_episodes", "eval_episodes",
           *SCORE_COLUMNS, *COUNT_COLUMNS, "hyperparameters", "signature", "catalog_version")


def _signature(run_dir: str) -> tuple[int, dict[str, os.stat_result]]:
    """The newest mtime (ns) of a run directory and of every file its row is read from, and
    what stat said of each file that exists (plain strings: this runs once per run on every
    read of the catalog)."""
    newest, found = os.stat(run_dir).st_mtime_ns, {}
    for name in RECORD_FILES:
        try:
            found[name] = os.stat(f"{run_dir}{os.sep}{name}")
        except OSError:
            continue
        newest = max(newest, found[name].st_mtime_ns)
    return newest, found


def _row(run_dir: str, paths: SuitePaths) -> dict[str, Any]:
    """A run's catalog row, read from its files (damage recorded, not raised)."""
    signature, stats = _signature(run_dir)  # first: a write after it changes the signature
    view = finished_view(run_dir, stats) or inspect_run(paths.run(os.path.basename(run_dir)))
    row: dict[str, Any] = {"run_id": view.run_id, "suite": paths.suite, "status": view.state.value,
                           "reason": view.reason, "signature": signature,
                           "catalog_version": CATALOG_VERSION}
    config, meta, status = view.config or {}, view.metadata or {}, view.status
    scores = status.get("scores") or {}
    counts = status.get("episodes") or {}
    row.update({
        "exp_name": config.get("exp_name"), "env_id": config.get("env_id"),
        "seed": config.get("seed"), "algo": config.get("algo"),
        "total_timesteps": config.get("total_timesteps"),
        "global_step": int(status.get("global_step", 0) or 0), "job_id": status.get("job_id"),
        "attempt": meta.get("attempt"), "started_at": meta.get("started_at"),
        "finished_at": meta.get("finished_at"), "compile_seconds": meta.get("compile_seconds"),
        "train_seconds": meta.get("train_seconds"),
        "train_episodes": counts.get("train"), "eval_episodes": counts.get("eval"),
        "hyperparameters": json.dumps(config.get("hyperparameters") or {}, sort_keys=True)})
    for reduction, score_column, count_column in zip(STORED_REDUCTIONS, SCORE_COLUMNS,
                                                     COUNT_COLUMNS, strict=True):
        stored = scores.get(reduction.key) or {}
        row[score_column] = np.nan if stored.get("score") is None else stored["score"]
        row[count_column] = stored.get("episodes", np.nan)
    return row


def _cached(paths: SuitePaths) -> pd.DataFrame | None:
    try:
        frame = read_frame(paths.catalog)
    except DamagedFile:
        return None
    if list(frame.columns) != list(COLUMNS) or not (frame["catalog_version"]
                                                   == CATALOG_VERSION).all():
        return None
    return frame.set_index("run_id", drop=False)


def _save(paths: SuitePaths, frame: pd.DataFrame) -> None:
    """Write the cache; a store this process cannot write keeps its old cache (or none)."""
    try:
        write_table(paths.catalog, frame_table(frame))
    except OSError:
        return


def catalog(paths: SuitePaths) -> pd.DataFrame:
    """One row per run directory of the suite (columns `COLUMNS`), in run id order."""
    if not paths.runs_dir.is_dir():
        return pd.DataFrame(columns=list(COLUMNS)).astype(INTEGER_COLUMNS)
    run_dirs = sorted(entry.name for entry in os.scandir(paths.runs_dir) if entry.is_dir())
    cached = _cached(paths) if paths.catalog.exists() else None
    known = {} if cached is None else dict(zip(cached["run_id"], cached["signature"],
                                               strict=True))
    kept, fresh = [], []
    runs_dir = str(paths.runs_dir)
    for run_id in run_dirs:
        run_dir = f"{runs_dir}{os.sep}{run_id}"
        try:
            if run_id in known and known[run_id] == _signature(run_dir)[0]:
                kept.append(run_id)
                continue
            fresh.append(_row(run_dir, paths))
        except FileNotFoundError:
            continue  # the directory went away meanwhile (`harness pull` replacing a run)
    parts = [cached.loc[kept]] if cached is not None and kept else []
    if fresh:
        parts.append(pd.DataFrame(fresh, columns=list(COLUMNS)).astype(INTEGER_COLUMNS))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(COLUMNS)).astype(INTEGER_COLUMNS)
    if any(row["status"] in CACHED_STATES for row in fresh) or (
            cached is not None and len(kept) != len(cached)):
        _save(paths, frame[frame["status"].isin(CACHED_STATES)])
    return frame.sort_values("run_id", ignore_index=True)


def hyperparameter_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The catalog's `hyperparameters` (JSON per run) spread into one column each (each
    distinct setting parsed once: a sweep has few, a store of seeds has one per config)."""
    codes, distinct = pd.factorize(frame["hyperparameters"])
    spread = pd.DataFrame([json.loads(text) for text in distinct])
    return spread.iloc[codes].set_axis(frame.index)

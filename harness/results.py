"""Load stored runs, metrics and episodes into pandas.

`load()` returns tidy (long) rows, one per run, step and metric:

    run_id, suite, exp_name, env_id, seed, global_step, metric, value

Per-update metrics (losses, `charts/SPS`, ...) come one row per stored metric row; every
finished episode adds `charts/episodic_return` and `charts/episodic_length` rows at the step it
ended (`eval/episodic_return` and `eval/episodic_length` for evaluation episodes), exactly as a
CleanRL run logs them to W&B. Rows are ordered by experiment, environment, seed, run, metric and
step; the string columns are categoricals (a store of millions of values loads small).
`load(..., wide=True)` returns the same records as W&B's history holds them instead: one row
per metric row or episode, a column per metric. `episodes()` returns one row per finished episode,
`runs()` one row per run, and `final_scores()` each run's final score under one named reduction
(harness/scores.py; by default the mean of its last 100 training episodes, as CleanRL's).

Every function takes the suite as a name (looked up under the results root), a suite's results
directory, or a suite file (`suites/smoke.yaml`): a suite file selects only the runs it defines
now, while a name or directory selects every run stored for the suite, including runs of
earlier versions of its file. A damaged run (a file that cannot be read) is listed by `runs()`
with status `damaged` and the file in `reason`; the other functions skip it with a
`DamagedRunWarning` naming the run and the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from harness.loading import (
    RUN_COLUMNS,
    RunData,
    episode_frame,
    long_frame,
    read_runs,
    wide_frame,
)
from harness.names import EVAL, GLOBAL_STEP, TRAIN
from harness.scores import DEFAULT_REDUCTION, STORED_REDUCTIONS, Reduction, final_score
from harness.store import SuitePaths
from harness.store.catalog import catalog, hyperparameter_columns
from harness.store.damage import DamagedFile
from harness.store.paths import results_root

RUN_FACTS = ["algo", "status", "global_step", "total_timesteps", "reason", "job_id", "attempt",
             "started_at", "finished_at", "compile_seconds", "train_seconds", "train_episodes",
             "eval_episodes"]
Selector = str | int | Iterable[str | int] | None


class DamagedRunWarning(UserWarning):
    """A run was skipped because one of its files cannot be read (the message names it)."""


def _is_suite_file(path: Path) -> bool:
    return path.suffix in (".yaml", ".yml") and not (path / "runs").is_dir()


def suite_paths(suite: str | Path, root: str | Path | None = None) -> SuitePaths:
    """Where a suite's results live, for a suite name, results directory or suite file.

    A name is looked up under `root`, else `$HARNESS_RESULTS_DIR`, else `results` in the
    working directory; a suite file names its own results directory.
    """
    path = Path(suite)
    if (path / "runs").is_dir():
        return SuitePaths(path.parent, path.name)
    if _is_suite_file(path):
        from harness.suite import load_suite

        loaded = load_suite(path)
        return SuitePaths(Path(root or loaded.results_dir), loaded.name)
    base = results_root(root)
    paths = SuitePaths(base, str(suite))
    if not paths.runs_dir.is_dir():
        known = sorted(p.name for p in base.iterdir() if (p / "runs").is_dir()) \
            if base.is_dir() else []
        raise FileNotFoundError(
            f"no results for suite {str(suite)!r} under {base}/ "
            f"(found: {', '.join(known) or 'none'})")
    return paths


def _names(metrics: Selector) -> list[str]:
    """A metric selector as a list of names."""
    return [metrics] if isinstance(metrics, str) else [str(m) for m in metrics]


def _selected(values: pd.Series, selector: Selector) -> pd.Series:
    if selector is None:
        return pd.Series(True, index=values.index)
    if isinstance(selector, (str, int)):
        return values == selector
    return values.isin(list(selector))


def _defined_run_ids(suite: str | Path) -> set[str] | None:
    """The run ids a suite file defines now; None for a suite name or directory."""
    path = Path(suite)
    if not _is_suite_file(path):
        return None
    from harness.runs import expand
    from harness.suite import load_suite

    return {run.run_id for run in expand(load_suite(path))}


def _catalog(suite: str | Path, root: str | Path | None, exp_name: Selector, env_id: Selector,
             seed: Selector, status: Selector, run_id: Selector) -> pd.DataFrame:
    """The selected rows of the suite's catalog, ordered by experiment, environment, seed."""
    frame = catalog(suite_paths(suite, root))
    defined = _defined_run_ids(suite)
    keep = _selected(frame["run_id"], run_id) & _selected(frame["exp_name"], exp_name) \
        & _selected(frame["env_id"], env_id) & _selected(frame["seed"], seed) \
        & _selected(frame["status"], status)
    if defined is not None:
        keep &= frame["run_id"].isin(defined)
    return frame[keep].sort_values(["exp_name", "env_id", "seed", "run_id"], ignore_index=True,
                                   na_position="last")


def runs(suite: str | Path, *, root: str | Path | None = None, exp_name: Selector = None,
         env_id: Selector = None, seed: Selector = None, status: Selector = None,
         run_id: Selector = None) -> pd.DataFrame:
    """One row per stored run: ids, status, progress, timings, failure reason, hyperparameters.

    `status` is the run's state: pending, running, stale, interrupted, done, failed or damaged
    (see harness/store/state.py)."""
    frame = _catalog(suite, root, exp_name, env_id, seed, status, run_id)
    table = frame[[*RUN_COLUMNS, *RUN_FACTS]]
    if frame.empty:
        return table.reset_index(drop=True)
    spread = hyperparameter_columns(frame)
    spread = spread[[c for c in spread.columns if c not in table.columns]]
    return pd.concat([spread, table], axis=1)


def _warn(run_id: str, suite: str, damage: DamagedFile | str) -> None:
    warnings.warn(f"run {run_id} of suite {suite}: {damage}; skipped (`harness run` moves the "
                  "file aside and trains the run again)", DamagedRunWarning, stacklevel=4)


def _readable(suite: str | Path, root: str | Path | None, exp_name: Selector, env_id: Selector,
              seed: Selector, status: Selector, run_id: Selector) -> pd.DataFrame:
    """The selected runs whose data can be read; each damaged run the other filters select
    is named in a warning."""
    frame = _catalog(suite, root, exp_name, env_id, seed, None, run_id)
    damaged = frame["status"] == "damaged"
    for row in frame[damaged].itertuples(index=False):
        _warn(row.run_id, row.suite, row.reason)
    return frame[_selected(frame["status"], status) & ~damaged]


def _read(frame: pd.DataFrame, suite: str | Path, root: str | Path | None,
          metrics: Selector = None) -> list[RunData]:
    """The stored tables of the runs of `frame`, their `metrics` series prepared (a damaged
    run named in a warning, left out)."""
    paths = suite_paths(suite, root)
    found, damaged = read_runs(frame, paths, None if metrics is None else _names(metrics))
    for run_id, damage in damaged:
        _warn(run_id, paths.suite, damage)
    return found


def load(suite: str | Path, *, root: str | Path | None = None, exp_name: Selector = None,
         env_id: Selector = None, seed: Selector = None, metrics: Selector = None,
         status: Selector = "done", run_id: Selector = None, wide: bool = False) -> pd.DataFrame:
    """Metric rows and episodes of the selected runs (finished ones by default; `status=None`
    for all), tidy, or one row per record with `wide=True`."""
    frame = _readable(suite, root, exp_name, env_id, seed, status, run_id)
    if wide:
        return wide_frame(_read(frame, suite, root, metrics=[]), metrics)
    return long_frame(_read(frame, suite, root, metrics))


def episodes(suite: str | Path, *, root: str | Path | None = None, exp_name: Selector = None,
             env_id: Selector = None, seed: Selector = None, kind: str | None = None,
             status: Selector = "done", run_id: Selector = None) -> pd.DataFrame:
    """One row per finished episode of the selected runs, in the order each run's episodes
    ended: run columns, `kind` (train or eval), `global_step` (the step it ended at),
    `episodic_return`, `episodic_length` and `terminated` (False: truncated; missing where
    the source did not say, as for pulled W&B runs)."""
    if kind not in (None, TRAIN, EVAL):
        raise ValueError(f"kind must be {TRAIN!r}, {EVAL!r} or None, not {kind!r}")
    frame = _readable(suite, root, exp_name, env_id, seed, status, run_id)
    return episode_frame(_read(frame, suite, root, metrics=[]), kind)


def _as_reduction(reduction: Reduction | str) -> Reduction:
    return reduction if isinstance(reduction, Reduction) else Reduction.parse(reduction)


def final_scores(suite: str | Path, *, root: str | Path | None = None,
                 reduction: Reduction | str = DEFAULT_REDUCTION, exp_name: Selector = None,
                 env_id: Selector = None, seed: Selector = None, status: Selector = "done",
                 run_id: Selector = None) -> pd.DataFrame:
    """Each selected run's final score under `reduction` (a `Reduction` or its key, e.g.
    `"last_episodes:100"`, `"last_fraction:0.1"`, `"eval"`): run columns, `algo`, `score`,
    and `episodes`, how many episodes it averages (0 and NaN score when the run has none)."""
    reduction = _as_reduction(reduction)
    frame = _readable(suite, root, exp_name, env_id, seed, status, run_id)
    score_column, count_column = f"score:{reduction.key}", f"episodes:{reduction.key}"
    stored = frame[count_column].notna() if reduction in STORED_REDUCTIONS else \
        pd.Series(False, index=frame.index)
    cached = frame[stored]
    scores = cached[[*RUN_COLUMNS, "algo"]].assign(score=cached[score_column],
                                                   episodes=cached[count_column]) \
        if stored.any() else pd.DataFrame(columns=[*RUN_COLUMNS, "algo", "score", "episodes"])
    rest = frame.drop(cached.index)
    computed = []
    for data in _read(rest, suite, root, metrics=[]):
        score, used = final_score(reduction, data.column(GLOBAL_STEP),
                                  data.column("episodic_return"), data.kinds == EVAL,
                                  int(data.row.global_step))
        computed.append({**{c: getattr(data.row, c) for c in [*RUN_COLUMNS, "algo"]},
                         "score": score, "episodes": used})
    table = pd.concat([scores, pd.DataFrame(computed, columns=scores.columns)],
                      ignore_index=True) if computed else scores.reset_index(drop=True)
    table["episodes"] = table["episodes"].astype(np.int64)
    table["score"] = table["score"].astype(np.float64)
    return table.sort_values(["exp_name", "env_id", "seed", "run_id"], ignore_index=True)


def summary(suite: str | Path, *, root: str | Path | None = None,
            reduction: Reduction | str = DEFAULT_REDUCTION,
            run_id: Selector = None) -> pd.DataFrame:
    """Per experiment and environment: runs by state and the final score (mean, std) over the
    finished runs' seeds, under `reduction`."""
    table = runs(suite, root=root, run_id=run_id)
    columns = ["exp_name", "env_id", "algo", "total_timesteps", "runs", "done", "failed",
               "damaged", "final_score_mean", "final_score_std", "seeds_scored"]
    if table.empty:
        return pd.DataFrame(columns=columns)
    counts = table.groupby(["exp_name", "env_id"]).agg(
        algo=("algo", "first"), total_timesteps=("total_timesteps", "max"),
        runs=("run_id", "size"), done=("status", lambda s: int((s == "done").sum())),
        failed=("status", lambda s: int((s == "failed").sum())),
        damaged=("status", lambda s: int((s == "damaged").sum())))
    finals = final_scores(suite, root=root, reduction=reduction, run_id=run_id)
    scores = finals.groupby(["exp_name", "env_id"])["score"].agg(
        final_score_mean="mean", final_score_std="std", seeds_scored="count")
    return counts.join(scores).reset_index()[columns]


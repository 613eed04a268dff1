"""Load stored runs and metrics into pandas.

`load()` returns tidy (long) rows, one per run, step and metric:

    run_id, suite, exp_name, env_id, seed, global_step, metric, value

Metrics that were not logged at a step (an episodic return when no episode finished) have no
row. `load(..., wide=True)` returns one row per run and step with a column per metric instead.
`runs()` returns one row per run with its status, timings and every hyperparameter.

Every function takes the suite as a name (looked up under the results root), a suite's results
directory, or a suite file (`suites/smoke.yaml`): a suite file selects only the runs it defines
now, while a name or directory selects every run stored for the suite, including runs of
earlier versions of its file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.suite import load_suite
from harness.training.metrics import EPISODE_RETURN, GLOBAL_STEP

RESULTS_ENV = "HARNESS_RESULTS_DIR"
RUN_COLUMNS = ["run_id", "suite", "exp_name", "env_id", "seed"]
Selector = str | int | Iterable[str | int] | None


def results_root(root: str | Path | None = None) -> Path:
    """The results root: `root`, else `$HARNESS_RESULTS_DIR`, else `results`."""
    return Path(root or os.environ.get(RESULTS_ENV) or "results")


def suite_paths(suite: str | Path, root: str | Path | None = None) -> SuitePaths:
    """Where a suite's results live, for a suite name, results directory or suite file.

    A name is looked up under `root`, else `$HARNESS_RESULTS_DIR`, else `results` in the
    working directory; a suite file names its own results directory.
    """
    path = Path(suite)
    if (path / "runs").is_dir():
        return SuitePaths(path.parent, path.name)
    if path.suffix in (".yaml", ".yml"):
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


def _matches(value: Any, selector: Selector) -> bool:
    if selector is None:
        return True
    if isinstance(selector, (str, int)):
        return value == selector
    return value in set(selector)


def _defined_run_ids(suite: str | Path) -> set[str] | None:
    """The run ids a suite file defines now; None for a suite name or directory."""
    path = Path(suite)
    if path.suffix in (".yaml", ".yml") and not (path / "runs").is_dir():
        return {run.run_id for run in expand(load_suite(path))}
    return None


def runs(suite: str | Path, *, root: str | Path | None = None, exp_name: Selector = None,
         env_id: Selector = None, seed: Selector = None, status: Selector = None,
         run_id: Selector = None) -> pd.DataFrame:
    """One row per stored run: ids, status, progress, timings, failure reason, hyperparameters."""
    defined = _defined_run_ids(suite)
    rows = []
    for run_paths in suite_paths(suite, root).runs():
        record = RunRecord(run_paths)
        config = record.config()
        if config is None or (defined is not None and run_paths.run_id not in defined):
            continue
        state = record.status()
        if not (_matches(config["exp_name"], exp_name) and _matches(config["env_id"], env_id)
                and _matches(config["seed"], seed) and _matches(state["status"], status)
                and _matches(run_paths.run_id, run_id)):
            continue
        meta = record.metadata()
        rows.append({
            **config["hyperparameters"],
            **{key: config[key] for key in RUN_COLUMNS},
            "algo": config["algo"], "status": state["status"],
            "global_step": state.get("global_step", 0),
            "total_timesteps": config["total_timesteps"], "reason": state.get("reason"),
            "job_id": state.get("job_id"), "started_at": meta.get("started_at"),
            "finished_at": meta.get("finished_at"),
            "compile_seconds": meta.get("compile_seconds"),
            "train_seconds": meta.get("train_seconds"),
        })
    if not rows:
        return pd.DataFrame(columns=[*RUN_COLUMNS, "algo", "status", "global_step",
                                     "total_timesteps", "reason"])
    return pd.DataFrame(rows).sort_values(["exp_name", "env_id", "seed"], ignore_index=True)


def load(suite: str | Path, *, root: str | Path | None = None, exp_name: Selector = None,
         env_id: Selector = None, seed: Selector = None, metrics: Selector = None,
         status: Selector = "done", run_id: Selector = None, wide: bool = False) -> pd.DataFrame:
    """Metric rows of the selected runs (finished ones by default; `status=None` for all)."""
    selected = runs(suite, root=root, exp_name=exp_name, env_id=env_id, seed=seed, status=status,
                    run_id=run_id)
    paths = suite_paths(suite, root)
    frames = []
    for run in selected.itertuples(index=False):
        table = RunRecord(paths.run(run.run_id)).read_metrics()
        if table.empty:
            continue
        if metrics is not None:
            keep = [m for m in table.columns if m != GLOBAL_STEP and _matches(m, metrics)]
            table = table[[GLOBAL_STEP, *keep]]
        if not wide:
            table = table.melt(id_vars=[GLOBAL_STEP], var_name="metric", value_name="value")
            table = table.dropna(subset=["value"])
        frames.append(table.assign(**{key: getattr(run, key) for key in RUN_COLUMNS}))
    if not frames:
        long_columns = [] if wide else ["metric", "value"]
        return pd.DataFrame(columns=[*RUN_COLUMNS, GLOBAL_STEP, *long_columns])
    frame = pd.concat(frames, ignore_index=True)
    leading = [*RUN_COLUMNS, GLOBAL_STEP]
    frame = frame[leading + [c for c in frame.columns if c not in leading]]
    order = ["exp_name", "env_id", "seed", "run_id", GLOBAL_STEP, *([] if wide else ["metric"])]
    return frame.sort_values(order, ignore_index=True)


def final_returns(frame: pd.DataFrame, fraction: float = 0.1,
                  metric: str = EPISODE_RETURN) -> pd.DataFrame:
    """Each run's mean `metric` over the last `fraction` of its steps, from `load()`'s rows."""
    rows = frame[frame["metric"] == metric]
    last_step = rows.groupby("run_id")[GLOBAL_STEP].transform("max")
    window = rows[rows[GLOBAL_STEP] >= (1.0 - fraction) * last_step]
    return (window.groupby(RUN_COLUMNS, as_index=False)["value"].mean()
            .rename(columns={"value": "final_return"}))


def summary(suite: str | Path, *, root: str | Path | None = None, fraction: float = 0.1,
            run_id: Selector = None) -> pd.DataFrame:
    """Per experiment and environment: runs by status and final return (mean, std) over seeds."""
    table = runs(suite, root=root, run_id=run_id)
    if table.empty:
        return pd.DataFrame(columns=["exp_name", "env_id", "algo", "total_timesteps", "runs",
                                     "done", "failed", "final_return_mean", "final_return_std"])
    counts = table.groupby(["exp_name", "env_id"]).agg(
        algo=("algo", "first"), total_timesteps=("total_timesteps", "max"),
        runs=("run_id", "size"), done=("status", lambda s: int((s == "done").sum())),
        failed=("status", lambda s: int((s == "failed").sum())))
    finals = final_returns(load(suite, root=root, run_id=run_id), fraction)
    scores = finals.groupby(["exp_name", "env_id"])["final_return"].agg(
        final_return_mean="mean", final_return_std="std")
    return counts.join(scores).reset_index()

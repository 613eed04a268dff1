"""The tables a report shows, as tidy frames with fixed columns: per task, aggregates with
intervals, performance profiles, probabilities of improvement, sample efficiency, runtimes.

Each takes the per-run scores of `harness.analysis.scores` and applies the pure estimators of
`aggregates`, `bootstrap`, `profiles` and `improvement`; every random step takes `seed`.
An algorithm with a single run per task gets its point estimates and NaN intervals, marked in
the `note` column ("1 seed: no interval").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness import results
from harness.analysis.aggregates import AGGREGATES, iqm
from harness.analysis.bootstrap import interval_curves, interval_estimates
from harness.analysis.curves import align, smooth
from harness.analysis.errors import AnalysisError
from harness.analysis.improvement import improvement_intervals
from harness.analysis.profiles import profile_bands
from harness.analysis.scores import ScoreArrays, Suites, label_experiments, suite_list
from harness.names import GLOBAL_STEP, TRAIN
from harness.references import load_references, reference_for
from harness.scores import DEFAULT_REDUCTION

ONE_SEED = "1 seed: no interval"
TASK_COLUMNS = ["exp_name", "env_id", "runs", "mean", "std", "median", "iqm", "min", "max"]
AGGREGATE_COLUMNS = ["exp_name", "statistic", "estimate", "lower", "upper", "runs", "tasks",
                     "note"]
PROFILE_COLUMNS = ["exp_name", "tau", "fraction", "lower", "upper"]
IMPROVEMENT_COLUMNS = ["exp_name_x", "exp_name_y", "estimate", "lower", "upper", "note"]
EFFICIENCY_COLUMNS = ["exp_name", GLOBAL_STEP, "estimate", "lower", "upper", "runs"]
RUNTIME_COLUMNS = ["exp_name", "env_id", "runs", "total_timesteps", "compile_seconds",
                   "train_seconds", "wall_seconds", "sps"]


def task_table(scores: pd.DataFrame, references: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per algorithm and environment: runs, mean, std (over seeds, ddof 1), median, IQM, min,
    max of the final score; `normalized_mean` when `scores` is normalised; `reference`, the
    published score where `suites/references/` has one for the run's algorithm."""
    references = load_references() if references is None else references
    rows = []
    for (name, env_id), group in scores.groupby(["exp_name", "env_id"], sort=True):
        values = group["score"].to_numpy(np.float64)
        row = {"exp_name": name, "env_id": env_id, "runs": values.size,
               "mean": values.mean(), "std": values.std(ddof=1) if values.size > 1 else np.nan,
               "median": float(np.median(values)), "iqm": float(iqm(values[:, None])),
               "min": values.min(), "max": values.max()}
        if "normalized" in group:
            row["normalized_mean"] = float(group["normalized"].mean())
        row["reference"] = reference_for(references, group["algo"].iloc[0], env_id)
        rows.append(row)
    columns = [*TASK_COLUMNS, *(["normalized_mean"] if "normalized" in scores else []),
               "reference"]
    return pd.DataFrame(rows, columns=columns)


def _note(arrays: ScoreArrays, name: str) -> str:
    return ONE_SEED if name in arrays.single_run else ""


def aggregate_table(arrays: ScoreArrays, *, reps: int = 50_000, confidence: float = 0.95,
                    method: str = "percentile", seed: int = 0) -> pd.DataFrame:
    """IQM, median, mean and optimality gap of each algorithm over the shared tasks, with
    stratified-bootstrap intervals (`method` percentile or bca)."""
    intervals = interval_estimates(arrays.arrays, AGGREGATES, reps=reps, confidence=confidence,
                                   method=method, seed=seed)  # type: ignore[arg-type]
    rows = []
    for name, by_statistic in intervals.items():
        note = _note(arrays, name)
        runs = int((~np.isnan(arrays.arrays[name])).sum())
        for statistic, interval in by_statistic.items():
            lower, upper = (np.nan, np.nan) if note else (interval.lower, interval.upper)
            rows.append({"exp_name": name, "statistic": statistic,
                         "estimate": interval.estimate, "lower": lower, "upper": upper,
                         "runs": runs, "tasks": len(arrays.tasks), "note": note})
    return pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)


def default_taus(arrays: ScoreArrays, points: int = 101) -> np.ndarray:
    """Thresholds spanning every score of `arrays`: `[points]`."""
    values = np.concatenate([a[~np.isnan(a)] for a in arrays.arrays.values()])
    low, high = float(values.min()), float(values.max())
    return np.linspace(low, high if high > low else low + 1.0, points)


def profile_table(arrays: ScoreArrays, taus: np.ndarray | None = None, *, reps: int = 2_000,
                  confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Performance profiles: per algorithm and threshold tau, the share of runs scoring above
    tau (averaged over tasks) and its bootstrap band."""
    taus = default_taus(arrays) if taus is None else np.asarray(taus, np.float64)
    bands = profile_bands(arrays.arrays, taus, reps=reps, confidence=confidence, seed=seed)
    frames = [pd.DataFrame({"exp_name": name, "tau": taus, "fraction": profile,
                            "lower": lower, "upper": upper})
              for name, (profile, lower, upper) in bands.items()]
    return pd.concat(frames, ignore_index=True)[PROFILE_COLUMNS]


def improvement_table(arrays: ScoreArrays, pairs: Sequence[tuple[str, str]] | None = None, *,
                      reps: int = 2_000, confidence: float = 0.95,
                      seed: int = 0) -> pd.DataFrame:
    """P(X > Y) for each `(x, y)` of `pairs` (every ordered pair of algorithms when None),
    with bootstrap intervals."""
    if len(arrays.arrays) < 2:
        return pd.DataFrame(columns=IMPROVEMENT_COLUMNS)
    intervals = improvement_intervals(arrays.arrays, pairs, reps=reps, confidence=confidence,
                                      seed=seed)
    rows = []
    for (x, y), interval in intervals.items():
        note = ONE_SEED if {x, y} & set(arrays.single_run) else ""
        lower, upper = (np.nan, np.nan) if note else (interval.lower, interval.upper)
        rows.append({"exp_name_x": x, "exp_name_y": y, "estimate": interval.estimate,
                     "lower": lower, "upper": upper, "note": note})
    return pd.DataFrame(rows, columns=IMPROVEMENT_COLUMNS)


def _run_curves(scores: pd.DataFrame, suites: Suites, root: str | Path | None, grid: np.ndarray,
                window: int) -> dict[str, np.ndarray]:
    """Each scored run's smoothed training return on `grid`: `{run_id: [points]}`."""
    curves: dict[str, np.ndarray] = {}
    for suite in suite_list(suites):
        run_ids = list(scores["run_id"])
        frame = results.episodes(suite, root=root, kind=TRAIN, run_id=run_ids)
        for run_id, rows in frame.groupby("run_id", sort=False, observed=True):
            returns = smooth(rows["episodic_return"].to_numpy(np.float64), window)
            curves[str(run_id)] = align(rows[GLOBAL_STEP].to_numpy(np.float64), returns, grid)
    return curves


def sample_efficiency_table(scores: pd.DataFrame, suites: Suites, *,
                            root: str | Path | None = None,
                            normalization: pd.DataFrame | None = None, points: int = 25,
                            reps: int = 2_000, confidence: float = 0.95,
                            seed: int = 0) -> pd.DataFrame:
    """IQM over runs and tasks of each run's score at `points` steps, with bootstrap bands.

    A run's score at step s is the mean return of its last `DEFAULT_REDUCTION.episodes`
    training episodes ended by s (the final-score reduction, applied along the run), normalised
    with the declared `normalization` table when given (needed across tasks of different
    scales); steps run up to the shortest budget, and a run counts at a step only within its
    own logged range."""
    budget = float(results_budget(scores, suites, root))
    grid = np.linspace(budget / points, budget, points)
    curves = _run_curves(scores, suites, root, grid, DEFAULT_REDUCTION.episodes)
    declared = normalization.set_index("env_id") if normalization is not None else None
    arrays = {}
    for name, rows in scores.groupby("exp_name", sort=True):
        tasks = sorted(rows["env_id"].unique())
        array = np.full((int(rows.groupby("env_id").size().max()), len(tasks), points), np.nan)
        for t, task in enumerate(tasks):
            low, high = (declared.at[task, "random"], declared.at[task, "reference"]) \
                if declared is not None else (0.0, 1.0)
            run_ids = rows[rows["env_id"] == task].sort_values(["seed", "suite"])["run_id"]
            for r, run_id in enumerate(run_ids):
                if run_id in curves:
                    array[r, t] = (curves[run_id] - low) / (high - low)
        arrays[name] = array
    bands = interval_curves(arrays, iqm, reps=reps, confidence=confidence, seed=seed)
    frames = [pd.DataFrame({"exp_name": name, GLOBAL_STEP: grid.astype(np.int64),
                            "estimate": estimate, "lower": lower, "upper": upper,
                            "runs": (~np.isnan(arrays[name])).sum(axis=(0, 1))})
              for name, (estimate, lower, upper) in bands.items()]
    return pd.concat(frames, ignore_index=True)[EFFICIENCY_COLUMNS]


def results_budget(scores: pd.DataFrame, suites: Suites, root: str | Path | None) -> int:
    """The smallest training budget among the scored runs (their `global_step` when done)."""
    steps = []
    for suite in suite_list(suites):
        table = results.runs(suite, root=root, run_id=list(scores["run_id"]), status="done")
        steps += list(table["global_step"].dropna())
    if not steps:
        raise AnalysisError("none of the scored runs records its training steps")
    return int(min(steps))


def runtime_table(suites: Suites, *, root: str | Path | None = None,
                  exp_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per algorithm and environment, over finished runs: mean compile, training and wall
    seconds (compile + train) and steps per second of training (steps / train seconds);
    NaN where the runs do not record them (runs pulled from W&B)."""
    frames = [results.runs(suite, root=root, status="done") for suite in suite_list(suites)]
    frame = pd.concat([f for f in frames if not f.empty], ignore_index=True) \
        if any(not f.empty for f in frames) else pd.DataFrame()
    if frame.empty:
        return pd.DataFrame(columns=RUNTIME_COLUMNS)
    frame = label_experiments(frame.astype({"suite": str, "exp_name": str, "env_id": str}))
    if exp_names is not None:
        frame = frame[frame["exp_name"].isin(list(exp_names))]
    numbers = frame[["compile_seconds", "train_seconds", "global_step"]].apply(
        pd.to_numeric, errors="coerce")
    frame = frame.assign(**numbers, wall_seconds=numbers["compile_seconds"]
                         + numbers["train_seconds"],
                         sps=numbers["global_step"] / numbers["train_seconds"])
    table = frame.groupby(["exp_name", "env_id"], sort=True).agg(
        runs=("run_id", "size"), total_timesteps=("global_step", "max"),
        compile_seconds=("compile_seconds", "mean"), train_seconds=("train_seconds", "mean"),
        wall_seconds=("wall_seconds", "mean"), sps=("sps", "mean"))
    return table.reset_index()[RUNTIME_COLUMNS]

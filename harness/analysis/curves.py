"""Learning curves: each run's series smoothed, put on a common grid, then aggregated over seeds.

The order is fixed: every run's own series is smoothed first (a trailing mean over its last
`window` logged values, in the order they were logged: episodes by when they ended), then
interpolated linearly onto a grid only inside the run's own logged range (never extrapolated),
and only then aggregated per (exp_name, env_id) at each grid point: the mean over the runs that
stand on that point, with a percentile bootstrap band over those runs (`bootstrap.interval_curves`,
stratified by task, here one task). A point where a single run stands has no band (NaN).

The x axis is `global_step` (environment steps) or `wall_time` (seconds of training, compile time
excluded), derived from `charts/SPS`, whose meaning depends on who logged it:

- our runs (`harness/training/job.py`) log, on every metric row of a chunk, that chunk's rate
  (its steps / its seconds), so the seconds up to a row are the running sum of
  `Δglobal_step / SPS` over the rows so far (`chunk`);
- CleanRL runs pulled from W&B (`harness/tracking/pull.py`, metadata `source: wandb`) log
  `global_step / seconds since start`, so the seconds at a row are `global_step / SPS`
  (`cumulative`); a pulled run that our own W&B mirror logged (its config names our `run_id`
  under `source.reserved_config`) keeps our per-chunk rate.

Seconds between SPS rows are interpolated linearly from 0 s at step 0; a value logged after the
run's last SPS row has no wall time and is left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from harness import results
from harness.analysis import aggregates, bootstrap
from harness.analysis.scores import Suites, label_experiments, suite_list
from harness.names import EPISODE_METRICS, EPISODE_RETURN, GLOBAL_STEP, SPS
from harness.results import Selector
from harness.store.record import RunRecord

WALL_TIME = "wall_time"
X_AXES = (GLOBAL_STEP, WALL_TIME)
"""The x axes a learning curve can use: environment steps, or seconds of training."""
DEFAULT_SMOOTHING = 10
"""Default trailing window: each point is the mean of the run's last 10 logged values."""
CURVE_COLUMNS = ["exp_name", "env_id", "metric", "x_name", "x", "estimate", "lower", "upper",
                 "seeds"]
Convention = Literal["chunk", "cumulative"]
EPISODE_COLUMN = {name: (kind, column) for kind, names in EPISODE_METRICS.items()
                  for name, column in zip(names, ("episodic_return", "episodic_length"),
                                          strict=True)}
"""Per episode metric name: the episode kind and the column of `results.episodes` it reads."""


class Band(NamedTuple):
    """A curve aggregated over runs at each grid point (all `[points]`)."""

    estimate: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    seeds: np.ndarray


def _vector(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not of shape {array.shape}")
    return array


def _collapse(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct steps with the mean of the values logged at each."""
    if len(steps) and (np.diff(steps) > 0).all():
        return steps, values
    unique, inverse = np.unique(steps, return_inverse=True)
    sums = np.bincount(inverse, weights=values, minlength=len(unique))
    return unique, sums / np.bincount(inverse, minlength=len(unique))


def align(steps: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """One run's series (`steps: [n]`, non-decreasing, `values: [n]`) at `grid: [points]`:
    linear between logged points, NaN outside the run's first..last step; values logged at
    the same step count as their mean. Returns `[points]`."""
    steps, values, grid = _vector("steps", steps), _vector("values", values), \
        _vector("grid", grid)
    if steps.shape != values.shape:
        raise ValueError(f"steps and values differ in length: {len(steps)} and {len(values)}")
    if np.isnan(steps).any() or np.isnan(values).any():
        raise ValueError("steps and values must not hold NaN")
    if (np.diff(steps) < 0).any():
        raise ValueError("steps must be non-decreasing (in the order the values were logged)")
    if not len(steps):
        return np.full(grid.shape, np.nan)
    steps, values = _collapse(steps, values)
    return np.interp(grid, steps, values, left=np.nan, right=np.nan)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average of one run's `values: [n]` in logged order: point i is the mean
    of points max(0, i - window + 1)..i (window 1: unchanged). Returns `[n]`."""
    values = _vector("values", values)
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"smoothing window must be a whole number of points >= 1, not {window!r}")
    if window == 1 or not len(values):
        return values.copy()
    sums = np.cumsum(np.concatenate([[0.0], values]))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    return (sums[ends] - sums[starts]) / (ends - starts)


def curve_grid(xs: Sequence[np.ndarray], points: int) -> np.ndarray:
    """`points` evenly spaced x values from the smallest to the largest x of any series of
    `xs` (each `[n_i]`). Returns `[points]`."""
    if isinstance(points, bool) or not isinstance(points, int | np.integer) or points < 2:
        raise ValueError(f"points must be a whole number >= 2, not {points!r}")
    present = [_vector("x", x) for x in xs]
    present = [x for x in present if len(x)]
    if not present:
        raise ValueError("no series has any point to put on a grid")
    low = min(float(np.min(x)) for x in present)
    high = max(float(np.max(x)) for x in present)
    return np.linspace(low, high, points)


def elapsed_seconds(steps: np.ndarray, sps: np.ndarray, convention: Convention) -> np.ndarray:
    """Seconds of training at each `charts/SPS` row (`steps: [rows]` ascending, `sps: [rows]`):
    `chunk` sums `Δglobal_step / SPS` from step 0, `cumulative` is `global_step / SPS` (made
    non-decreasing: CleanRL rounds SPS down to an integer). Returns `[rows]`."""
    steps, sps = _vector("steps", steps), _vector("sps", sps)
    if steps.shape != sps.shape:
        raise ValueError(f"steps and SPS differ in length: {len(steps)} and {len(sps)}")
    if not (np.isfinite(sps) & (sps > 0)).all():
        raise ValueError(f"{SPS} must be positive and finite to derive wall time")
    if (np.diff(steps) < 0).any():
        raise ValueError(f"{SPS} rows must be in ascending {GLOBAL_STEP} order")
    if convention == "chunk":
        return np.cumsum(np.diff(steps, prepend=0.0) / sps)
    if convention == "cumulative":
        return np.maximum.accumulate(steps / sps)
    raise ValueError(f"SPS convention must be 'chunk' or 'cumulative', not {convention!r}")


def wall_time_at(steps: np.ndarray, sps_steps: np.ndarray, elapsed: np.ndarray) -> np.ndarray:
    """Seconds of training at `steps: [n]`, interpolated from the SPS rows' `sps_steps: [rows]`
    and `elapsed: [rows]` (0 s at step 0); NaN past the last SPS row. Returns `[n]`."""
    steps = _vector("steps", steps)
    sps_steps, elapsed = _vector("sps_steps", sps_steps), _vector("elapsed", elapsed)
    if sps_steps.shape != elapsed.shape or not len(sps_steps):
        raise ValueError("wall time needs at least one SPS row with its elapsed seconds")
    return np.interp(steps, np.concatenate([[0.0], sps_steps]),
                     np.concatenate([[0.0], elapsed]), right=np.nan)


def sps_convention(config: Mapping[str, Any] | None, metadata: Mapping[str, Any]) -> Convention:
    """How a run's `charts/SPS` was logged, from its stored config and metadata: `cumulative`
    for a run pulled from W&B that our mirror did not log, else `chunk`."""
    if metadata.get("source") != "wandb":
        return "chunk"
    source = (config or {}).get("source") or {}
    mirrored = "run_id" in (source.get("reserved_config") or {})
    return "chunk" if mirrored else "cumulative"


def aggregate(aligned: np.ndarray, *, reps: int = 2_000, confidence: float = 0.95,
              seed: int = 0) -> Band:
    """Mean over runs of `aligned: [runs, points]` (NaN: the run does not reach that point) and
    its percentile bootstrap band over runs; `seeds: [points]` counts the runs at each point;
    the band is NaN where fewer than two stand, and everything where none does."""
    aligned = np.asarray(aligned, dtype=np.float64)
    if aligned.ndim != 2 or not aligned.shape[0]:
        raise ValueError(f"aligned must be [runs, points] with runs >= 1, not {aligned.shape}")
    seeds = (~np.isnan(aligned)).sum(axis=0)
    estimate, lower, upper = bootstrap.interval_curves(
        {"curve": aligned[:, None, :]}, aggregates.mean, reps=reps, confidence=confidence,
        seed=seed)["curve"]
    few = seeds < 2
    lower[few], upper[few] = np.nan, np.nan
    return Band(estimate, lower, upper, seeds)


@dataclass(frozen=True)
class RunSeries:
    """One run's series of one metric, in logged order (`steps`, `values`: `[n]`)."""

    suite: str
    run_id: str
    exp_name: str
    env_id: str
    steps: np.ndarray
    values: np.ndarray


def _known_metrics(suites: list[str | Path], root: str | Path | None, exp_name: Selector,
                   env_id: Selector) -> list[str]:
    names: set[str] = set()
    for suite in suites:
        frame = results.load(suite, root=root, exp_name=exp_name, env_id=env_id)
        names |= set(frame["metric"].astype(str).unique()) if len(frame) else set()
    return sorted(names)


def _grouped(frame: pd.DataFrame, steps: str, values: str) -> list[RunSeries]:
    found = []
    for (suite, run_id), rows in frame.groupby(["suite", "run_id"], sort=True, observed=True):
        found.append(RunSeries(str(suite), str(run_id), str(rows["exp_name"].iloc[0]),
                               str(rows["env_id"].iloc[0]),
                               rows[steps].to_numpy(np.float64),
                               rows[values].to_numpy(np.float64)))
    return found


def _labelled(found: list[RunSeries], exp_name: Selector) -> list[RunSeries]:
    """`found` with the exp_names of `label_experiments` (`SUITE/EXP_NAME` where suites share
    one), selected by those names."""
    if not found:
        return found
    names = label_experiments(pd.DataFrame({"suite": [s.suite for s in found],
                                            "exp_name": [s.exp_name for s in found]}))
    labelled = [replace(s, exp_name=name)
                for s, name in zip(found, names["exp_name"], strict=True)]
    if exp_name is None:
        return labelled
    wanted = {exp_name} if isinstance(exp_name, str) else set(exp_name)
    return [s for s in labelled if s.exp_name in wanted]


def run_series(suite: Suites, metric: str, *, root: str | Path | None = None,
               exp_name: Selector = None, env_id: Selector = None) -> list[RunSeries]:
    """Every finished selected run's series of `metric` (episode metrics one point per episode
    in the order they ended), over one suite or several; `exp_name` selects by the labels of
    `label_experiments`."""
    suites = suite_list(suite)
    found: list[RunSeries] = []
    for one in suites:
        if metric in EPISODE_COLUMN:
            kind, column = EPISODE_COLUMN[metric]
            frame = results.episodes(one, root=root, env_id=env_id,
                                     kind=kind).dropna(subset=[column])
            found += _grouped(frame, GLOBAL_STEP, column)
        else:
            frame = results.load(one, root=root, env_id=env_id, metrics=metric)
            found += _grouped(frame, GLOBAL_STEP, "value")
    found = _labelled(found, exp_name)
    if not found:
        known = _known_metrics(suites, root, None, env_id)
        where = ", ".join(str(s) for s in suites)
        raise ValueError(f"no finished run of {where} logged metric {metric!r} "
                         f"(logged: {', '.join(known) or 'nothing'})")
    return found


def _wall_times(series: list[RunSeries], suites: list[str | Path],
                root: str | Path | None) -> list[np.ndarray]:
    """Seconds of training at each point of every series (NaN past its last SPS row)."""
    rates: dict[tuple[str, str], pd.DataFrame] = {}
    records: dict[tuple[str, str], RunRecord] = {}
    for one in suites:
        paths = results.suite_paths(one, root)
        run_ids = sorted({s.run_id for s in series if s.suite == paths.suite})
        if not run_ids:
            continue
        frame = results.load(one, root=root, run_id=run_ids, metrics=SPS)
        for run_id, rows in frame.groupby("run_id", observed=True):
            rates[(paths.suite, str(run_id))] = rows
        records.update({(paths.suite, r): RunRecord(paths.run(r)) for r in run_ids})
    missing = [s.run_id for s in series if (s.suite, s.run_id) not in rates]
    if missing:
        raise ValueError(f"x={WALL_TIME!r} needs {SPS}, which runs {', '.join(missing)} "
                         "never logged")
    times = []
    for s in series:
        rows, record = rates[(s.suite, s.run_id)], records[(s.suite, s.run_id)]
        steps = rows[GLOBAL_STEP].to_numpy(np.float64)
        convention = sps_convention(record.config(), record.metadata())
        elapsed = elapsed_seconds(steps, rows["value"].to_numpy(np.float64), convention)
        times.append(wall_time_at(s.steps, steps, elapsed))
    return times


def learning_curves(suite: Suites, *, root: str | Path | None = None,
                    exp_name: Selector = None, env_id: Selector = None,
                    metric: str = EPISODE_RETURN,
                    x: str = GLOBAL_STEP, points: int = 200, smoothing: int = DEFAULT_SMOOTHING,
                    reps: int = 2_000, confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per (exp_name, env_id) and grid point: the mean over seeds of `metric` (each run smoothed
    over its last `smoothing` values, then interpolated), its bootstrap band and `seeds`, the
    runs standing there. Columns `CURVE_COLUMNS`; one grid of `points` per env_id spans all its
    runs, and a point no run of an exp_name reaches is left out."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, not {x!r}")
    suites = suite_list(suite)
    series = run_series(suites, metric, root=root, exp_name=exp_name, env_id=env_id)
    xs = [s.steps for s in series] if x == GLOBAL_STEP else _wall_times(series, suites, root)
    prepared = []
    for s, at in zip(series, xs, strict=True):
        values = smooth(s.values, smoothing)
        kept = ~np.isnan(at)
        order = np.argsort(at[kept], kind="stable")
        prepared.append((s, at[kept][order], values[kept][order]))
    parts = []
    for env in sorted({s.env_id for s in series}):
        of_env = [p for p in prepared if p[0].env_id == env]
        grid = curve_grid([at for _, at, _ in of_env], points)
        for name in sorted({s.exp_name for s, _, _ in of_env}):
            aligned = np.stack([align(at, values, grid) for s, at, values in of_env
                                if s.exp_name == name])
            band = aggregate(aligned, reps=reps, confidence=confidence, seed=seed)
            stand = band.seeds > 0
            parts.append(pd.DataFrame({
                "exp_name": name, "env_id": env, "metric": metric, "x_name": x,
                "x": grid[stand], "estimate": band.estimate[stand],
                "lower": band.lower[stand], "upper": band.upper[stand],
                "seeds": band.seeds[stand].astype(np.int64)}))
    return pd.concat(parts, ignore_index=True)[CURVE_COLUMNS]

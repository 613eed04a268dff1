"""Stratified bootstrap confidence intervals (Agarwal et al. 2021; rliable's `StratifiedBootstrap`).

Data model
----------
The scores of one algorithm are a float array ``[runs, tasks]`` (``[runs, tasks, points]`` for
sample-efficiency curves); task ``t`` has ``n_t`` runs, and the rest of its column is NaN
padding. NaN never counts as a score wherever it stands: each column is first reordered so that
its present scores come first, in their order, and NaN below ("present first"); statistics treat
the runs of a task as exchangeable, so this changes no estimate. A task with no score at all is an
error (``ValueError`` naming the algorithm and the task index). All algorithms of one call must
have the same number of tasks.

Resampling
----------
A replicate draws, independently for each task, ``n_t`` of that task's present runs with
replacement into rows ``0 .. n_t - 1``; the padding rows stay NaN padding, so every replicate of an
algorithm has the same present count per task as its data. Concretely, one uniform ``u`` is drawn
per (replicate, row, task) from the given ``numpy.random.Generator`` (the only randomness), and
row ``r < n_t`` of task ``t`` takes present run ``min(floor(u * n_t), n_t - 1)``. The uniforms are
drawn chunk after chunk in the same order whatever the chunk size, so results do not depend on the
chunking. ``resample(scores, indices)`` applies given run indices; ``stratified_resamples`` draws
indices and calls it, and so does every interval function here. ``seed`` (an int, or a Generator
used as is, its state advancing) makes one generator per call, and the algorithms (or pairs) are
resampled from it one after another in the mapping's order: the same seed gives bit-identical
intervals.

Statistics
----------
A statistic is a callable taking ``[..., runs, tasks]`` (NaN padding as above, leading batch axes
for replicates) and returning ``[...]``, as the estimators of `harness.analysis.aggregates` do.
All statistics of one algorithm are evaluated on the same replicates.

Intervals
---------
- ``percentile``: the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
  replicate estimates, ``numpy.percentile``'s linear interpolation (as arch/rliable compute them).
- ``bca`` (bias-corrected and accelerated, Efron 1987), with arch's formulas:
  ``z0 = ndtri(share of replicates strictly below the point estimate)`` (below by more than
  rounding: replicates within ``TIE_ULPS`` ulps of the estimate tie with it);
  ``z = ndtri(alpha), ndtri(1 - alpha)`` with ``alpha = (1 - confidence) / 2``; the quantile levels
  ``ndtr(z0 + (z0 + z) / (1 - a (z0 + z)))`` of the replicates. The acceleration ``a`` comes from a
  *stratified* jackknife: one run of one task left out at a time (every present cell of every task
  with ``n_t >= 2``; the other tasks keep all their runs), giving influence values
  ``l_tj = (n_t - 1) (mean_j theta_(t,-j) - theta_(t,-j))`` within each task, and
  ``a = sum_t n_t^-3 sum_j l_tj^3 / (6 (sum_t n_t^-2 sum_j l_tj^2)^(3/2))`` (Davison & Hinkley
  1997, the multi-sample acceleration). With one task this is arch's leave-one-out
  acceleration (to rounding). Note that arch's ``IIDBootstrap``, which rliable's
  ``StratifiedBootstrap`` inherits, instead leaves out a whole *row* ``scores[i, :]`` (run ``i``
  of every task at once), which does not match the stratified resampling; the two agree when
  there is one task.
  (arch also centres the jackknife on the mean over *all* outputs of a vector-valued statistic,
  ``jk_params.mean()``, so rliable's BCa of several aggregates passed as one function is off;
  here each statistic is jackknifed on its own.) Tasks with a single run are fixed in every
  replicate and get no influence.

  Fallbacks, each with a ``RuntimeWarning`` naming the algorithm and statistic: if the jackknife
  shows no spread (the acceleration's denominator vanishes), ``a = 0`` (the bias-corrected "BC"
  interval); if ``z0`` is undefined (no replicate, or every replicate, below the estimate — e.g.
  all replicates equal) or a BCa level is not finite / not increasing (``1 - a (z0 + z) <= 0``),
  the percentile interval is returned instead.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

from harness.analysis.aggregates import AGGREGATES, iqm

__all__ = [
    "Interval",
    "as_generator",
    "bca_interval",
    "interval_curves",
    "interval_estimates",
    "jackknife_acceleration",
    "percentile_interval",
    "present_first",
    "resample",
    "stratified_resamples",
]

Statistic = Callable[[np.ndarray], np.ndarray]
Seed = int | np.random.Generator

CHUNK_ELEMENTS = 1 << 21
"""Default bound on the scores held by one chunk of replicates (about 16 MiB of float64)."""


TIE_ULPS = 64
"""`bca_interval`: replicates within this many ulps of the estimate tie with it."""


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    estimate: float
    lower: float
    upper: float


# ----------------------------------------------------------------------------- validation


def as_generator(seed: Seed) -> np.random.Generator:
    """`seed` itself when it is a Generator (its state advances), else `default_rng(seed)`."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def check_reps(reps: int) -> int:
    """`reps` as an int; ValueError unless it is an integer >= 1."""
    if isinstance(reps, bool) or not isinstance(reps, numbers.Integral) or reps < 1:
        raise ValueError(f"reps must be an integer >= 1, got {reps!r}")
    return int(reps)


def check_confidence(confidence: float) -> float:
    """`confidence` as a float; ValueError unless it lies in (0, 1)."""
    if isinstance(confidence, bool) or not isinstance(confidence, numbers.Real):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(confidence)


def present_first(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each task's present scores moved to the top of its column (in their order), NaN below.

    `scores` is `[runs, tasks, ...]`; returns the reordered float64 array and the present count
    of each column, `[tasks, ...]`.
    """
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim < 2:
        raise ValueError(f"scores must be [runs, tasks, ...], got shape {array.shape}")
    missing = np.isnan(array)
    if missing.any():
        order = np.argsort(missing, axis=0, kind="stable")
        array = np.take_along_axis(array, order, axis=0)
    return array, (~missing).sum(axis=0)


def prepare_algorithm(scores: np.ndarray, ndim: int, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Present-first scores of one algorithm and their counts; errors name `what`."""
    array = np.asarray(scores, dtype=np.float64)
    axes = "[runs, tasks]" if ndim == 2 else "[runs, tasks, points]"
    if array.ndim != ndim:
        raise ValueError(f"{what}: scores must be {axes}, got shape {array.shape}")
    if array.shape[1] == 0:
        raise ValueError(f"{what}: scores have no tasks")
    array, counts = present_first(array)
    per_task = counts if ndim == 2 else counts.max(axis=1)
    empty = np.nonzero(per_task == 0)[0]
    if empty.size:
        raise ValueError(f"{what}: task {int(empty[0])} has no scores (every run is NaN)")
    return array, counts


def prepare_scores(scores: Mapping[str, np.ndarray], ndim: int = 2
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every algorithm's present-first scores and counts; all must have the same tasks."""
    if not isinstance(scores, Mapping) or not scores:
        raise ValueError("scores must be a non-empty mapping {algorithm: array}")
    prepared = {name: prepare_algorithm(array, ndim, f"algorithm {name!r}")
                for name, array in scores.items()}
    tasks = {name: array.shape[1] for name, (array, _) in prepared.items()}
    if len(set(tasks.values())) > 1:
        raise ValueError(f"every algorithm must have the same number of tasks, got {tasks}")
    return prepared


# ----------------------------------------------------------------------------- resampling


def resample(scores: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Apply run indices within each task: `out[..., r, t] = scores[..., indices[..., r, t], t]`.

    `scores` is `[*lead, runs, tasks]` (usually `[runs, tasks]`); `indices` is
    `[..., *lead, rows, tasks]` of integers in `[0, runs)`, its `lead` axes of size 1 or equal
    to `scores`' (broadcast). An index may point at a NaN padding row, which then stays padding.
    """
    array = np.asarray(scores, dtype=np.float64)
    index = np.asarray(indices)
    if array.ndim < 2 or index.ndim < array.ndim:
        raise ValueError(f"cannot apply indices of shape {index.shape} to scores of shape "
                         f"{array.shape}")
    if not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"indices must be integers, got {index.dtype}")
    if index.shape[-1] != array.shape[-1]:
        raise ValueError(f"indices have {index.shape[-1]} tasks, scores {array.shape[-1]}")
    if index.size and (index.min() < 0 or index.max() >= array.shape[-2]):
        raise ValueError(f"run indices must be in [0, {array.shape[-2]})")
    array = array.reshape((1,) * (index.ndim - array.ndim) + array.shape)
    return np.take_along_axis(array, index, axis=-2)


def _draw_indices(counts: np.ndarray, runs: int, size: int,
                  rng: np.random.Generator) -> np.ndarray:
    """Run indices of `size` stratified replicates, `[size, *lead, runs, tasks]` for counts
    `[*lead, tasks]`: one uniform per (replicate, row, task), shared by the `lead` axes (the
    points of a curve), so equal counts give equal indices there."""
    tasks = counts.shape[-1]
    lead = counts.ndim - 1
    uniform = rng.random((size,) + (1,) * lead + (runs, tasks))
    if np.all(counts == runs):
        index = (uniform * runs).astype(np.intp)
        np.minimum(index, runs - 1, out=index)
        return np.broadcast_to(index, (size,) + counts.shape[:-1] + (runs, tasks))
    n = counts[..., None, :]  # [*lead, 1, tasks]
    index = (uniform * n).astype(np.intp)
    np.minimum(index, np.maximum(n - 1, 0), out=index)
    rows = np.arange(runs)[:, None]
    return np.where(rows < n, index, rows)  # padding rows point at themselves


def _chunk_size(chunk: int | None, elements_per_replicate: int, reps: int) -> int:
    if chunk is None:
        return max(1, min(reps, CHUNK_ELEMENTS // max(1, elements_per_replicate)))
    if isinstance(chunk, bool) or not isinstance(chunk, numbers.Integral) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    return min(int(chunk), reps)


def chunked_resamples(scores: np.ndarray, counts: np.ndarray, reps: int, rng: np.random.Generator,
               chunk: int) -> Iterator[np.ndarray]:
    """Replicates of present-first `scores` `[*lead, runs, tasks]` with `counts` `[*lead,
    tasks]`, `chunk` at a time."""
    runs = scores.shape[-2]
    for start in range(0, reps, chunk):
        size = min(chunk, reps - start)
        yield resample(scores, _draw_indices(counts, runs, size, rng))


def stratified_resamples(scores: np.ndarray, reps: int, rng: np.random.Generator, *,
                         chunk: int | None = None) -> Iterator[np.ndarray]:
    """Stratified bootstrap replicates of one algorithm's `[runs, tasks]` scores, yielded as
    `[chunk, runs, tasks]` arrays (the last chunk may be smaller; `reps` in all).

    Within each task its `n_t` present runs are drawn with replacement; NaN padding stays
    padding (the columns are present-first, see the module docstring). `rng` is the only
    randomness. `chunk` defaults to about `CHUNK_ELEMENTS` scores per chunk.
    """
    reps = check_reps(reps)  # validated here, not at the first `next`
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {rng!r}")
    array, counts = prepare_algorithm(scores, 2, "scores")
    return chunked_resamples(array, counts, reps, rng, _chunk_size(chunk, array.size, reps))


# ----------------------------------------------------------------------------- intervals


def _levels(confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2
    return alpha, 1.0 - alpha


def percentile_interval(replicates: np.ndarray, confidence: float = 0.95
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of replicate estimates `[reps, ...]` -> (lower, upper), each `[...]`."""
    low, high = _levels(check_confidence(confidence))
    lower, upper = np.percentile(np.asarray(replicates, dtype=np.float64),
                                 [100 * low, 100 * high], axis=0)
    return lower, upper


def bca_interval(replicates: np.ndarray, estimate: float, acceleration: float,
                 confidence: float = 0.95) -> tuple[float, float] | None:
    """BCa interval of one statistic's replicate estimates `[reps]` given its point estimate
    and acceleration; None where it is undefined (no replicate or every replicate below the
    estimate, or a level that is not finite and increasing).

    A replicate counts as below the estimate when it is smaller by more than rounding
    (`TIE_ULPS` ulps of the largest magnitude): a replicate that equals the estimate in exact
    arithmetic but was summed in another order must not flip `z0` (arch counts it by its
    rounding, so with discrete scores arch's `z0` depends on summation order)."""
    values = np.asarray(replicates, dtype=np.float64)
    finite = np.abs(values[np.isfinite(values)])
    tolerance = TIE_ULPS * np.finfo(np.float64).eps * max(abs(estimate), finite.max(initial=0.0))
    share = float(np.mean(values < estimate - tolerance))
    if not 0.0 < share < 1.0:
        return None
    z0 = ndtri(share)
    z = ndtri(np.array(_levels(check_confidence(confidence))))
    denominator = 1.0 - acceleration * (z0 + z)
    if not np.all(denominator > 0):
        return None
    levels = ndtr(z0 + (z0 + z) / denominator) * 100
    if not (np.all(np.isfinite(levels)) and levels[0] < levels[1]):
        return None
    lower, upper = np.percentile(values, list(levels))
    return float(lower), float(upper)


def _jackknife_cells(scores: np.ndarray, counts: np.ndarray) -> Iterator[
        tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Leave-one-run-out-of-one-task replicates of present-first `[runs, tasks]` scores, in
    chunks: (rows left out, their tasks, `[cells, runs, tasks]` replicates, present-first)."""
    runs, tasks = scores.shape
    row_grid, task_grid = np.nonzero(np.arange(runs)[:, None] < counts[None, :])
    keep = counts[task_grid] >= 2
    left_rows, left_tasks = row_grid[keep], task_grid[keep]
    padded = np.vstack([scores, np.full((1, tasks), np.nan)])  # row `runs` is NaN
    rows = np.arange(runs)
    chunk = max(1, CHUNK_ELEMENTS // scores.size)
    for start in range(0, left_rows.size, chunk):
        r, t = left_rows[start:start + chunk], left_tasks[start:start + chunk]
        batch = np.repeat(scores[None], r.size, axis=0)
        source = rows[None, :] + (rows[None, :] >= r[:, None])  # skip row r; NaN at the end
        batch[np.arange(r.size), :, t] = padded[source, t[:, None]]
        yield r, t, batch


def jackknife_acceleration(scores: np.ndarray, statistic: Statistic) -> float | None:
    """BCa acceleration of `statistic` on one algorithm's `[runs, tasks]` scores from the
    stratified jackknife (one run of one task left out at a time; see the module docstring).
    None where the jackknife has no spread."""
    array, counts = prepare_algorithm(scores, 2, "scores")
    thetas, tasks = [], []
    for _, t, batch in _jackknife_cells(array, counts):
        values = np.asarray(statistic(batch), dtype=np.float64)
        if values.shape != (t.size,):
            raise ValueError(f"statistic returned shape {values.shape} for {t.size} replicates")
        thetas.append(values)
        tasks.append(t)
    if not thetas:
        return None
    theta, task = np.concatenate(thetas), np.concatenate(tasks)
    n = counts[task].astype(np.float64)
    task_mean = np.bincount(task, weights=theta, minlength=counts.size)[task] / n
    influence = (n - 1) * (task_mean - theta)
    numerator = np.sum(influence**3 / n**3)
    denominator = 6 * np.sum(influence**2 / n**2) ** 1.5
    if not np.isfinite(numerator) or not denominator > abs(numerator) * np.finfo(float).eps:
        return None
    return float(numerator / denominator)


def bootstrap_replicates(scores: np.ndarray, counts: np.ndarray, functions: Mapping[str, Statistic],
               reps: int, rng: np.random.Generator, chunk: int) -> dict[str, np.ndarray]:
    """Replicate estimates `[reps, ...]` of each function, all on the same replicates."""
    out: dict[str, np.ndarray] = {}
    done = 0
    for replicates in chunked_resamples(scores, counts, reps, rng, chunk):
        size = replicates.shape[0]
        for name, function in functions.items():
            values = np.asarray(function(replicates), dtype=np.float64)
            if values.shape[:1] != (size,):
                raise ValueError(f"statistic {name!r} returned shape {values.shape} for "
                                 f"{size} replicates; it must map [..., runs, tasks] to [...]")
            if name not in out:
                out[name] = np.empty((reps,) + values.shape[1:])
            out[name][done:done + size] = values
        done += size
    return out


def _scalar(value: np.ndarray, name: str) -> float:
    array = np.asarray(value, dtype=np.float64)
    if array.shape != ():
        raise ValueError(f"statistic {name!r} returned shape {array.shape} for one score array")
    return float(array)


def interval_estimates(scores: Mapping[str, np.ndarray],
                       statistics: Mapping[str, Statistic] = AGGREGATES, *,
                       reps: int = 50_000, confidence: float = 0.95,
                       method: Literal["percentile", "bca"] = "percentile",
                       seed: Seed = 0) -> dict[str, dict[str, Interval]]:
    """Point estimates and stratified-bootstrap confidence intervals,
    `{algorithm: {statistic: Interval}}`.

    `scores` maps each algorithm to its `[runs, tasks]` scores (ragged runs NaN-padded); every
    statistic of an algorithm is evaluated on the same `reps` replicates. Algorithms are
    resampled one after the other, in the mapping's order, from one generator made from `seed`
    (an int, or a Generator used as is): the same seed gives bit-identical intervals.
    """
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    if method not in ("percentile", "bca"):
        raise ValueError(f"method must be 'percentile' or 'bca', got {method!r}")
    if not isinstance(statistics, Mapping) or not statistics:
        raise ValueError("statistics must be a non-empty mapping {name: callable}")
    prepared = prepare_scores(scores)
    rng = as_generator(seed)
    out: dict[str, dict[str, Interval]] = {}
    for algorithm, (array, counts) in prepared.items():
        estimates = {name: _scalar(function(array), name)
                     for name, function in statistics.items()}
        replicates = bootstrap_replicates(array, counts, statistics, reps, rng,
                                _chunk_size(None, array.size, reps))
        for name, values in replicates.items():
            if values.ndim != 1:
                raise ValueError(f"statistic {name!r} returned {values.shape[1:]} values per "
                                 "replicate; it must return one")
        out[algorithm] = {}
        for name, function in statistics.items():
            lower, upper = percentile_interval(replicates[name], confidence)
            bounds = (float(lower), float(upper))
            if method == "bca":
                bounds = _bca_or_fallback(array, function, replicates[name], estimates[name],
                                          confidence, algorithm, name) or bounds
            out[algorithm][name] = Interval(estimates[name], *bounds)
    return out


def _bca_or_fallback(scores: np.ndarray, statistic: Statistic, replicates: np.ndarray,
                     estimate: float, confidence: float, algorithm: str, name: str
                     ) -> tuple[float, float] | None:
    """The BCa bounds, warning of each fallback (None: use the percentile interval)."""
    acceleration = jackknife_acceleration(scores, statistic)
    if acceleration is None:
        warnings.warn(f"BCa for {algorithm!r} {name!r}: the jackknife shows no spread; "
                      "using acceleration 0 (the bias-corrected interval)", RuntimeWarning,
                      stacklevel=3)
        acceleration = 0.0
    bounds = bca_interval(replicates, estimate, acceleration, confidence)
    if bounds is None:
        warnings.warn(f"BCa for {algorithm!r} {name!r} is undefined (replicates all on one side "
                      "of the estimate, or a degenerate level); using the percentile interval",
                      RuntimeWarning, stacklevel=3)
    return bounds


def interval_curves(scores: Mapping[str, np.ndarray], statistic: Statistic = iqm, *,
                    reps: int = 2_000, confidence: float = 0.95, seed: Seed = 0
                    ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Sample-efficiency curves with stratified-bootstrap percentile bands.

    `scores` maps each algorithm to `[runs, tasks, points]` (score of each run at each
    evaluation point); returns `{algorithm: (estimate, lower, upper)}`, each `[points]`.
    Replicates are paired across points: one uniform per (replicate, row, task) is shared by
    every point, so where a task's present runs are the same at every point each replicate uses
    the same run indices at every point; where runs are missing at some points, each point
    resamples its own present runs with those same uniforms. A point where some task has no
    present run is NaN in all three arrays. Memory is bounded by chunking the replicates
    (about `CHUNK_ELEMENTS` scores at a time).
    """
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    prepared = prepare_scores(scores, ndim=3)
    rng = as_generator(seed)
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for algorithm, (array, counts) in prepared.items():
        series = np.ascontiguousarray(array.transpose(2, 0, 1))  # [points, runs, tasks]
        counts = np.ascontiguousarray(counts.T)  # [points, tasks]
        empty = counts == 0
        if empty.any():  # a stand-in score, so that statistics see no empty task; masked below
            series[:, 0, :][empty] = 0.0
            counts = np.maximum(counts, 1)
        gap = empty.any(axis=1)
        estimate = np.asarray(statistic(series), dtype=np.float64)
        if estimate.shape != (series.shape[0],):
            raise ValueError(f"statistic returned shape {estimate.shape} for "
                             f"{series.shape[0]} points")
        values = bootstrap_replicates(series, counts, {"statistic": statistic}, reps, rng,
                            _chunk_size(None, series.size, reps))["statistic"]
        lower, upper = percentile_interval(values, confidence)
        for curve in (estimate, lower, upper):
            curve[gap] = np.nan
        out[algorithm] = (estimate, lower, upper)
    return out

"""Point estimators of aggregate performance over a suite of tasks (Agarwal et al. 2021).

Data model
----------
The scores of one algorithm are a float array ``[runs, tasks]``: ``scores[r, t]`` is the final
(normalised) score of run (seed) ``r`` on task ``t``. Tasks may have different numbers of runs
("ragged seeds"): task ``t`` with ``n_t`` runs fills ``scores[:n_t, t]`` and the rest of its
column is NaN padding. NaN never counts as a score, wherever it stands in a column; a task whose
column holds no score at all is an error (``ValueError`` naming the task index).

Every estimator here also accepts leading batch axes, ``[..., runs, tasks] -> [...]`` (the
bootstrap hands them ``[replicates, runs, tasks]``); with no batch axes the result is a NumPy
scalar. Per-batch-element rules are the same as for a single array.

Estimators
----------
- ``iqm``: interquartile mean of every present score, pooled over runs and tasks — exactly
  ``scipy.stats.trim_mean(present, 0.25)``: sort the ``N`` present values, drop
  ``int(0.25 * N)`` from each end, average the rest. Pooling weights each run equally, so a task
  with more runs weighs more (with equal runs per task this is rliable's ``aggregate_iqm``).
- ``median``: median over tasks of the per-task means (each task's mean over its present runs).
- ``mean``: mean over tasks of the per-task means (tasks weigh equally, whatever their runs).
- ``optimality_gap``: ``gamma - mean(min(score, gamma))`` where the mean is taken like ``mean``:
  per task over its present runs, then over tasks. With equal runs per task this is rliable's
  pooled ``aggregate_optimality_gap``; with ragged runs each task weighs equally, so that
  ``optimality_gap(x, g) == g - mean(minimum(x, g))`` always holds.

Pure NumPy, fully vectorised over the batch axes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["AGGREGATES", "iqm", "mean", "median", "optimality_gap"]

IQM_CUT = 0.25
"""Share of the pooled sorted scores dropped at each end by `iqm` (scipy's `trim_mean` rule)."""


def as_scores(scores: np.ndarray) -> np.ndarray:
    """`scores` as a float64 array of at least two axes (`[..., runs, tasks]`)."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim < 2:
        raise ValueError(f"scores must be [..., runs, tasks], got shape {array.shape}")
    if array.shape[-1] == 0:
        raise ValueError("scores have no tasks")
    return array


def present_mask(scores: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The mask of present (non-NaN) scores, or None when every score is present, and the
    number of present runs of each task, `[..., tasks]`. Raises ValueError naming the first task
    with no score (in any batch element)."""
    missing = np.isnan(scores)
    if not missing.any():
        counts = np.full(scores.shape[:-2] + scores.shape[-1:], scores.shape[-2], dtype=np.intp)
        if scores.shape[-2] == 0:
            raise ValueError("task 0 has no scores (no runs)")
        return None, counts
    present = ~missing
    counts = present.sum(axis=-2)
    empty = counts == 0
    if empty.any():
        task = int(np.nonzero(empty.reshape(-1, counts.shape[-1]).any(axis=0))[0][0])
        raise ValueError(f"task {task} has no scores (every run is NaN)")
    return present, counts


def _task_means(scores: np.ndarray) -> np.ndarray:
    """Per-task mean over the present runs, `[..., runs, tasks] -> [..., tasks]`."""
    present, counts = present_mask(scores)
    if present is None:
        return scores.mean(axis=-2)
    return np.where(present, scores, 0.0).sum(axis=-2) / counts


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean of all present scores pooled over runs and tasks.

    Exactly `scipy.stats.trim_mean(present_values, 0.25)`: of the `N` pooled present values,
    the `int(0.25 * N)` smallest and as many largest are dropped and the rest averaged.
    `[..., runs, tasks] -> [...]`.
    """
    array = as_scores(scores)
    _, counts = present_mask(array)
    totals = counts.sum(axis=-1)  # present values of each batch element
    pooled = np.sort(array.reshape(array.shape[:-2] + (-1,)), axis=-1)  # NaN sort last
    if totals.size == 0:
        return np.empty(totals.shape)
    first = int(totals.flat[0])
    if np.all(totals == first):
        # One present count for the whole batch (every bootstrap replicate of one algorithm):
        # the trimmed slice is the same for all.
        cut = int(IQM_CUT * first)
        return pooled[..., cut : first - cut].mean(axis=-1)
    cuts = (IQM_CUT * totals).astype(np.intp)  # int() of a non-negative float: floor
    position = np.arange(pooled.shape[-1])
    kept = (position >= cuts[..., None]) & (position < (totals - cuts)[..., None])
    return np.where(kept, pooled, 0.0).sum(axis=-1) / (totals - 2 * cuts)


def median(scores: np.ndarray) -> np.ndarray:
    """Median over tasks of the per-task means (each over the task's present runs).
    `[..., runs, tasks] -> [...]`."""
    return np.median(_task_means(as_scores(scores)), axis=-1)


def mean(scores: np.ndarray) -> np.ndarray:
    """Mean over tasks of the per-task means (each over the task's present runs).
    `[..., runs, tasks] -> [...]`."""
    return _task_means(as_scores(scores)).mean(axis=-1)


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """`gamma - mean(min(score, gamma))`: how far the scores fall short of `gamma`, scores above
    it counting as `gamma`. The mean is `mean`'s: per task over its present runs, then over
    tasks (with ragged runs each task weighs equally). `[..., runs, tasks] -> [...]`."""
    gamma = float(gamma)
    if not np.isfinite(gamma):
        raise ValueError(f"gamma must be finite, got {gamma}")
    clipped = np.minimum(as_scores(scores), gamma)  # NaN stays NaN
    return gamma - _task_means(clipped).mean(axis=-1)


AGGREGATES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "IQM": iqm,
    "Median": median,
    "Mean": mean,
    "Optimality Gap": optimality_gap,
}
"""The four aggregates of Agarwal et al. (2021), by their display names."""

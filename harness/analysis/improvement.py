"""Average probability of improvement (Agarwal et al. 2021) and its bootstrap intervals.

For algorithms X and Y on the same tasks, ``P(X > Y)`` is the mean over tasks of
``P(X_t > Y_t) + 0.5 P(X_t = Y_t)``, where ``X_t`` and ``Y_t`` are a random run of each on task
``t``: the Mann–Whitney ``U`` statistic of the two samples over ``n_x,t * n_y,t`` (rliable's
``probability_of_improvement``, ties counting half). Scores follow
`harness.analysis.bootstrap`'s data model: ``[runs, tasks]``, each algorithm with its own number of
runs, ragged runs padded with NaN, which never counts (a NaN compares neither greater nor equal);
a task without any score is a ValueError.

Intervals resample X and Y independently, each stratified by task (rliable's
``StratifiedIndependentBootstrap``), and take percentile intervals of the replicate estimates.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from harness.analysis.aggregates import as_scores, present_mask
from harness.analysis.bootstrap import (
    CHUNK_ELEMENTS,
    Interval,
    Seed,
    as_generator,
    check_confidence,
    check_reps,
    chunked_resamples,
    percentile_interval,
    prepare_algorithm,
    prepare_scores,
)

__all__ = ["improvement_intervals", "probability_of_improvement"]


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + 0.5 P(X = Y) averaged over tasks, for `[..., runs_x, tasks]` and
    `[..., runs_y, tasks]` (batch axes broadcast) -> `[...]`."""
    _, count_x = present_mask(x)
    _, count_y = present_mask(y)
    left, right = x[..., :, None, :], y[..., None, :, :]  # [..., runs_x, runs_y, tasks]
    wins = (left > right).sum(axis=(-3, -2))
    ties = (left == right).sum(axis=(-3, -2))
    return ((wins + 0.5 * ties) / (count_x * count_y)).mean(axis=-1)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """Average probability that a run of X beats a run of Y on the same task (ties half):
    `x` `[runs_x, tasks]`, `y` `[runs_y, tasks]`, ragged runs NaN-padded."""
    x, y = as_scores(x), as_scores(y)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"x and y must be [runs, tasks], got shapes {x.shape} and {y.shape}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x has {x.shape[1]} tasks and y {y.shape[1]}")
    for what, array in (("x", x), ("y", y)):
        prepare_algorithm(array, 2, what)  # names a task without scores
    return float(_improvement(x, y))


def improvement_intervals(scores: Mapping[str, np.ndarray],
                          pairs: Sequence[tuple[str, str]] | None = None, *,
                          reps: int = 2_000, confidence: float = 0.95, seed: Seed = 0
                          ) -> dict[tuple[str, str], Interval]:
    """`{(x, y): Interval}` of `probability_of_improvement(scores[x], scores[y])` for each pair
    (every ordered pair of distinct algorithms when `pairs` is None), with stratified-bootstrap
    percentile intervals: x and y resampled independently within each task. Pairs are resampled
    in order from one generator made from `seed` (same seed, bit-identical intervals)."""
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    prepared = prepare_scores(scores)
    if pairs is None:
        pairs = list(itertools.permutations(prepared, 2))
    else:
        pairs = [tuple(pair) for pair in pairs]
        for pair in pairs:
            if len(pair) != 2:
                raise ValueError(f"a pair must be (x, y), got {pair!r}")
            unknown = [name for name in pair if name not in prepared]
            if unknown:
                raise ValueError(f"pair {pair!r}: no scores for {unknown}")
            if pair[0] == pair[1]:
                raise ValueError(f"pair {pair!r} compares an algorithm with itself")
    rng = as_generator(seed)
    out: dict[tuple[str, str], Interval] = {}
    for name_x, name_y in pairs:
        (x, count_x), (y, count_y) = prepared[name_x], prepared[name_y]
        estimate = float(_improvement(x, y))
        chunk = max(1, min(reps, CHUNK_ELEMENTS // (x.shape[0] * y.shape[0] * x.shape[1])))
        values = np.empty(reps)
        done = 0
        for rep_x, rep_y in zip(chunked_resamples(x, count_x, reps, rng, chunk),
                                chunked_resamples(y, count_y, reps, rng, chunk), strict=True):
            values[done:done + rep_x.shape[0]] = _improvement(rep_x, rep_y)
            done += rep_x.shape[0]
        lower, upper = percentile_interval(values, confidence)
        out[(name_x, name_y)] = Interval(estimate, float(lower), float(upper))
    return out

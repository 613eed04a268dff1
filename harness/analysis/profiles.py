"""Performance profiles (run-score distributions) with stratified-bootstrap bands.

The profile of one algorithm at threshold ``tau`` is the share of runs scoring strictly above
``tau``: for each task the fraction of its present runs with ``score > tau``, averaged over tasks
(rliable's ``score_distributions`` / ``run_score_deviation``, which with equal runs per task is
the share of all runs). Scores follow `harness.analysis.bootstrap`'s data model: ``[runs, tasks]``,
ragged runs padded with NaN, which never counts; a task without any score is a ValueError.
Bands are percentile intervals over stratified-bootstrap replicates, evaluated at every
threshold on the same replicates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from harness.analysis.aggregates import as_scores, present_mask
from harness.analysis.bootstrap import (
    CHUNK_ELEMENTS,
    Seed,
    as_generator,
    bootstrap_replicates,
    check_confidence,
    check_reps,
    percentile_interval,
    prepare_scores,
)

__all__ = ["performance_profile", "profile_bands"]


def _thresholds(taus: np.ndarray) -> np.ndarray:
    values = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D array, got shape {values.shape}")
    if np.isnan(values).any():
        raise ValueError("taus must not contain NaN")
    return values


def performance_profile(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Share of runs scoring above each threshold: `[runs, tasks]`, `[k]` -> `[k]`, the mean
    over tasks of the fraction of that task's present runs with `score > tau`. Leading batch
    axes are allowed: `[..., runs, tasks]` -> `[..., k]`."""
    array = as_scores(scores)
    thresholds = _thresholds(taus)
    _, counts = present_mask(array)  # NaN compares False, so it never counts above tau
    above = (array[..., None, :, :] > thresholds[:, None, None]).sum(axis=-2)  # [..., k, tasks]
    return (above / counts[..., None, :]).mean(axis=-1)


def profile_bands(scores: Mapping[str, np.ndarray], taus: np.ndarray, *, reps: int = 2_000,
                  confidence: float = 0.95, seed: Seed = 0
                  ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`{algorithm: (profile, lower, upper)}`, each `[k]`: the performance profile at `taus` and
    its stratified-bootstrap percentile band. Algorithms are resampled in the mapping's order
    from one generator made from `seed` (same seed, bit-identical bands)."""
    reps = check_reps(reps)
    confidence = check_confidence(confidence)
    thresholds = _thresholds(taus)
    prepared = prepare_scores(scores)
    rng = as_generator(seed)
    out: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for algorithm, (array, counts) in prepared.items():
        profile = performance_profile(array, thresholds)
        # The comparison holds k booleans per score: size the chunks for that.
        chunk = max(1, min(reps, CHUNK_ELEMENTS // (array.size * thresholds.size)))
        values = bootstrap_replicates(array, counts,
                            {"profile": lambda x: performance_profile(x, thresholds)},
                            reps, rng, chunk)["profile"]
        lower, upper = percentile_interval(values, confidence)
        out[algorithm] = (profile, lower, upper)
    return out

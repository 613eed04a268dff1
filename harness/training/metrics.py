"""Turn a chunk's raw arrays into stored tables: metric rows and one row per finished episode."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from harness.envs.episodes import EpisodeEnds, FinishedEpisodes
from harness.names import EVAL, GLOBAL_STEP, SPS, TRAIN
from harness.store.tables import episode_table, numpy_table


def chunk_rows(raw: dict[str, np.ndarray], first_update: int, valid: int, log_every: int,
               steps_per_update: int, sps: float) -> pa.Table:
    """Rows of one run for one chunk: one per `log_every` updates, `global_step` at its end.

    Metrics are averaged over the row's updates, ignoring updates where they were NaN (not
    computed, e.g. before learning starts); a row where a metric was never computed has NaN.
    """
    rows = -(-valid // log_every)
    ends = np.minimum(np.arange(1, rows + 1) * log_every, valid) + first_update
    columns: dict[str, np.ndarray] = {GLOBAL_STEP: ends.astype(np.int64) * steps_per_update}
    with np.errstate(all="ignore"):
        for name in sorted(raw):
            padded = np.full(rows * log_every, np.nan)
            padded[:valid] = np.asarray(raw[name][:valid], dtype=np.float64)
            block = padded.reshape(rows, log_every)
            present = ~np.isnan(block)
            columns[name] = np.where(present.any(axis=1),
                                     np.nansum(block, axis=1) / np.maximum(present.sum(1), 1),
                                     np.nan)
    columns[SPS] = np.full(rows, sps)
    return numpy_table(columns)


def _episodes(kind: str, steps: np.ndarray, returns: np.ndarray, lengths: np.ndarray,
              terminated: np.ndarray) -> pa.Table:
    return episode_table({
        "kind": np.full(len(steps), kind, dtype=object), GLOBAL_STEP: steps.astype(np.int64),
        "episodic_return": returns.astype(np.float64), "episodic_length": lengths.astype(np.int64),
        "terminated": np.asarray(terminated, bool)})


def episode_rows(ends: EpisodeEnds, first_update: int, valid: int) -> pa.Table:
    """Every training episode that ended within a run's chunk, in the order they ended.

    `ends` holds one run's chunk, `[chunk_updates, rollout_steps, num_envs]`; an episode that
    ends at step `t` of update `u` ends at `global_step = ((u * rollout_steps) + t + 1) *
    num_envs` (CleanRL's count: every copy has stepped). Episodes ending at the same step are
    ordered by environment copy.
    """
    _, steps, envs = ends.ends.shape
    kept = ends.ends[:valid]
    where = np.nonzero(kept)
    updates, step, _ = where
    lengths = kept[where]
    global_step = ((first_update + updates) * steps + step + 1) * envs
    return _episodes(TRAIN, global_step, ends.returns[:valid][where], np.abs(lengths),
                     lengths > 0)


def eval_rows(first: FinishedEpisodes, global_step: int) -> pa.Table:
    """One run's evaluation episodes (`[copies]` arrays; copies whose episode did not end
    are left out), all at the training step `global_step` at which they were played."""
    done = np.asarray(first.done, bool)
    return _episodes(EVAL, np.full(int(done.sum()), global_step), np.asarray(first.returns)[done],
                     np.asarray(first.lengths)[done], np.asarray(first.terminated)[done])


def nonfinite_state(leaves: list[np.ndarray]) -> bool:
    """True when any floating-point leaf of a training state holds NaN or infinity."""
    return any(np.issubdtype(leaf.dtype, np.floating) and not np.isfinite(leaf).all()
               for leaf in leaves)

"""Turn a chunk's raw per-update arrays into rows with CleanRL / Open RL Benchmark names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.envs.episodes import EPISODE_SUMS

EPISODE_RETURN = "charts/episodic_return"
EPISODE_LENGTH = "charts/episodic_length"
EVAL_RETURN = "eval/episodic_return"
SPS = "charts/SPS"
GLOBAL_STEP = "global_step"


def chunk_rows(raw: dict[str, np.ndarray], first_update: int, valid: int, log_every: int,
               steps_per_update: int, sps: float) -> pd.DataFrame:
    """Rows of one run for one chunk: one per `log_every` updates, `global_step` at its end.

    The episodic return and length are means over the episodes that finished within a row's
    updates, and NaN (absent) when none did. Other metrics are averaged over the row's
    updates, ignoring updates where they were NaN (not computed, e.g. before learning starts).
    """
    rows = -(-valid // log_every)

    def blocks(name: str) -> np.ndarray:
        values = np.asarray(raw[name][:valid], dtype=np.float64)
        padded = np.full(rows * log_every, np.nan)
        padded[:valid] = values
        return padded.reshape(rows, log_every)

    return_sum, length_sum, count = (np.nansum(blocks(name), axis=1) for name in EPISODE_SUMS)
    finished = count > 0
    safe_count = np.where(finished, count, 1.0)
    ends = np.minimum(np.arange(1, rows + 1) * log_every, valid) + first_update
    columns = {
        GLOBAL_STEP: ends.astype(np.int64) * steps_per_update,
        EPISODE_RETURN: np.where(finished, return_sum / safe_count, np.nan),
        EPISODE_LENGTH: np.where(finished, length_sum / safe_count, np.nan),
    }
    with np.errstate(all="ignore"):
        for name in sorted(set(raw) - set(EPISODE_SUMS)):
            block = blocks(name)
            present = ~np.isnan(block)
            columns[name] = np.where(present.any(axis=1),
                                     np.nansum(block, axis=1) / np.maximum(present.sum(1), 1),
                                     np.nan)
    columns[SPS] = np.full(rows, sps)
    return pd.DataFrame(columns)


def nonfinite_state(leaves: list[np.ndarray]) -> bool:
    """True when any floating-point leaf of a training state holds NaN or infinity."""
    return any(np.issubdtype(leaf.dtype, np.floating) and not np.isfinite(leaf).all()
               for leaf in leaves)


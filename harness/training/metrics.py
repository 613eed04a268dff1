"""Turn a chunk's raw per-update arrays into rows with CleanRL / Open RL Benchmark names."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

EPISODE_RETURN = "charts/episodic_return"
EPISODE_LENGTH = "charts/episodic_length"
SPS = "charts/SPS"
GLOBAL_STEP = "global_step"
NOT_CHECKED_FOR_NAN = {"losses/explained_variance"}
"""Undefined (NaN) whenever the returns of a batch have no variance; not a failure."""


def chunk_rows(raw: dict[str, np.ndarray], first_update: int, valid: int,
               steps_per_update: int, sps: float) -> pd.DataFrame:
    """One row per update of one run: `global_step` plus every metric.

    The episodic return and length are the means over episodes that finished during the
    update, and NaN (absent) when none did.
    """
    values = {name: np.asarray(array[:valid], dtype=np.float64) for name, array in raw.items()}
    count = values.pop("episodes/count")
    return_sum = values.pop("episodes/return_sum")
    length_sum = values.pop("episodes/length_sum")
    finished = count > 0
    safe_count = np.where(finished, count, 1.0)
    updates = np.arange(first_update, first_update + valid, dtype=np.int64)
    return pd.DataFrame({
        GLOBAL_STEP: (updates + 1) * steps_per_update,
        EPISODE_RETURN: np.where(finished, return_sum / safe_count, np.nan),
        EPISODE_LENGTH: np.where(finished, length_sum / safe_count, np.nan),
        **values,
        SPS: np.full(valid, sps),
    })


def first_nonfinite(rows: pd.DataFrame) -> str | None:
    """Describe the first NaN or infinite loss in `rows`, or None when all are finite."""
    for name in rows.columns:
        if not name.startswith("losses/") or name in NOT_CHECKED_FOR_NAN:
            continue
        bad = ~np.isfinite(rows[name].to_numpy())
        if bad.any():
            row = rows[bad].iloc[0]
            value = row[name]
            shown = "nan" if math.isnan(value) else str(value)
            return f"non-finite {name} ({shown}) at global_step {int(row[GLOBAL_STEP])}"
    return None

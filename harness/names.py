"""Names every layer shares: CleanRL / Open RL Benchmark metric names and the episode columns.

Free of JAX and pandas, so that the CLI and `harness.results` import it for nothing.
"""

from __future__ import annotations

GLOBAL_STEP = "global_step"
"""The x-axis: environment steps of one run (all its environment copies) so far."""
EPISODE_RETURN = "charts/episodic_return"
EPISODE_LENGTH = "charts/episodic_length"
EVAL_RETURN = "eval/episodic_return"
EVAL_LENGTH = "eval/episodic_length"
SPS = "charts/SPS"

EPISODE_METRICS = {"train": (EPISODE_RETURN, EPISODE_LENGTH), "eval": (EVAL_RETURN, EVAL_LENGTH)}
"""Per episode kind, the metric names its return and length are logged under (W&B, `load`)."""

TRAIN, EVAL = "train", "eval"
EPISODE_KINDS = (TRAIN, EVAL)
"""Training episodes (the exploring policy) and greedy evaluation episodes."""

EPISODE_COLUMNS = ("kind", GLOBAL_STEP, "episodic_return", "episodic_length", "terminated")
"""Columns of a run's episode table: one row per finished episode. `global_step` is the step at
which it ended; `terminated` is True when it ended in a terminal state, False when it was
truncated (time limit), and missing where the source did not say (pulled W&B runs)."""

"""How a run's updates are cut into metric rows, evaluation points and compiled chunks."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_ROWS = 1000
"""Metric rows per run at most: updates are averaged in blocks beyond that."""
TARGET_CHUNKS = 20
"""Chunks per run without evaluation: the host stores, checkpoints and reports between them."""


@dataclass(frozen=True)
class ChunkLayout:
    """Updates per metric row, per chunk, and the number of chunks."""

    num_updates: int
    log_every: int
    """Updates averaged into one metric row."""
    chunk_updates: int
    """Updates per compiled call (a multiple of `log_every`)."""

    @property
    def num_chunks(self) -> int:
        """Compiled calls per run; the last may run past the budget and be masked."""
        return math.ceil(self.num_updates / self.chunk_updates)

    def valid_updates(self, chunk: int) -> int:
        """Updates of chunk `chunk` that fall within the budget."""
        return min(self.chunk_updates, self.num_updates - chunk * self.chunk_updates)


def plan_layout(num_updates: int, eval_every: int | None = None) -> ChunkLayout:
    """Rows of at most MAX_ROWS per run; chunks end at every evaluation point when given.

    `eval_every` is in updates; it is rounded up to a whole number of metric rows.
    """
    log_every = math.ceil(num_updates / MAX_ROWS)
    if eval_every is not None:
        chunk_updates = math.ceil(max(1, eval_every) / log_every) * log_every
    else:
        rows = math.ceil(num_updates / log_every)
        chunk_updates = math.ceil(rows / TARGET_CHUNKS) * log_every
    return ChunkLayout(num_updates, log_every, chunk_updates)

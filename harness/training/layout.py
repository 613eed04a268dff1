"""How a run's updates are cut into metric rows, evaluation points and compiled chunks."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TARGET_CHUNKS = 20
"""Chunks per run, about: the host stores, checkpoints and reports between them."""


@dataclass(frozen=True)
class ChunkLayout:
    """Updates per metric row, per chunk, and the number of chunks."""

    num_updates: int
    log_every: int
    """Updates averaged into one metric row."""
    chunk_updates: int
    """Updates per compiled call (a multiple of `log_every`)."""
    chunks_per_eval: int | None = None
    """Chunks per evaluation period; None without evaluation."""

    @property
    def num_chunks(self) -> int:
        """Compiled calls per run; the last may run past the budget and be masked."""
        return math.ceil(self.num_updates / self.chunk_updates)

    def valid_updates(self, chunk: int) -> int:
        """Updates of chunk `chunk` that fall within the budget."""
        return min(self.chunk_updates, self.num_updates - chunk * self.chunk_updates)

    def shared_chunk(self, chunks: Any) -> int:
        """The one chunk that the runs of a call advance through: those of `chunks` before
        `num_chunks` (the others stay as they are), or `num_chunks` when none is."""
        at = {int(c) for c in chunks if c < self.num_chunks} or {self.num_chunks}
        if len(at) > 1:
            raise ValueError(f"runs of one call must be at one chunk, not at {sorted(at)}")
        return at.pop()

    def evaluates_after(self, chunk: int) -> bool:
        """Whether the greedy policy is evaluated after chunk `chunk` (and after the last)."""
        if self.chunks_per_eval is None:
            return False
        return (chunk + 1) % self.chunks_per_eval == 0 or chunk == self.num_chunks - 1

    def to_json(self) -> dict[str, Any]:
        """The layout as recorded in checkpoints (a run resumes only under the same layout)."""
        return asdict(self)


def plan_layout(num_updates: int, eval_every: int | None = None,
                max_rows: int | None = None) -> ChunkLayout:
    """One metric row per update (per block of updates when `max_rows` caps the rows of a
    run), about TARGET_CHUNKS chunks, ending at evaluation points.

    `eval_every` is in updates; it is rounded up to a whole number of metric rows, and each
    evaluation period is cut into the whole-row chunks that bring the total nearest the target.
    """
    log_every = math.ceil(num_updates / max_rows) if max_rows else 1
    rows = math.ceil(num_updates / log_every)
    if eval_every is None:
        return ChunkLayout(num_updates, log_every, math.ceil(rows / TARGET_CHUNKS) * log_every)
    period_rows = math.ceil(max(1, eval_every) / log_every)
    periods = math.ceil(rows / period_rows)
    wanted = max(1, round(TARGET_CHUNKS / periods))
    splits = max(d for d in range(1, min(wanted, period_rows) + 1) if period_rows % d == 0)
    return ChunkLayout(num_updates, log_every, period_rows // splits * log_every, splits)

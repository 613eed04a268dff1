"""Episode statistics: undiscounted return and length of every episode, truncated ones included.

The same functions run inside compiled programs (jax.numpy) and on the host (numpy: pass
`xp=np`), so both environment backends count episodes identically.
"""

from __future__ import annotations

from types import ModuleType
from typing import NamedTuple

import jax
import jax.numpy as jnp


class EpisodeTracker(NamedTuple):
    """The running return and length of the current episode of each environment copy."""

    episode_return: jax.Array
    episode_length: jax.Array


class FinishedEpisodes(NamedTuple):
    """Per environment copy: the return and length of an episode that just ended, else 0."""

    returns: jax.Array
    lengths: jax.Array
    done: jax.Array


def tracker_init(shape: int | tuple[int, ...], xp: ModuleType = jnp) -> EpisodeTracker:
    """No episode has started accumulating yet, in each of `shape` environment copies."""
    return EpisodeTracker(xp.zeros(shape, xp.float32), xp.zeros(shape, xp.int32))


def track(tracker: EpisodeTracker, reward: jax.Array, done: jax.Array,
          xp: ModuleType = jnp) -> tuple[EpisodeTracker, FinishedEpisodes]:
    """Add one step's rewards; report and restart the episodes that ended with it."""
    episode_return = tracker.episode_return + reward
    episode_length = tracker.episode_length + 1
    finished = FinishedEpisodes(xp.where(done, episode_return, 0.0),
                                xp.where(done, episode_length, 0), done)
    return EpisodeTracker(xp.where(done, 0.0, episode_return),
                          xp.where(done, 0, episode_length)), finished


EPISODE_SUMS = ("episodes/return_sum", "episodes/length_sum", "episodes/count")
"""Per-update sums that the host turns into `charts/episodic_return` and `_length` means."""


def episode_metrics(finished: FinishedEpisodes, axis: int | tuple[int, ...] | None = None
                    ) -> dict[str, jax.Array]:
    """The EPISODE_SUMS of finished episodes, summed over `axis` (all axes by default)."""
    sums = (finished.returns.sum(axis), finished.lengths.sum(axis), finished.done.sum(axis))
    return {name: total.astype("float32") for name, total in zip(EPISODE_SUMS, sums,
                                                                   strict=True)}

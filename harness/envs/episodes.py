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
    terminated: jax.Array
    """The episode ended in a terminal state (else, where `done`, it was truncated)."""


class EpisodeEnds(NamedTuple):
    """Finished episodes of a batch of steps, compact for the trip to the host.

    `ends` is the episode's length where one ended (positive: terminated, negative: truncated)
    and 0 where none did; `returns` is its undiscounted return there (0 elsewhere).
    """

    returns: jax.Array
    ends: jax.Array


def tracker_init(shape: int | tuple[int, ...], xp: ModuleType = jnp) -> EpisodeTracker:
    """No episode has started accumulating yet, in each of `shape` environment copies."""
    return EpisodeTracker(xp.zeros(shape, xp.float32), xp.zeros(shape, xp.int32))


def track(tracker: EpisodeTracker, reward: jax.Array, done: jax.Array, terminated: jax.Array,
          xp: ModuleType = jnp) -> tuple[EpisodeTracker, FinishedEpisodes]:
    """Add one step's rewards; report and restart the episodes that ended with it."""
    episode_return = tracker.episode_return + reward
    episode_length = tracker.episode_length + 1
    finished = FinishedEpisodes(xp.where(done, episode_return, 0.0),
                                xp.where(done, episode_length, 0), done, terminated & done)
    return EpisodeTracker(xp.where(done, 0.0, episode_return),
                          xp.where(done, 0, episode_length)), finished


def episode_ends(finished: FinishedEpisodes, xp: ModuleType = jnp) -> EpisodeEnds:
    """The compact form of `finished` (any shape)."""
    lengths = xp.asarray(finished.lengths, xp.int32)
    signed = xp.where(finished.terminated, lengths, -lengths)
    return EpisodeEnds(xp.asarray(finished.returns, xp.float32),
                       xp.where(finished.done, signed, 0).astype(xp.int32))

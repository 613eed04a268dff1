"""Episode statistics: undiscounted return and length of every episode, truncated ones included."""

from __future__ import annotations

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


def tracker_init(num_envs: int) -> EpisodeTracker:
    """No episode has started accumulating yet."""
    return EpisodeTracker(jnp.zeros(num_envs), jnp.zeros(num_envs, jnp.int32))


def track(tracker: EpisodeTracker, reward: jax.Array,
          done: jax.Array) -> tuple[EpisodeTracker, FinishedEpisodes]:
    """Add one step's rewards; report and restart the episodes that ended with it."""
    episode_return = tracker.episode_return + reward
    episode_length = tracker.episode_length + 1
    finished = FinishedEpisodes(jnp.where(done, episode_return, 0.0),
                                jnp.where(done, episode_length, 0), done)
    return EpisodeTracker(jnp.where(done, 0.0, episode_return),
                          jnp.where(done, 0, episode_length)), finished


def episode_metrics(finished: FinishedEpisodes) -> dict[str, jax.Array]:
    """Sums over any leading axes, averaged on the host into `charts/episodic_return`."""
    return {"episodes/return_sum": finished.returns.sum(),
            "episodes/length_sum": finished.lengths.sum().astype(jnp.float32),
            "episodes/count": finished.done.sum().astype(jnp.float32)}

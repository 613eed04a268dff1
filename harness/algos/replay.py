"""A uniform replay buffer that lives on the device, inside the training state."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class ReplayBuffer(NamedTuple):
    """A circular buffer of transitions; `size` counts the filled slots."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    next_obs: jax.Array
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        """Number of slots."""
        return self.reward.shape[0]


def replay_init(capacity: int, obs: jax.Array, action: jax.Array) -> ReplayBuffer:
    """An empty buffer shaped for one example observation and action."""
    def slots(x: jax.Array) -> jax.Array:
        return jnp.zeros((capacity, *x.shape), x.dtype)

    return ReplayBuffer(slots(obs), slots(action), jnp.zeros(capacity),
                        jnp.zeros(capacity, bool), slots(obs), jnp.asarray(0, jnp.int32),
                        jnp.asarray(0, jnp.int32))


def replay_add(buffer: ReplayBuffer, obs: jax.Array, action: jax.Array, reward: jax.Array,
               terminated: jax.Array, next_obs: jax.Array) -> ReplayBuffer:
    """Append a batch of `n` transitions (leading axis), overwriting the oldest when full."""
    n = reward.shape[0]
    slots = (buffer.position + jnp.arange(n)) % buffer.capacity
    return ReplayBuffer(
        buffer.obs.at[slots].set(obs), buffer.action.at[slots].set(action),
        buffer.reward.at[slots].set(reward), buffer.terminated.at[slots].set(terminated),
        buffer.next_obs.at[slots].set(next_obs), (buffer.position + n) % buffer.capacity,
        jnp.minimum(buffer.size + n, buffer.capacity))


class ReplaySample(NamedTuple):
    """A minibatch drawn from the buffer."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    next_obs: jax.Array


def replay_sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> ReplaySample:
    """`batch_size` transitions drawn uniformly (with replacement) from the filled slots."""
    index = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return ReplaySample(buffer.obs[index], buffer.action[index], buffer.reward[index],
                        buffer.terminated[index], buffer.next_obs[index])

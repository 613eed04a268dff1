"""Advantage estimators, time-limit aware: truncation bootstraps, termination does not."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def gae(rewards: jax.Array, values: jax.Array, next_values: jax.Array, terminated: jax.Array,
        done: jax.Array, gamma: jax.Array, gae_lambda: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates and value targets, all shaped `[time, envs]`.

    `next_values[t]` is the value of the true next observation of step t (the final
    observation where an episode ended), so a truncated step bootstraps from it while a
    terminated step does not; `done` (terminated or truncated) stops the trace.
    """
    not_terminated = 1.0 - terminated.astype(jnp.float32)
    not_done = 1.0 - done.astype(jnp.float32)
    deltas = rewards + gamma * next_values * not_terminated - values

    def backward(advantage: jax.Array, step: tuple) -> tuple[jax.Array, jax.Array]:
        delta, continues = step
        advantage = delta + gamma * gae_lambda * continues * advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(backward, jnp.zeros_like(values[0]), (deltas, not_done),
                                 reverse=True, unroll=16)
    return advantages, advantages + values

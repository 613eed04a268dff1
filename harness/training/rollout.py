"""The one rollout loop every on-policy algorithm uses: a `lax.scan` over environment steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from harness.envs.gymnax_backend import GymnaxVecEnv, VecEnvState

Policy = Callable[[jax.Array, jax.Array], tuple[jax.Array, Any]]
"""`policy(key, obs) -> (action, extras)`; extras (log-probs, values, ...) ride along."""


class Transition(NamedTuple):
    """Rollout data, each leaf shaped `[num_steps, num_envs, ...]`."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    """The episode ended in a terminal state: do not bootstrap."""
    done: jax.Array
    """The episode ended (terminated or truncated): the next step starts a new one."""
    next_obs: jax.Array
    """The true next observation (the final one where an episode ended)."""
    extras: Any


class EpisodeSums(NamedTuple):
    """Finished episodes of one rollout, summed so the host can average them."""

    return_sum: jax.Array
    length_sum: jax.Array
    count: jax.Array


def rollout(env: GymnaxVecEnv, state: VecEnvState, key: jax.Array, policy: Policy,
            num_steps: int) -> tuple[VecEnvState, Transition, EpisodeSums]:
    """Act `num_steps` times in every environment copy."""

    def step(state: VecEnvState, key: jax.Array) -> tuple[VecEnvState, tuple]:
        act_key, env_key = jax.random.split(key)
        action, extras = policy(act_key, state.obs)
        next_state, out = env.step(env_key, state, action)
        transition = Transition(state.obs, action, out.reward, out.terminated, out.done,
                                out.next_obs, extras)
        return next_state, (transition, out.finished_return, out.finished_length, out.done)

    state, (transitions, returns, lengths, done) = jax.lax.scan(
        step, state, jax.random.split(key, num_steps))
    sums = EpisodeSums(returns.sum(), lengths.sum(), done.sum())
    return state, transitions, sums


def episode_metrics(sums: EpisodeSums) -> dict[str, jax.Array]:
    """The per-update episode counters every algorithm returns (averaged on the host)."""
    return {"episodes/return_sum": sums.return_sum,
            "episodes/length_sum": sums.length_sum.astype(jnp.float32),
            "episodes/count": sums.count.astype(jnp.float32)}

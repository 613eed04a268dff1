"""Running mean and variance, for observation and reward normalisation (CleanRL's wrappers).

Reward scaling is Gymnasium's `NormalizeReward` as CleanRL applies it, one wrapper (and so one
set of statistics) per environment copy.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

EPSILON = 1e-8
CLIP = 10.0
"""CleanRL clips normalised observations and rewards to [-10, 10]."""


class RunningMeanStd(NamedTuple):
    """Mean and variance of everything seen so far (parallel-variance update)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array


def rms_init(shape: tuple[int, ...]) -> RunningMeanStd:
    """Statistics before any data (count 1e-4, as gymnasium's wrappers)."""
    return RunningMeanStd(jnp.zeros(shape), jnp.ones(shape), jnp.asarray(1e-4))


def rms_update(rms: RunningMeanStd, batch: jax.Array) -> RunningMeanStd:
    """Fold a batch `[n, *shape]` into the statistics."""
    batch_mean, batch_var, batch_count = batch.mean(0), batch.var(0), batch.shape[0]
    delta = batch_mean - rms.mean
    total = rms.count + batch_count
    mean = rms.mean + delta * batch_count / total
    m2 = rms.var * rms.count + batch_var * batch_count + delta**2 * rms.count * batch_count / total
    return RunningMeanStd(mean, m2 / total, total)


def normalize(rms: RunningMeanStd, x: jax.Array) -> jax.Array:
    """Standardise `x` with the statistics and clip to [-CLIP, CLIP]."""
    return jnp.clip((x - rms.mean) / jnp.sqrt(rms.var + EPSILON), -CLIP, CLIP)


def scale_reward(rms: RunningMeanStd, reward: jax.Array) -> jax.Array:
    """Divide rewards by the std of the discounted return, then clip (no centring)."""
    return jnp.clip(reward / jnp.sqrt(rms.var + EPSILON), -CLIP, CLIP)


def scaled_rewards(return_rms: RunningMeanStd, discounted: jax.Array, rewards: jax.Array,
                   terminated: jax.Array, gamma: jax.Array
                   ) -> tuple[RunningMeanStd, jax.Array, jax.Array]:
    """`NormalizeReward` step by step over `[time, envs]` rewards, statistics `[envs]`.

    Each step `R = R * gamma * (1 - terminated) + r` (this step's flag: truncation never resets
    it), the statistics take `R`, and the reward is divided by `sqrt(var + EPSILON)`, then clipped.
    """

    def step(carry: tuple, inputs: tuple) -> tuple[tuple, jax.Array]:
        rms, running = carry
        reward, ended = inputs
        running = running * gamma * (1.0 - ended.astype(jnp.float32)) + reward
        rms = rms_update(rms, running[None])
        return (rms, running), scale_reward(rms, reward)

    (return_rms, discounted), scaled = jax.lax.scan(step, (return_rms, discounted),
                                                    (rewards, terminated))
    return return_rms, discounted, scaled

"""Action distributions as small pure functions of their parameters."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


def categorical_sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    """Sample one action per row of `logits` `[batch, actions]`."""
    return jax.random.categorical(key, logits, axis=-1)


def categorical_log_prob(logits: jax.Array, actions: jax.Array) -> jax.Array:
    """Log-probability of `actions` `[batch]` under `logits` `[batch, actions]`."""
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_probs, actions[:, None].astype(jnp.int32), axis=-1)[:, 0]


def categorical_entropy(logits: jax.Array) -> jax.Array:
    """Entropy of each row of `logits` `[batch, actions]`."""
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.sum(jnp.exp(log_probs) * log_probs, axis=-1)


def gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Sample from a diagonal Gaussian `[batch, dims]`."""
    return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)


def gaussian_log_prob(mean: jax.Array, log_std: jax.Array, actions: jax.Array) -> jax.Array:
    """Log-density of `actions` `[batch, dims]`, summed over dimensions."""
    z = (actions - mean) / jnp.exp(log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi), axis=-1)


def gaussian_entropy(log_std: jax.Array) -> jax.Array:
    """Entropy of a diagonal Gaussian, summed over the last axis."""
    return jnp.sum(log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1)


class PolicyHead(NamedTuple):
    """The distribution a policy network's output parameterises."""

    sample: Callable[[jax.Array, Any], jax.Array]
    """`sample(key, params) -> actions`."""
    log_prob: Callable[[Any, jax.Array], jax.Array]
    """`log_prob(params, actions) -> [batch]`."""
    entropy: Callable[[Any], jax.Array]
    """`entropy(params) -> [batch]`."""
    mode: Callable[[Any], jax.Array]
    """`mode(params) -> actions`: the most likely action (greedy evaluation)."""


CATEGORICAL = PolicyHead(
    sample=categorical_sample,
    log_prob=categorical_log_prob,
    entropy=categorical_entropy,
    mode=lambda logits: jnp.argmax(logits, axis=-1),
)
"""Discrete actions; the parameters are logits `[batch, actions]`."""

GAUSSIAN = PolicyHead(
    sample=lambda key, p: gaussian_sample(key, *p),
    log_prob=lambda p, actions: gaussian_log_prob(*p, actions),
    entropy=lambda p: gaussian_entropy(p[1]),
    mode=lambda p: p[0],
)
"""Continuous actions; the parameters are `(mean, log_std)`, each `[batch, dims]`."""

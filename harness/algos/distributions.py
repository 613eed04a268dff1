"""Action distributions as small pure functions of their parameters."""

from __future__ import annotations

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

"""PPO's loss terms as small functions of arrays (each averaged over the minibatch)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def normalize_advantages(advantages: jax.Array) -> jax.Array:
    """Zero-mean, unit-std advantages (unbiased std, as `torch.Tensor.std`)."""
    return (advantages - advantages.mean()) / (advantages.std(ddof=1) + 1e-8)


def clipped_surrogate_loss(ratio: jax.Array, advantages: jax.Array,
                           clip_coef: jax.Array) -> jax.Array:
    """The negated clipped surrogate objective."""
    unclipped = -advantages * ratio
    clipped = -advantages * jnp.clip(ratio, 1.0 - clip_coef, 1.0 + clip_coef)
    return jnp.maximum(unclipped, clipped).mean()


def value_loss(new_values: jax.Array, old_values: jax.Array, returns: jax.Array,
               clip_coef: jax.Array, clip: bool) -> jax.Array:
    """Half the squared error to the returns, optionally clipped around the old values."""
    unclipped = (new_values - returns) ** 2
    if not clip:
        return 0.5 * unclipped.mean()
    clipped_values = old_values + jnp.clip(new_values - old_values, -clip_coef, clip_coef)
    return 0.5 * jnp.maximum(unclipped, (clipped_values - returns) ** 2).mean()


def total_loss(policy_loss: jax.Array, v_loss: jax.Array, entropy: jax.Array,
               ent_coef: jax.Array, vf_coef: jax.Array) -> jax.Array:
    """`policy_loss - ent_coef * entropy + vf_coef * v_loss`: what one gradient step minimises."""
    return policy_loss - ent_coef * entropy + vf_coef * v_loss


def kl_estimates(log_ratio: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`(old_approx_kl, approx_kl)`: the naive and the low-variance KL estimators."""
    ratio = jnp.exp(log_ratio)
    return (-log_ratio).mean(), ((ratio - 1.0) - log_ratio).mean()


def explained_variance(predictions: jax.Array, targets: jax.Array) -> jax.Array:
    """1 - Var[targets - predictions] / Var[targets]; NaN when the targets do not vary."""
    variance = targets.var()
    return jnp.where(variance == 0, jnp.nan, 1.0 - (targets - predictions).var() / variance)

"""Networks shared by the algorithms (CleanRL's initialisation: orthogonal, zero bias)."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class MLP(nn.Module):
    """Flatten the observation, then tanh hidden layers and a linear head."""

    hidden_sizes: Sequence[int]
    out_dim: int
    out_scale: float
    """Gain of the head's orthogonal initialisation (0.01 for policy logits, 1 for values)."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Map a batch of observations `[batch, *obs_shape]` to `[batch, out_dim]`."""
        x = x.reshape((x.shape[0], -1)).astype(jnp.float32)
        for width in self.hidden_sizes:
            x = nn.tanh(nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2)),
                                 bias_init=nn.initializers.zeros)(x))
        return nn.Dense(self.out_dim, kernel_init=nn.initializers.orthogonal(self.out_scale),
                        bias_init=nn.initializers.zeros)(x)

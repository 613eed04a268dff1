"""The multilayer perceptron every algorithm builds its networks from."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Initializer = Callable[..., jax.Array]
ORTHOGONAL_HIDDEN = nn.initializers.orthogonal(np.sqrt(2))
"""CleanRL's PPO initialisation of hidden layers (orthogonal, gain sqrt 2, zero bias)."""


class MLP(nn.Module):
    """Flatten the observation, then hidden layers and (when `out_dim` is set) a linear head.

    The defaults are CleanRL's PPO networks (tanh, orthogonal initialisation); `relu_mlp` gives
    its DQN and SAC networks (ReLU, flax's default LeCun-normal initialisation).
    """

    hidden_sizes: Sequence[int]
    out_dim: int | None = None
    out_scale: float = 1.0
    """Gain of the head's orthogonal initialisation (0.01 for policy logits, 1 for values)."""
    activation: Callable[[jax.Array], jax.Array] = nn.tanh
    orthogonal: bool = True
    """Orthogonal initialisation (CleanRL's PPO); otherwise flax's defaults."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Map a batch `[batch, *shape]` to `[batch, out_dim]` (or the last hidden layer)."""
        x = x.reshape((x.shape[0], -1)).astype(jnp.float32)
        hidden = {"kernel_init": ORTHOGONAL_HIDDEN} if self.orthogonal else {}
        for width in self.hidden_sizes:
            x = self.activation(nn.Dense(width, **hidden)(x))
        if self.out_dim is None:
            return x
        head = {"kernel_init": nn.initializers.orthogonal(self.out_scale)} \
            if self.orthogonal else {}
        return nn.Dense(self.out_dim, **head)(x)


def relu_mlp(hidden_sizes: Sequence[int], out_dim: int | None = None) -> MLP:
    """ReLU layers with flax's default initialisation (CleanRL's DQN and SAC networks)."""
    return MLP(tuple(hidden_sizes), out_dim, activation=nn.relu, orthogonal=False)

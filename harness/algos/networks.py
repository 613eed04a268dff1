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


def torch_linear_init(fan_in: int) -> dict[str, Initializer]:
    """PyTorch's `nn.Linear` defaults as `nn.Dense` arguments: kernel and bias U(±1/sqrt(fan_in)).

    The kernel's `kaiming_uniform_(a=sqrt(5))` has bound `sqrt(3) * sqrt(1/3) / sqrt(fan_in)`.
    """
    bound = 1.0 / np.sqrt(fan_in)

    def uniform(key: jax.Array, shape: tuple[int, ...], dtype: jnp.dtype = jnp.float32
                ) -> jax.Array:
        return jax.random.uniform(key, shape, dtype, -bound, bound)

    return {"kernel_init": uniform, "bias_init": uniform}


class MLP(nn.Module):
    """Flatten the observation, then hidden layers and (when `out_dim` is set) a linear head.

    The defaults are CleanRL's PPO networks (tanh, orthogonal initialisation); `relu_mlp` gives
    its DQN and SAC networks (ReLU, PyTorch's default `nn.Linear` initialisation).
    """

    hidden_sizes: Sequence[int]
    out_dim: int | None = None
    out_scale: float = 1.0
    """Gain of the head's orthogonal initialisation (0.01 for policy logits, 1 for values)."""
    activation: Callable[[jax.Array], jax.Array] = nn.tanh
    orthogonal: bool = True
    """Orthogonal initialisation (CleanRL's PPO); otherwise PyTorch's `nn.Linear` defaults."""

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        """Map a batch `[batch, *shape]` to `[batch, out_dim]` (or the last hidden layer)."""
        x = x.reshape((x.shape[0], -1)).astype(jnp.float32)
        for width in self.hidden_sizes:
            hidden = {"kernel_init": ORTHOGONAL_HIDDEN} if self.orthogonal \
                else torch_linear_init(x.shape[-1])
            x = self.activation(nn.Dense(width, **hidden)(x))
        if self.out_dim is None:
            return x
        head = {"kernel_init": nn.initializers.orthogonal(self.out_scale)} if self.orthogonal \
            else torch_linear_init(x.shape[-1])
        return nn.Dense(self.out_dim, **head)(x)


def relu_mlp(hidden_sizes: Sequence[int], out_dim: int | None = None) -> MLP:
    """ReLU layers with PyTorch's default initialisation (CleanRL's DQN and SAC networks)."""
    return MLP(tuple(hidden_sizes), out_dim, activation=nn.relu, orthogonal=False)

"""Target networks: the Polyak (soft) update DQN and SAC share."""

from __future__ import annotations

from typing import Any

import jax


def polyak(params: Any, target_params: Any, tau: jax.Array) -> Any:
    """`tau * params + (1 - tau) * target_params`, leaf by leaf (`tau = 1` copies `params`)."""
    return jax.tree.map(lambda p, t: tau * p + (1.0 - tau) * t, params, target_params)

"""What an algorithm needs to know about an environment's spaces, whatever the backend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EnvInfo:
    """Shapes and bounds of one environment copy."""

    observation_shape: tuple[int, ...]
    action_kind: str
    """"discrete" or "continuous"."""
    num_actions: int = 0
    """Number of discrete actions (0 for continuous spaces)."""
    action_shape: tuple[int, ...] = ()
    """Shape of one continuous action (`()` for discrete spaces)."""
    action_low: np.ndarray | None = None
    """Lower bounds of a continuous action."""
    action_high: np.ndarray | None = None
    """Upper bounds of a continuous action."""
    max_episode_steps: int = 0
    """The time limit (0 when the environment has none)."""

    @property
    def discrete(self) -> bool:
        """True for a discrete action space."""
        return self.action_kind == "discrete"

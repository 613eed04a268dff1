"""The algorithm registry: names, hyperparameter models and where each implementation lives.

Importing this module is cheap (no JAX): the suite validator uses it before anything trains.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from harness.algos.dqn.config import DQNConfig
from harness.algos.hyperparameters import Hyperparameters
from harness.algos.ppo.config import PPOConfig, PPOContinuousConfig
from harness.algos.sac.config import SACConfig


@dataclass(frozen=True)
class AlgorithmSpec:
    """What the harness knows about an algorithm without importing JAX."""

    name: str
    config: type[Hyperparameters]
    module: str
    """Module whose `make_agent(env_info, config, num_updates)` builds the algorithm's `Agent`."""
    action_kinds: frozenset[str]
    """Action spaces the implementation supports: "discrete" and/or "continuous"."""

    def load(self) -> ModuleType:
        """Import the implementation module (this imports JAX)."""
        return importlib.import_module(self.module)


ALGORITHMS: dict[str, AlgorithmSpec] = {
    spec.name: spec
    for spec in (
        AlgorithmSpec("ppo", PPOConfig, "harness.algos.ppo.agent", frozenset({"discrete"})),
        AlgorithmSpec("ppo_continuous_action", PPOContinuousConfig, "harness.algos.ppo.agent",
                      frozenset({"continuous"})),
        AlgorithmSpec("sac_continuous_action", SACConfig, "harness.algos.sac.agent",
                      frozenset({"continuous"})),
        AlgorithmSpec("dqn", DQNConfig, "harness.algos.dqn.agent", frozenset({"discrete"})),
    )
}

"""Runs: one (algorithm, environment, hyperparameters, seed), identified by a stable hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from harness.algos import ALGORITHMS
from harness.algos.hyperparameters import Hyperparameters
from harness.envs.catalog import lookup
from harness.suite.schema import Suite

RUN_ID_LENGTH = 12


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: the same bytes in every process."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def run_id_of(config: dict[str, Any]) -> str:
    """A stable id for a resolved run config: the first hex digits of its SHA-256."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:RUN_ID_LENGTH]


@dataclass(frozen=True)
class Run:
    """One training run of a suite."""

    suite: str
    exp_name: str
    env_id: str
    seed: int
    total_timesteps: int
    hyperparameters: Hyperparameters
    backend: str = "gymnax"
    """"gymnax" or "gymnasium": which backend steps the environment."""
    evaluation: dict[str, int] | None = None
    """`{"every": steps, "episodes": n}`: greedy evaluation during training, or None."""
    sweep: dict[str, Any] | None = None
    """`{"name": entry exp_name, "values": {hyperparameter: value}}` for a configuration of a
    sweep (its exp_name is the configuration's label), else None."""

    @property
    def algo(self) -> str:
        """Registry name of the algorithm."""
        return self.hyperparameters.algo

    @property
    def steps_per_update(self) -> int:
        """Environment steps (all copies of the run's environment) per update."""
        return self.hyperparameters.steps_per_update

    @property
    def num_updates(self) -> int:
        """Updates of the training loop: the budget rounded down to whole updates."""
        return self.total_timesteps // self.steps_per_update

    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved config that defines this run (the suite name is not part of it)."""
        config = {
            "algo": self.algo,
            "exp_name": self.exp_name,
            "env_id": self.env_id,
            "backend": self.backend,
            "seed": self.seed,
            "total_timesteps": self.total_timesteps,
            "hyperparameters": self.hyperparameters.model_dump(mode="json"),
        }
        if self.evaluation is not None:
            config["evaluation"] = dict(self.evaluation)
        if self.sweep is not None:
            config["sweep"] = {"name": self.sweep["name"], "values": dict(self.sweep["values"])}
        return config

    @cached_property
    def run_id(self) -> str:
        """Stable hash of `config`: equal configs give equal ids in every process."""
        return run_id_of(self.config)

    @classmethod
    def from_config(cls, suite: str, config: dict[str, Any]) -> Run:
        """Rebuild a run from its stored config (the inverse of `config`)."""
        hyperparameters = ALGORITHMS[config["algo"]].config.model_validate(
            config["hyperparameters"], strict=False)
        return cls(suite=suite, exp_name=config["exp_name"], env_id=config["env_id"],
                   seed=config["seed"], total_timesteps=config["total_timesteps"],
                   hyperparameters=hyperparameters, backend=config["backend"],
                   evaluation=config.get("evaluation"), sweep=config.get("sweep"))


def expand(suite: Suite) -> list[Run]:
    """Every run of a validated suite, in algorithm, environment, seed order."""
    evaluation = suite.evaluation.model_dump() if suite.evaluation else None
    runs = []
    for entry in suite.algorithms:
        for exp_name, swept in entry.configurations():
            sweep = {"name": entry.name, "values": swept} if entry.sweep is not None else None
            for env in suite.environments:
                hyperparameters = entry.resolve(env.id, swept)  # one instance for all seeds
                backend = lookup(env.id, env.backend).backend
                runs += [Run(suite=suite.name, exp_name=exp_name, env_id=env.id, seed=seed,
                             total_timesteps=entry.total_timesteps or suite.total_timesteps,
                             hyperparameters=hyperparameters, backend=backend,
                             evaluation=evaluation, sweep=sweep) for seed in suite.seed_list]
    return runs

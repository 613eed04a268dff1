"""The benchmark cases: each algorithm's setting in the harness and the matched one in rejax.

Plain data, importing neither the harness nor rejax: the harness's bare program and the rejax
script (run by the rejax virtualenv's Python) both read it. Each pair does the same work per
environment step: the same environments per run, network widths and activations, batch and
minibatch sizes, gradient steps per environment step and replay and target-network settings.
Where rejax cannot express CleanRL's setting the harness takes rejax's shape (DQN: rejax takes
one gradient step per iteration over its environments, so both run 10 environments and one
gradient step per 10 environment steps, CleanRL's ratio). What stays different is CleanRL's
own: the harness's SAC updates its actor twice every second step (rejax: once every step) and
samples fresh log-probabilities for the entropy coefficient's step (one more actor forward).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """One algorithm on one gymnax environment, as the harness and as rejax configure it."""

    algo: str
    """The harness's algorithm name (a key of `harness.algos.ALGORITHMS`)."""
    env_id: str
    harness: dict[str, Any]
    """Hyperparameters given to the harness (its defaults, CleanRL's, fill the rest)."""
    rejax_algo: str
    rejax: dict[str, Any]
    """Keyword arguments of rejax's `Algorithm.create`."""
    steps: dict[int, int] = field(default_factory=dict)
    """Environment steps per seed timed in the throughput table, by seeds per job."""


PPO_COMMON = {"max_grad_norm": 0.5, "gamma": 0.99, "gae_lambda": 0.95, "clip_eps": 0.2,
              "vf_coef": 0.5, "agent_kwargs": {"activation": "tanh"}}

CASES: dict[str, Case] = {
    "ppo": Case(
        "ppo", "CartPole-v1", {}, "ppo",
        {**PPO_COMMON, "num_envs": 4, "num_steps": 128, "num_epochs": 4, "num_minibatches": 4,
         "learning_rate": 2.5e-4, "ent_coef": 0.01},
        {1: 51_200, 8: 20_480, 32: 10_240}),
    "dqn": Case(
        "dqn", "CartPole-v1",
        {"num_envs": 10, "train_frequency": 1, "hidden_sizes": [64, 64], "learning_starts": 1000},
        "dqn",
        {"num_envs": 10, "buffer_size": 10_000, "fill_buffer": 1000, "batch_size": 128,
         "learning_rate": 2.5e-4, "gamma": 0.99, "target_update_freq": 500, "polyak": 0.0,
         "ddqn": False, "eps_start": 1.0, "eps_end": 0.05, "exploration_fraction": 0.5,
         "agent_kwargs": {"activation": "relu"}},
        {1: 50_000, 8: 20_000, 32: 10_000}),
    "ppo_continuous_action": Case(
        "ppo_continuous_action", "Pendulum-v1", {}, "ppo",
        {**PPO_COMMON, "num_envs": 1, "num_steps": 2048, "num_epochs": 10,
         "num_minibatches": 32, "learning_rate": 3e-4, "ent_coef": 0.0,
         "normalize_observations": True, "normalize_rewards": True},
        {1: 20_480, 8: 8_192, 32: 4_096}),
    "sac_continuous_action": Case(
        "sac_continuous_action", "Pendulum-v1",
        {"buffer_size": 100_000, "learning_starts": 255}, "sac",
        {"num_envs": 1, "buffer_size": 100_000, "fill_buffer": 255, "batch_size": 256,
         "learning_rate": 3e-4, "gamma": 0.99, "polyak": 0.995, "target_update_freq": 1,
         "hidden_layer_sizes": [256, 256], "agent_kwargs": {"activation": "relu"}},
        {1: 1_024, 8: 384, 32: 288}),
}


def jobs_of(argv: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The case and the `(seeds, steps)` jobs a benchmark script's command line names
    (`CASE SEEDS:STEPS...`; flags, `--...`, are left out)."""
    name, *jobs = [arg for arg in argv if not arg.startswith("--")]
    return name, [(int(seeds), int(steps))
                  for seeds, _, steps in (job.partition(":") for job in jobs)]


def run_jobs(argv: list[str], train: Callable[[Case, int, int], dict[str, Any]],
             started: float) -> None:
    """Train the jobs a benchmark script's command line names (`jobs_of`, flags left to
    `train`) and print their timings, and the seconds since `started`, as one JSON line."""
    name, jobs = jobs_of(argv)
    timings = [train(CASES[name], seeds, steps) for seeds, steps in jobs]
    print(json.dumps({"jobs": timings, "in_process": time.perf_counter() - started}))

"""Measure the mean return of a uniform-random policy per environment: the `random` scores of
`suites/references/normalization.yaml`.

Usage: `python tools/measure_random_scores.py ENV_ID:EPISODES ...`.

Each episode starts from `env.reset(seed=i)` and samples actions from the action space seeded
with `i`; prints one YAML-ready line per environment with the mean, the standard error and the
episode count.
"""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np


def random_returns(env_id: str, episodes: int) -> np.ndarray:
    """Undiscounted returns of `episodes` uniform-random episodes of `env_id`: `[episodes]`."""
    env = gym.make(env_id)
    returns = np.zeros(episodes)
    for i in range(episodes):
        env.reset(seed=i)
        env.action_space.seed(i)
        done = False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            returns[i] += float(reward)
            done = terminated or truncated
    env.close()
    return returns


def main(specs: list[str]) -> None:
    """Print the random score of each `ENV_ID:EPISODES`."""
    for spec in specs:
        env_id, _, count = spec.partition(":")
        returns = random_returns(env_id, int(count or 1000))
        error = returns.std(ddof=1) / np.sqrt(returns.size)
        print(f"{env_id}: random {returns.mean():.3f} (standard error {error:.3f}, "
              f"{returns.size} episodes)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

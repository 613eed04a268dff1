"""Gymnasium environments stepped on the host: every copy of every run in one vector env."""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

from harness.envs.episodes import EpisodeTracker, FinishedEpisodes, track, tracker_init
from harness.envs.spaces import EnvInfo


@cache
def gymnasium_info(env_id: str) -> EnvInfo:
    """Spaces and time limit of a Gymnasium environment."""
    env = gymnasium.make(env_id)
    try:
        observation_shape = tuple(env.observation_space.shape)
        max_steps = env.spec.max_episode_steps if env.spec else None
        action_space = env.action_space
    finally:
        env.close()
    if isinstance(action_space, spaces.Discrete):
        return EnvInfo(observation_shape, "discrete", num_actions=int(action_space.n),
                       max_episode_steps=max_steps or 0)
    return EnvInfo(observation_shape, "continuous", action_shape=tuple(action_space.shape),
                   action_low=action_space.low.astype(np.float32),
                   action_high=action_space.high.astype(np.float32),
                   max_episode_steps=max_steps or 0)


def copy_seeds(seed: int, copies: int) -> list[int]:
    """Distinct, reproducible reset seeds for the environment copies of the run `seed`."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(copies)]


class HostStep(NamedTuple):
    """One step of every copy, shaped `[runs, copies, ...]` (numpy)."""

    obs: np.ndarray
    """The observation to act on next (a fresh episode's first where one ended)."""
    reward: np.ndarray
    terminated: np.ndarray
    done: np.ndarray
    next_obs: np.ndarray
    """The true next observation (the final one where an episode ended)."""
    finished: FinishedEpisodes


class GymnasiumVecEnv:
    """`runs x copies` Gymnasium environments, reset in the same step an episode ends.

    Gymnasium 1.x vector environments reset on the step after an episode ends by default,
    which returns a transition that is not one; `AutoresetMode.SAME_STEP` resets at once and
    reports the final observation in `info["final_obs"]`, as gymnax does. Continuous actions
    are clipped to the action space's bounds (CleanRL's `ClipAction`).
    """

    def __init__(self, env_id: str, runs: int, copies: int) -> None:
        self.info = gymnasium_info(env_id)
        self.runs, self.copies = runs, copies
        self.env = gymnasium.make_vec(
            env_id, num_envs=runs * copies, vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP})
        self.episodes: EpisodeTracker = tracker_init((runs, copies), np)

    def _batched(self, flat: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        return np.asarray(flat, dtype).reshape(self.runs, self.copies, *np.shape(flat)[1:])

    def reset(self, seeds: list[list[int]]) -> np.ndarray:
        """Start fresh episodes, copy `c` of run `r` seeded with `seeds[r][c]`."""
        flat = [seed for run in seeds for seed in run]
        obs, _ = self.env.reset(seed=flat)
        self.episodes = tracker_init((self.runs, self.copies), np)
        return self._batched(obs)

    def step(self, action: np.ndarray) -> HostStep:
        """Step every copy with `action` `[runs, copies, ...]`."""
        flat = np.asarray(action).reshape(self.runs * self.copies, *np.shape(action)[2:])
        if not self.info.discrete:
            flat = np.clip(flat, self.info.action_low, self.info.action_high)
        obs, reward, terminated, truncated, info = self.env.step(flat)
        next_obs = np.array(obs, dtype=np.float32, copy=True)
        ended = info.get("_final_obs", np.zeros(len(flat), bool))
        for index in np.flatnonzero(ended):
            next_obs[index] = info["final_obs"][index]
        done = np.logical_or(terminated, truncated)
        reward = self._batched(reward)
        done, terminated = self._batched(done, bool), self._batched(terminated, bool)
        self.episodes, finished = track(self.episodes, reward, done, terminated, np)
        return HostStep(self._batched(obs), reward, terminated, done, self._batched(next_obs),
                        finished)

    def close(self) -> None:
        """Release the environments."""
        self.env.close()

"""gymnax environments, vectorised, reporting the true next observation and finished episodes."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from harness.envs.episodes import EpisodeTracker, FinishedEpisodes, track, tracker_init
from harness.envs.gymnax_import import gymnax, spaces
from harness.envs.spaces import EnvInfo


class VecEnvState(NamedTuple):
    """Batched environment state, the current observations and the episode tracker."""

    env_state: Any
    obs: jax.Array
    episodes: EpisodeTracker


class StepResult(NamedTuple):
    """One vectorised step; `next_obs` is the observation before any automatic reset."""

    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    next_obs: jax.Array
    finished: FinishedEpisodes


def gymnax_info(env_id: str) -> EnvInfo:
    """Spaces of a gymnax environment."""
    env, params = gymnax.make(env_id)
    action_space = env.action_space(params)
    observation_shape = tuple(env.observation_space(params).shape)
    max_steps = int(getattr(params, "max_steps_in_episode", 0))
    if isinstance(action_space, spaces.Discrete):
        return EnvInfo(observation_shape, "discrete", num_actions=int(action_space.n),
                       max_episode_steps=max_steps)
    shape = tuple(action_space.shape)
    return EnvInfo(observation_shape, "continuous", action_shape=shape,
                   action_low=np.broadcast_to(np.asarray(action_space.low, np.float32), shape),
                   action_high=np.broadcast_to(np.asarray(action_space.high, np.float32), shape),
                   max_episode_steps=max_steps)


class GymnaxVecEnv:
    """`num_envs` copies of a gymnax environment, reset automatically when an episode ends.

    Continuous actions are clipped to the action space's bounds (CleanRL's `ClipAction`).
    """

    def __init__(self, env_id: str, num_envs: int) -> None:
        self.env, self.params = gymnax.make(env_id)
        self.info = gymnax_info(env_id)
        self.num_envs = num_envs

    def reset(self, key: jax.Array) -> VecEnvState:
        """Start `num_envs` fresh episodes."""
        keys = jax.random.split(key, self.num_envs)
        obs, env_state = jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.params)
        return VecEnvState(env_state, obs, tracker_init(self.num_envs))

    def step(self, key: jax.Array, state: VecEnvState,
             action: jax.Array) -> tuple[VecEnvState, StepResult]:
        """Step every copy; copies whose episode ended start a new one."""
        if not self.info.discrete:
            action = jnp.clip(action, self.info.action_low, self.info.action_high)
        keys = jax.random.split(key, self.num_envs)
        obs, env_state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None))(keys, state.env_state, action, self.params)
        reward = reward.astype(jnp.float32).reshape(self.num_envs)
        done = jnp.logical_or(terminated, truncated)
        episodes, finished = track(state.episodes, reward, done, terminated)
        result = StepResult(reward, terminated, done, info["final_observation"], finished)
        return VecEnvState(env_state, obs, episodes), result

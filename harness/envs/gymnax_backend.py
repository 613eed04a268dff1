"""gymnax environments, vectorised, reporting the true next observation and finished episodes."""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces


class VecEnvState(NamedTuple):
    """Batched environment state plus the running return and length of each episode."""

    env_state: Any
    obs: jax.Array
    episode_return: jax.Array
    episode_length: jax.Array


class StepResult(NamedTuple):
    """One vectorised step; `next_obs` is the observation before any automatic reset."""

    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    next_obs: jax.Array
    finished_return: jax.Array
    """Undiscounted return of the episode that ended here (0 where none did)."""
    finished_length: jax.Array
    """Length of the episode that ended here (0 where none did)."""

    @property
    def done(self) -> jax.Array:
        """An episode ended, by termination or by the time limit."""
        return jnp.logical_or(self.terminated, self.truncated)


class GymnaxVecEnv:
    """`num_envs` copies of a gymnax environment, reset automatically when an episode ends."""

    def __init__(self, env_id: str, num_envs: int) -> None:
        self.env_id = env_id
        self.env, self.params = gymnax.make(env_id)
        self.num_envs = num_envs
        self.action_space = self.env.action_space(self.params)
        self.observation_shape: tuple[int, ...] = tuple(
            self.env.observation_space(self.params).shape)

    @property
    def num_actions(self) -> int:
        """Number of discrete actions."""
        if not isinstance(self.action_space, spaces.Discrete):
            raise TypeError(f"{self.env_id} does not have a discrete action space")
        return int(self.action_space.n)

    def reset(self, key: jax.Array) -> VecEnvState:
        """Start `num_envs` fresh episodes."""
        keys = jax.random.split(key, self.num_envs)
        obs, env_state = jax.vmap(self.env.reset, in_axes=(0, None))(keys, self.params)
        zeros = jnp.zeros(self.num_envs)
        return VecEnvState(env_state, obs, zeros, jnp.zeros(self.num_envs, jnp.int32))

    def step(self, key: jax.Array, state: VecEnvState,
             action: jax.Array) -> tuple[VecEnvState, StepResult]:
        """Step every copy; copies whose episode ended start a new one."""
        keys = jax.random.split(key, self.num_envs)
        obs, env_state, reward, terminated, truncated, info = jax.vmap(
            self.env.step, in_axes=(0, 0, 0, None))(keys, state.env_state, action, self.params)
        reward = reward.astype(jnp.float32)
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        done = jnp.logical_or(terminated, truncated)
        result = StepResult(
            reward=reward,
            terminated=terminated,
            truncated=jnp.logical_and(truncated, jnp.logical_not(terminated)),
            next_obs=info["final_observation"],
            finished_return=jnp.where(done, episode_return, 0.0),
            finished_length=jnp.where(done, episode_length, 0),
        )
        next_state = VecEnvState(env_state, obs, jnp.where(done, 0.0, episode_return),
                                 jnp.where(done, 0, episode_length))
        return next_state, result


def make_vec_env(env_id: str, num_envs: int) -> GymnaxVecEnv:
    """A vectorised environment for `env_id`."""
    return GymnaxVecEnv(env_id, num_envs)

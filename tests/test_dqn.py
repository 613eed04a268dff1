"""DQN: CleanRL's TD target, epsilon schedule and update timing, and it learns CartPole-v1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from harness.algos.base import Agent, Transition
from harness.algos.dqn.agent import epsilon, make_agent, td_target
from harness.algos.dqn.config import DQNConfig
from harness.envs.spaces import EnvInfo
from tests.conftest import final_scores_of

CARTPOLE = EnvInfo((4,), "discrete", num_actions=2, max_episode_steps=500)


def _hp(config: DQNConfig) -> dict[str, jax.Array]:
    return {name: jnp.float32(value) for name, value in config.traced_values().items()}


def _transitions(key: jax.Array, env: EnvInfo, agent: Agent, terminated: bool = False,
                 done: bool = False) -> Transition:
    """Random `[rollout_steps, num_envs]` transitions."""
    shape = (agent.rollout_steps, agent.num_envs)
    obs_key, action_key, next_key = jax.random.split(key, 3)
    return Transition(
        obs=jax.random.normal(obs_key, (*shape, *env.observation_shape)),
        action=jax.random.randint(action_key, shape, 0, env.num_actions),
        reward=jnp.ones(shape), terminated=jnp.full(shape, terminated),
        done=jnp.full(shape, done),
        next_obs=jax.random.normal(next_key, (*shape, *env.observation_shape)), extras=None)


@functools.cache
def _jit_learn(agent: Agent) -> Callable:
    return jax.jit(agent.learn)


def _learn(agent: Agent, state: Any, config: DQNConfig, update_index: int,
           env: EnvInfo = CARTPOLE, **flags: bool) -> tuple[Any, dict[str, float]]:
    key = jax.random.PRNGKey(update_index)
    traj = _transitions(key, env, agent, **flags)
    state, metrics = _jit_learn(agent)(state, key, traj, _hp(config), jnp.int32(update_index))
    return state, {name: float(value) for name, value in metrics.items()}


def _same(a: Any, b: Any) -> bool:
    return all(jax.tree.leaves(jax.tree.map(lambda x, y: bool(jnp.array_equal(x, y)), a, b)))


def test_td_target_bootstraps_through_truncation_but_not_termination() -> None:
    """A truncated step (time limit) is not terminated, so it bootstraps like any other."""
    reward = jnp.array([1.0, 1.0, 1.0])
    next_q = jnp.array([[2.0, 3.0], [2.0, 3.0], [5.0, -1.0]])
    terminated = jnp.array([False, True, False])
    target = td_target(reward, terminated, next_q, jnp.float32(0.5))
    np.testing.assert_allclose(target, [1.0 + 0.5 * 3.0, 1.0, 1.0 + 0.5 * 5.0])


def test_replay_buffer_keeps_termination_not_episode_end() -> None:
    config = DQNConfig(learning_starts=1000)
    agent = make_agent(CARTPOLE, config, num_updates=100)
    state = agent.init(jax.random.PRNGKey(0), _hp(config))
    truncated, _ = _learn(agent, state, config, 0, terminated=False, done=True)
    terminated, _ = _learn(agent, state, config, 0, terminated=True, done=True)
    filled = slice(0, config.steps_per_update)
    assert not truncated.buffer.terminated[filled].any()
    assert terminated.buffer.terminated[filled].all()
    assert int(truncated.buffer.size) == config.steps_per_update


def test_epsilon_decays_linearly_over_the_exploration_fraction_then_stays_at_end_e() -> None:
    config = DQNConfig()
    duration = jnp.float32(config.exploration_fraction * 1000)
    values = [float(epsilon(jnp.float32(config.start_e), jnp.float32(config.end_e), duration,
                            jnp.int32(step))) for step in (0, 250, 500, 501, 999)]
    assert values == pytest.approx([1.0, 0.525, 0.05, 0.05, 0.05])


def test_act_is_greedy_at_epsilon_zero_and_uniform_at_epsilon_one() -> None:
    env = EnvInfo((4,), "discrete", num_actions=4)
    config = DQNConfig(num_envs=4000, train_frequency=1, buffer_size=4000)
    agent = make_agent(env, config, num_updates=10)
    hp = _hp(config)
    state = agent.init(jax.random.PRNGKey(0), hp)
    obs = jax.random.normal(jax.random.PRNGKey(1), (config.num_envs, 4))
    never = {**hp, "start_e": jnp.float32(0.0), "end_e": jnp.float32(0.0)}
    _, action, _ = agent.act(state, jax.random.PRNGKey(2), obs, never, jnp.int32(0))
    np.testing.assert_array_equal(action, agent.greedy(state, obs))
    _, action, _ = agent.act(state, jax.random.PRNGKey(2), obs, hp, jnp.int32(0))
    counts = np.bincount(np.asarray(action), minlength=4) / config.num_envs
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_no_gradient_step_until_global_step_passes_learning_starts() -> None:
    config = DQNConfig(learning_starts=100, target_network_frequency=50)
    agent = make_agent(CARTPOLE, config, num_updates=100)
    state = agent.init(jax.random.PRNGKey(0), _hp(config))
    for update_index in range(10):
        state, metrics = _learn(agent, state, config, update_index)
        assert np.isnan(metrics["losses/td_loss"]) and np.isnan(metrics["losses/q_values"])
    fresh = agent.init(jax.random.PRNGKey(0), _hp(config))
    assert _same(state.params, fresh.params) and _same(state.target_params, fresh.params)
    assert int(state.buffer.size) == 100
    state, metrics = _learn(agent, state, config, 10)
    assert np.isfinite(metrics["losses/td_loss"]) and np.isfinite(metrics["losses/q_values"])
    assert not _same(state.params, fresh.params)


def test_target_network_copied_when_a_multiple_of_its_frequency_is_reached() -> None:
    config = DQNConfig(learning_starts=100, target_network_frequency=50)
    agent = make_agent(CARTPOLE, config, num_updates=100)
    state = agent.init(jax.random.PRNGKey(0), _hp(config))
    initial = state.params
    for update_index in range(14):
        state, _ = _learn(agent, state, config, update_index)
    assert _same(state.target_params, initial), "step 100 is not past learning_starts"
    assert not _same(state.params, initial)
    state, _ = _learn(agent, state, config, 14)
    assert _same(state.target_params, state.params), "step 150 copies the Q-network"
    state, _ = _learn(agent, state, config, 15)
    assert not _same(state.target_params, state.params)


def test_image_observations_are_flattened_and_bool_observations_accepted() -> None:
    env = EnvInfo((10, 10, 4), "discrete", num_actions=6)
    config = DQNConfig(learning_starts=0, buffer_size=200, batch_size=32)
    agent = make_agent(env, config, num_updates=10)
    state = agent.init(jax.random.PRNGKey(0), _hp(config))
    obs = jax.random.bernoulli(jax.random.PRNGKey(1), 0.2, (config.num_envs, 10, 10, 4))
    _, action, _ = agent.act(state, jax.random.PRNGKey(2), obs, _hp(config), jnp.int32(0))
    assert action.shape == (1,) and 0 <= int(action[0]) < 6
    _, metrics = _learn(agent, state, config, 0, env=env)
    assert np.isfinite(metrics["losses/td_loss"])


def test_config_rejects_a_batch_larger_than_the_buffer() -> None:
    with pytest.raises(pydantic.ValidationError, match="batch_size 512 exceeds buffer_size 256"):
        DQNConfig(batch_size=512, buffer_size=256)


def test_config_rejects_an_update_larger_than_the_buffer() -> None:
    with pytest.raises(pydantic.ValidationError, match="= 400 transitions, more than "
                                                       "buffer_size 200"):
        DQNConfig(num_envs=4, train_frequency=100, buffer_size=200, batch_size=32)


@pytest.mark.slow
def test_dqn_cartpole_60k_mean_final_return_of_two_seeds_above_150(tmp_path: Path) -> None:
    """Random play scores about 22; learning starts and exploration are shortened."""
    finals = final_scores_of(tmp_path, """
        name: learn-dqn
        algorithms:
          - algo: dqn
            hyperparameters: {learning_starts: 1000, exploration_fraction: 0.2}
        environments: [CartPole-v1]
        seeds: 2
        total_timesteps: 60000
        """, "last_fraction:0.1")
    assert len(finals) == 2
    assert finals["score"].mean() > 150, finals

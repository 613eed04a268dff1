"""SAC: soft targets, squashed log-densities, Polyak averaging, bounds, schedule, learning."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pydantic import ValidationError

from harness.algos.base import Agent, Transition
from harness.algos.sac.agent import (
    SACState,
    make_agent,
    soft_q_target,
    squashed_gaussian_log_prob,
    squashed_gaussian_sample,
)
from harness.algos.sac.config import SACConfig
from harness.algos.targets import polyak
from harness.envs.spaces import EnvInfo
from tests.conftest import final_scores_of

BOX = EnvInfo((3,), "continuous", action_shape=(2,),
              action_low=np.array([-1.0, 0.0], np.float32),
              action_high=np.array([3.0, 0.5], np.float32))
"""An asymmetric two-dimensional action box."""
SMALL = SACConfig(learning_starts=4, batch_size=8, hidden_sizes=(16, 16))


@pytest.fixture(scope="module")
def agent() -> Agent:
    """SAC for BOX with SMALL's settings, `act` and `learn` compiled once for the module."""
    built = make_agent(BOX, SMALL, num_updates=10)
    return built._replace(act=jax.jit(built.act), learn=jax.jit(built.learn))


@pytest.fixture(scope="module")
def warm(agent: Agent) -> SACState:
    """The state after `learning_starts + 1` updates, none of which took a gradient step."""
    state = agent.init(jax.random.PRNGKey(0), _hp(SMALL))
    for step in range(SMALL.learning_starts + 1):
        state, _ = _learn(agent, state, step)
    return state


def _hp(config: SACConfig) -> dict[str, jax.Array]:
    return {name: jnp.float32(value) for name, value in config.traced_values().items()}


def _transition(agent: Agent, state: SACState, step: int, *, terminated: bool = False,
                done: bool = False) -> Transition:
    """One step `[1, envs, ...]` taken with the agent's exploring action."""
    obs = jax.random.normal(jax.random.PRNGKey(100 + step), (agent.num_envs, 3))
    _, action, extras = agent.act(state, jax.random.PRNGKey(step), obs, _hp(SMALL),
                                  jnp.int32(step))
    flags = jnp.ones((1, agent.num_envs), bool)
    return Transition(obs[None], action[None], jnp.ones((1, agent.num_envs)),
                      flags & terminated, flags & done, obs[None] + 0.1, extras)


def _learn(agent: Agent, state: SACState, step: int, **flags: bool) -> tuple[SACState, dict]:
    traj = _transition(agent, state, step, **flags)
    return agent.learn(state, jax.random.PRNGKey(1000 + step), traj, _hp(SMALL),
                       jnp.int32(step))


def _changed(before: object, after: object) -> bool:
    return any(not np.array_equal(a, b) for a, b in
               zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True))


def test_soft_q_target_bootstraps_through_truncation_but_not_termination() -> None:
    # Mid-episode, the last step of a truncated episode, the last step of a terminated one.
    reward = jnp.array([1.0, 1.0, 1.0])
    terminated = jnp.array([False, False, True])
    next_q1, next_q2 = jnp.array([5.0, 5.0, 5.0]), jnp.array([4.0, 6.0, 4.0])
    next_log_prob = jnp.array([-1.0, -1.0, -1.0])
    target = soft_q_target(reward, terminated, next_q1, next_q2, next_log_prob,
                           alpha=jnp.float32(0.5), gamma=jnp.float32(0.9))
    soft_value = np.array([4.0, 5.0, 4.0]) + 0.5
    np.testing.assert_allclose(target, [1.0 + 0.9 * soft_value[0], 1.0 + 0.9 * soft_value[1],
                                        1.0], rtol=1e-6)


def test_learn_stores_termination_not_episode_end_in_the_replay_buffer(agent: Agent) -> None:
    state = agent.init(jax.random.PRNGKey(0), _hp(SMALL))
    state, _ = _learn(agent, state, 0, terminated=False, done=True)
    state, _ = _learn(agent, state, 1, terminated=True, done=True)
    assert int(state.buffer.size) == 2
    assert state.buffer.terminated[:2].tolist() == [False, True]


def test_squashed_log_prob_matches_the_histogram_of_sampled_actions() -> None:
    mean, log_std = jnp.full((1, 1), 0.3), jnp.full((1, 1), np.log(0.8))
    scale, bias = jnp.array([2.0]), jnp.array([0.5])
    keys = jax.random.split(jax.random.PRNGKey(0), 400_000)
    actions, _ = jax.vmap(lambda k: squashed_gaussian_sample(k, mean, log_std, scale, bias))(keys)
    edges = np.linspace(-1.5, 2.5, 41)
    observed = np.histogram(np.asarray(actions).ravel(), edges)[0] / len(keys)
    grid = np.linspace(-1.5 + 1e-4, 2.5 - 1e-4, 40_001)
    pre_tanh = jnp.arctanh((jnp.asarray(grid) - bias) / scale)[:, None]
    density = np.exp(squashed_gaussian_log_prob(mean, log_std, pre_tanh, scale))
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-3)
    inside = [(grid >= lo) & (grid <= hi) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    expected = [np.trapezoid(density[bin_], grid[bin_]) for bin_ in inside]
    np.testing.assert_allclose(observed, expected, atol=2e-3)


def test_squashed_log_prob_of_independent_dimensions_is_their_sum() -> None:
    mean, log_std = jnp.array([[0.1, -0.4]]), jnp.array([[-0.5, 0.2]])
    pre_tanh, scale = jnp.array([[0.7, -1.2]]), jnp.array([2.0, 0.25])
    both = squashed_gaussian_log_prob(mean, log_std, pre_tanh, scale)
    each = [squashed_gaussian_log_prob(mean[:, i:i + 1], log_std[:, i:i + 1],
                                       pre_tanh[:, i:i + 1], scale[i:i + 1]) for i in range(2)]
    np.testing.assert_allclose(both, each[0] + each[1], rtol=1e-6, atol=1e-6)


def test_polyak_moves_targets_tau_of_the_way_to_the_parameters() -> None:
    params = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(10.0)}
    target = {"w": jnp.array([0.0, 0.0]), "b": jnp.array(0.0)}
    moved = polyak(params, target, jnp.float32(0.25))
    np.testing.assert_allclose(moved["w"], [0.25, 0.5])
    np.testing.assert_allclose(moved["b"], 2.5)
    assert not _changed(polyak(params, target, jnp.float32(1.0)), params)
    assert not _changed(polyak(params, target, jnp.float32(0.0)), target)


@pytest.mark.parametrize("global_step", [0, 100], ids=["random", "policy"])
def test_exploring_and_greedy_actions_stay_within_asymmetric_bounds(agent: Agent,
                                                                   global_step: int) -> None:
    state = agent.init(jax.random.PRNGKey(0), _hp(SMALL))
    obs = 300.0 * jax.random.normal(jax.random.PRNGKey(1), (4096, 3))
    _, action, _ = agent.act(state, jax.random.PRNGKey(2), obs, _hp(SMALL),
                             jnp.int32(global_step))
    for chosen in (action, agent.greedy(state, obs)):
        assert chosen.shape == (4096, 2)
        assert (chosen >= BOX.action_low).all() and (chosen <= BOX.action_high).all()


def test_actions_are_uniform_over_the_box_before_learning_starts(agent: Agent) -> None:
    state = agent.init(jax.random.PRNGKey(0), _hp(SMALL))
    obs = jnp.zeros((20_000, 3))
    _, action, _ = agent.act(state, jax.random.PRNGKey(2), obs, _hp(SMALL), jnp.int32(3))
    np.testing.assert_allclose(action.mean(axis=0), [1.0, 0.25], atol=0.03)
    np.testing.assert_allclose(action.var(axis=0), [16 / 12, 0.25 / 12], rtol=0.05)


def test_no_gradient_step_until_global_step_exceeds_learning_starts(agent: Agent) -> None:
    state = agent.init(jax.random.PRNGKey(0), _hp(SMALL))
    learned = state
    for step in range(SMALL.learning_starts + 1):
        learned, metrics = _learn(agent, learned, step)
        assert all(np.isnan(value) for value in metrics.values()), metrics
    assert int(learned.buffer.size) == SMALL.learning_starts + 1
    assert not _changed(state._replace(buffer=None), learned._replace(buffer=None))


def test_critics_train_every_update_and_the_actor_every_policy_frequency(
        agent: Agent, warm: SACState) -> None:
    odd, metrics = _learn(agent, warm, 5)
    assert _changed(warm.q_params, odd.q_params)
    assert _changed(warm.target_q_params, odd.target_q_params)
    assert not _changed(warm.actor_params, odd.actor_params)
    assert np.isfinite(metrics["losses/qf_loss"]) and np.isnan(metrics["losses/actor_loss"])
    even, metrics = _learn(agent, odd, 6)
    assert _changed(odd.actor_params, even.actor_params)
    assert _changed(odd.log_alpha, even.log_alpha)
    assert all(np.isfinite(value) for value in metrics.values()), metrics


def test_batch_larger_than_the_buffer_is_rejected_with_both_numbers() -> None:
    with pytest.raises(ValidationError, match="batch_size 512 exceeds buffer_size 100"):
        SACConfig(batch_size=512, buffer_size=100)


@pytest.mark.slow
def test_sac_pendulum_10k_mean_final_return_of_two_seeds_above_minus_400(
        tmp_path: Path) -> None:
    finals = final_scores_of(tmp_path, """
        name: learn
        algorithms:
          - algo: sac_continuous_action
            hyperparameters: {learning_starts: 1000, hidden_sizes: [64, 64], batch_size: 128}
        environments: [Pendulum-v1]
        seeds: 2
        total_timesteps: 10000
        """, "last_fraction:0.1")
    assert len(finals) == 2
    assert finals["score"].mean() > -400, finals

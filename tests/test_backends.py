"""gymnax and Gymnasium backends report episodes with the same meaning."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.envs.gymnasium_backend import GymnasiumVecEnv
from harness.envs.gymnax_backend import GymnaxVecEnv

Policy = Callable[[np.ndarray], np.ndarray]


def balance(obs: np.ndarray) -> np.ndarray:
    """Push toward the side the pole falls to: keeps CartPole up until the time limit."""
    return (obs[..., 2] + 0.5 * obs[..., 3] > 0).astype(np.int32)


def push_left(obs: np.ndarray) -> np.ndarray:
    """Always push left: the pole falls within a dozen steps."""
    return np.zeros(obs.shape[:-1], np.int32)


def gymnax_episode(policy: Policy, start: np.ndarray) -> tuple[float, int]:
    """Return and length of one CartPole episode from `start` on the gymnax backend."""
    env = GymnaxVecEnv("CartPole-v1", 1)
    state = env.reset(jax.random.PRNGKey(0))
    x, x_dot, theta, theta_dot = (jnp.asarray([v], jnp.float32) for v in start)
    env_state = state.env_state.replace(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)
    state = state._replace(env_state=env_state, obs=jnp.asarray(start[None], jnp.float32))
    step = jax.jit(env.step)
    for t in range(1000):
        state, out = step(jax.random.PRNGKey(t), state, jnp.asarray(policy(np.asarray(state.obs))))
        if bool(out.done[0]):
            return float(out.finished.returns[0]), int(out.finished.lengths[0])
    raise AssertionError("no episode ended")


def gymnasium_episode(policy: Policy, start: np.ndarray) -> tuple[float, int]:
    """Return and length of one CartPole episode from `start` on the Gymnasium backend."""
    env = GymnasiumVecEnv("CartPole-v1", runs=1, copies=1)
    env.reset([[0]])
    env.env.envs[0].unwrapped.state = start.astype(np.float64)
    obs = start[None, None].astype(np.float32)
    for _ in range(1000):
        out = env.step(policy(obs))
        if out.done[0, 0]:
            env.close()
            return float(out.finished.returns[0, 0]), int(out.finished.lengths[0, 0])
        obs = out.obs
    raise AssertionError("no episode ended")


@pytest.mark.parametrize("policy", [balance, push_left])
def test_scripted_policy_gets_the_same_episode_return_on_both_backends(policy: Policy) -> None:
    starts = np.random.default_rng(0).uniform(-0.05, 0.05, size=(5, 4)).astype(np.float32)
    for start in starts:
        assert gymnax_episode(policy, start) == gymnasium_episode(policy, start)


def test_truncated_episode_counts_its_whole_return_on_both_backends() -> None:
    start = np.array([0.01, 0.0, 0.02, 0.0], np.float32)
    assert gymnax_episode(balance, start) == (500.0, 500)
    assert gymnasium_episode(balance, start) == (500.0, 500)


def test_gymnasium_backend_reports_final_observation_and_fresh_start_at_episode_end() -> None:
    env = GymnasiumVecEnv("CartPole-v1", runs=2, copies=3)
    obs = env.reset([[1, 2, 3], [4, 5, 6]])
    for _ in range(200):
        out = env.step(push_left(obs))
        if out.done.any():
            ended = out.done
            assert (np.abs(out.next_obs[ended][:, 2]) > 0.2).all(), "final obs: pole has fallen"
            assert (np.abs(out.obs[ended]) <= 0.05).all(), "next obs: a fresh episode"
            np.testing.assert_array_equal(out.obs[~ended], out.next_obs[~ended])
            break
        obs = out.obs
    else:
        raise AssertionError("no episode ended")
    env.close()

"""GAE: the jitted scan matches a plain loop; truncation bootstraps, termination does not."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from harness.algos.returns import gae


def reference_gae(rewards, values, next_values, terminated, done, gamma, lam):
    """A direct loop over time, one environment column at a time."""
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for env in range(envs):
        running = 0.0
        for t in reversed(range(steps)):
            bootstrap = 0.0 if terminated[t, env] else gamma * next_values[t, env]
            delta = rewards[t, env] + bootstrap - values[t, env]
            running = delta + (0.0 if done[t, env] else gamma * lam * running)
            advantages[t, env] = running
    return advantages, advantages + values


def test_gae_matches_reference_loop() -> None:
    rng = np.random.default_rng(0)
    steps, envs = 37, 5
    rewards = rng.normal(size=(steps, envs))
    values = rng.normal(size=(steps, envs))
    next_values = rng.normal(size=(steps, envs))
    terminated = rng.random((steps, envs)) < 0.1
    truncated = (rng.random((steps, envs)) < 0.1) & ~terminated
    done = terminated | truncated
    got = gae(jnp.asarray(rewards, jnp.float32), jnp.asarray(values, jnp.float32),
              jnp.asarray(next_values, jnp.float32), jnp.asarray(terminated),
              jnp.asarray(done), 0.97, 0.9)
    want = reference_gae(rewards, values, next_values, terminated, done, 0.97, 0.9)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4, atol=1e-4)


def _single_step(terminated: bool, truncated: bool) -> float:
    advantage, _ = gae(jnp.array([[1.0]]), jnp.array([[0.0]]), jnp.array([[10.0]]),
                       jnp.array([[terminated]]), jnp.array([[terminated or truncated]]),
                       0.9, 0.95)
    return float(advantage[0, 0])


def test_truncation_bootstraps_from_final_observation_value() -> None:
    assert _single_step(terminated=False, truncated=True) == 1.0 + 0.9 * 10.0


def test_termination_does_not_bootstrap() -> None:
    assert _single_step(terminated=True, truncated=False) == 1.0


def test_episode_end_stops_the_trace() -> None:
    rewards = jnp.array([[0.0], [5.0]])
    values = jnp.zeros((2, 1))
    next_values = jnp.zeros((2, 1))
    done = jnp.array([[True], [False]])
    advantage, _ = gae(rewards, values, next_values, jnp.zeros((2, 1), bool), done, 0.9, 1.0)
    assert float(advantage[0, 0]) == 0.0, "step 0 ended an episode: step 1's reward is not its"
    assert float(advantage[1, 0]) == 5.0

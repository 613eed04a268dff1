"""Each loss, target and update against a plain numpy transcription of CleanRL's formula.

The references transcribe `cleanrl/ppo.py`, `dqn.py`, `sac_continuous_action.py`, Gymnasium's
`NormalizeReward` / `RunningMeanStd` and PyTorch's `nn.Linear.reset_parameters`; GAE is checked
against a reference loop in `tests/test_returns.py`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos.dqn.agent import td_loss, td_target
from harness.algos.networks import relu_mlp
from harness.algos.normalization import rms_init, scaled_rewards
from harness.algos.ppo.losses import (
    clipped_surrogate_loss,
    kl_estimates,
    normalize_advantages,
    total_loss,
    value_loss,
)
from harness.algos.sac.agent import Actor, actor_loss, alpha_loss, critic_loss, soft_q_target
from harness.algos.targets import polyak

RNG = np.random.default_rng(0)
N = 64
CLIP_COEF = 0.2


def _f32(x: np.ndarray) -> jax.Array:
    return jnp.asarray(x, jnp.float32)


def _close(got: jax.Array, want: np.ndarray | float) -> None:
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


# PPO (cleanrl/ppo.py, the minibatch loss)

def test_advantage_normalisation_uses_the_unbiased_std_plus_1e_8() -> None:
    adv = RNG.normal(2.0, 3.0, N)
    _close(normalize_advantages(_f32(adv)), (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8))


def test_policy_loss_is_the_max_of_the_negated_unclipped_and_clipped_surrogates() -> None:
    ratio, adv = np.exp(RNG.normal(0.0, 0.3, N)), RNG.normal(size=N)
    pg_loss1 = -adv * ratio
    pg_loss2 = -adv * np.clip(ratio, 1 - CLIP_COEF, 1 + CLIP_COEF)
    assert (np.abs(ratio - 1) > CLIP_COEF).any(), "some ratios must be clipped"
    _close(clipped_surrogate_loss(_f32(ratio), _f32(adv), CLIP_COEF),
           np.maximum(pg_loss1, pg_loss2).mean())


def test_clipped_value_loss_is_half_the_max_of_both_squared_errors() -> None:
    new, old, returns = RNG.normal(size=N), RNG.normal(size=N), RNG.normal(size=N)
    v_clipped = old + np.clip(new - old, -CLIP_COEF, CLIP_COEF)
    want = 0.5 * np.maximum((new - returns) ** 2, (v_clipped - returns) ** 2).mean()
    _close(value_loss(_f32(new), _f32(old), _f32(returns), CLIP_COEF, True), want)


def test_unclipped_value_loss_is_half_the_mean_squared_error() -> None:
    new, old, returns = RNG.normal(size=N), RNG.normal(size=N), RNG.normal(size=N)
    _close(value_loss(_f32(new), _f32(old), _f32(returns), CLIP_COEF, False),
           0.5 * ((new - returns) ** 2).mean())


def test_total_loss_subtracts_the_entropy_bonus_and_adds_the_weighted_value_loss() -> None:
    pg_loss, v_loss, entropy = 0.3, 1.7, 0.9
    _close(total_loss(_f32(pg_loss), _f32(v_loss), _f32(entropy), 0.01, 0.5),
           pg_loss - 0.01 * entropy + v_loss * 0.5)


def test_kl_estimates_are_the_mean_negative_log_ratio_and_the_k3_estimator() -> None:
    log_ratio = RNG.normal(0.0, 0.2, N)
    old_approx_kl, approx_kl = kl_estimates(_f32(log_ratio))
    _close(old_approx_kl, (-log_ratio).mean())
    _close(approx_kl, ((np.exp(log_ratio) - 1) - log_ratio).mean())


# Reward normalisation (Gymnasium 1.x NormalizeReward, one wrapper per environment copy)

def gymnasium_normalize_reward(rewards: np.ndarray, terminated: np.ndarray,
                               gamma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(normalised rewards, final return, final var)`, one wrapper per column, float64."""
    steps, envs = rewards.shape
    out, final_return, final_var = np.zeros_like(rewards), np.zeros(envs), np.zeros(envs)
    for env in range(envs):
        mean, var, count = 0.0, 1.0, 1e-4  # RunningMeanStd(epsilon=1e-4, shape=())
        discounted_reward = 0.0
        for t in range(steps):
            discounted_reward = discounted_reward * gamma * (1 - terminated[t, env]) \
                + rewards[t, env]
            batch_mean, batch_var, batch_count = discounted_reward, 0.0, 1
            delta, total = batch_mean - mean, count + batch_count
            m_a, m_b = var * count, batch_var * batch_count
            mean = mean + delta * batch_count / total
            var = (m_a + m_b + delta**2 * count * batch_count / total) / total
            count = total
            normalised = rewards[t, env] / np.sqrt(var + 1e-8)
            out[t, env] = np.clip(normalised, -10, 10)  # CleanRL's TransformReward
        final_return[env], final_var[env] = discounted_reward, var
    return out, final_return, final_var


def test_reward_scaling_matches_gymnasium_through_a_truncation_and_a_termination() -> None:
    steps, gamma = 12, 0.9
    rewards = RNG.normal(1.0, 2.0, (steps, 2))
    rewards[:, 1] *= 5.0  # a second copy on another scale: its statistics are its own
    terminated = np.zeros((steps, 2), bool)
    terminated[7, 0] = True  # env 0 terminates at step 7; a truncation elsewhere is not seen
    terminated[3, 1] = True
    want, want_return, want_var = gymnasium_normalize_reward(rewards, terminated, gamma)
    rms, discounted, got = scaled_rewards(rms_init((2,)), jnp.zeros(2), _f32(rewards),
                                          jnp.asarray(terminated), jnp.float32(gamma))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(discounted, want_return, rtol=1e-5)
    np.testing.assert_allclose(rms.var, want_var, rtol=1e-4)


def test_truncation_does_not_reset_the_running_return_and_termination_drops_it_first() -> None:
    rewards = _f32(np.ones((3, 1)))
    keep = scaled_rewards(rms_init((1,)), jnp.zeros(1), rewards, jnp.zeros((3, 1), bool), 0.5)
    ends = scaled_rewards(rms_init((1,)), jnp.zeros(1), rewards,
                          jnp.array([[False], [False], [True]]), 0.5)
    _close(keep[1], [1.0 + 0.5 + 0.25])  # a truncated episode's return flows on
    _close(ends[1], [1.0])  # the terminal step's reward starts the next return


# DQN (cleanrl/dqn.py)

def test_dqn_target_and_loss_are_cleanrl_mse_with_done_masking() -> None:
    reward, done = RNG.normal(size=N), RNG.random(N) < 0.3
    next_q, q_taken = RNG.normal(size=(N, 3)), RNG.normal(size=N)
    want_target = reward + 0.99 * next_q.max(axis=1) * (1 - done)
    target = td_target(_f32(reward), jnp.asarray(done), _f32(next_q), jnp.float32(0.99))
    _close(target, want_target)
    _close(td_loss(_f32(q_taken), target), ((want_target - q_taken) ** 2).mean())


# SAC (cleanrl/sac_continuous_action.py)

def test_sac_critic_target_is_the_soft_min_of_the_target_critics_masked_by_done() -> None:
    reward, done, alpha = RNG.normal(size=N), RNG.random(N) < 0.3, 0.2
    q1, q2, log_pi = RNG.normal(size=N), RNG.normal(size=N), RNG.normal(size=N)
    min_qf_next_target = np.minimum(q1, q2) - alpha * log_pi
    want = reward + (1 - done) * 0.99 * min_qf_next_target
    _close(soft_q_target(_f32(reward), jnp.asarray(done), _f32(q1), _f32(q2), _f32(log_pi),
                         jnp.float32(alpha), jnp.float32(0.99)), want)


def test_sac_minimises_the_sum_of_both_critic_losses_and_logs_half_of_it() -> None:
    q1, q2, target = RNG.normal(size=N), RNG.normal(size=N), RNG.normal(size=N)
    qf1_loss, qf2_loss = ((q1 - target) ** 2).mean(), ((q2 - target) ** 2).mean()
    minimised, logged = critic_loss(_f32(q1), _f32(q2), _f32(target))
    _close(minimised, qf1_loss + qf2_loss)
    _close(logged["losses/qf_loss"], (qf1_loss + qf2_loss) / 2.0)
    _close(logged["losses/qf1_loss"], qf1_loss)
    _close(logged["losses/qf2_loss"], qf2_loss)
    _close(logged["losses/qf1_values"], q1.mean())


def test_sac_actor_loss_is_alpha_log_pi_minus_the_min_critic() -> None:
    log_pi, q1, q2 = RNG.normal(size=N), RNG.normal(size=N), RNG.normal(size=N)
    _close(actor_loss(_f32(log_pi), _f32(q1), _f32(q2), jnp.float32(0.2)),
           (0.2 * log_pi - np.minimum(q1, q2)).mean())


def test_sac_alpha_loss_is_minus_alpha_times_log_pi_plus_target_entropy() -> None:
    log_pi, log_alpha, target_entropy = RNG.normal(size=N), -0.7, -3.0
    _close(alpha_loss(jnp.float32(log_alpha), _f32(log_pi), target_entropy),
           (-np.exp(log_alpha) * (log_pi + target_entropy)).mean())


# Initialisation (torch.nn.Linear.reset_parameters) and target updates

def _dense_layers(params: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every `(kernel, bias)` pair of a flax parameter tree."""
    if "kernel" in params:
        return [(np.asarray(params["kernel"]), np.asarray(params["bias"]))]
    return [pair for child in params.values() for pair in _dense_layers(child)]


def test_dqn_and_sac_layers_are_uniform_within_one_over_sqrt_fan_in_like_torch() -> None:
    obs = jnp.zeros((1, 400))
    q_layers = _dense_layers(relu_mlp((300, 200), 3).init(jax.random.PRNGKey(0), obs)["params"])
    actor_layers = _dense_layers(Actor((256, 256), 2).init(jax.random.PRNGKey(1), obs)["params"])
    assert len(q_layers) == 3 and len(actor_layers) == 4, "the SAC heads are included"
    for kernel, bias in q_layers + actor_layers:
        bound = 1.0 / math.sqrt(kernel.shape[0])
        for values in (kernel, bias):
            assert np.abs(values).max() <= bound
            assert np.abs(values).max() > 0.8 * bound, "fills the interval, not a narrower one"
    kernel, bias = q_layers[0]
    bound = 1.0 / math.sqrt(400)
    np.testing.assert_allclose(kernel.std(), bound / math.sqrt(3), rtol=0.02)
    np.testing.assert_allclose(bias.std(), bound / math.sqrt(3), rtol=0.2)
    assert abs(kernel.mean()) < 0.01 * bound


def test_polyak_with_tau_one_copies_the_online_parameters_bit_for_bit() -> None:
    params = {"w": _f32(RNG.normal(size=(5, 7))), "b": _f32(RNG.normal(size=7))}
    target = {"w": _f32(RNG.normal(size=(5, 7))), "b": _f32(RNG.normal(size=7))}
    copied = jax.jit(polyak)(params, target, jnp.float32(1.0))
    assert all(np.array_equal(copied[k], params[k]) for k in params)
    soft = polyak(params, target, jnp.float32(0.005))
    _close(soft["w"], 0.005 * np.asarray(params["w"]) + (1 - 0.005) * np.asarray(target["w"]))

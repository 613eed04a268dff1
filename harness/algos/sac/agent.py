"""SAC (CleanRL's `sac_continuous_action.py`): networks, soft targets, losses and the update."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from harness.algos.base import Agent, Hyper, Metrics, Transition
from harness.algos.distributions import gaussian_log_prob, gaussian_sample
from harness.algos.networks import relu_mlp, torch_linear_init
from harness.algos.replay import ReplayBuffer, ReplaySample, replay_add, replay_init, replay_sample
from harness.algos.sac.config import SACConfig
from harness.algos.targets import polyak
from harness.envs.spaces import EnvInfo

LOG_STD_MIN = -5.0
LOG_STD_MAX = 2.0
SQUASH_EPS = 1e-6
"""Added inside the log of the tanh correction, as CleanRL does, to keep it finite at ±1."""
ADAM = optax.scale_by_adam()
"""Adam's scaling with PyTorch's defaults (eps 1e-8); the learning rate is applied separately."""
METRIC_NAMES = ("losses/qf1_values", "losses/qf2_values", "losses/qf1_loss", "losses/qf2_loss",
                "losses/qf_loss", "losses/actor_loss", "losses/alpha", "losses/alpha_loss")


class TwinSoftQ(nn.Module):
    """Two independent soft Q networks of `concat(obs, action)`."""

    hidden_sizes: Sequence[int]

    @nn.compact
    def __call__(self, obs: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(q1, q2)`, each `[batch]`."""
        flat = [x.reshape((x.shape[0], -1)).astype(jnp.float32) for x in (obs, action)]
        x = jnp.concatenate(flat, axis=-1)
        return (relu_mlp(self.hidden_sizes, 1)(x)[:, 0], relu_mlp(self.hidden_sizes, 1)(x)[:, 0])


class Actor(nn.Module):
    """A Gaussian policy before squashing: state-dependent mean and bounded log-std."""

    hidden_sizes: Sequence[int]
    action_dim: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(mean, log_std)`, each `[batch, action_dim]`."""
        x = relu_mlp(self.hidden_sizes)(obs)
        head = torch_linear_init(x.shape[-1])
        return (nn.Dense(self.action_dim, **head)(x),
                bounded_log_std(nn.Dense(self.action_dim, **head)(x)))


class SACState(NamedTuple):
    """One run's learner: actor, twin critics and their targets, entropy coefficient, replay."""

    actor_params: Any
    q_params: Any
    target_q_params: Any
    actor_opt_state: optax.OptState
    q_opt_state: optax.OptState
    log_alpha: jax.Array
    alpha_opt_state: optax.OptState
    buffer: ReplayBuffer


def bounded_log_std(raw: jax.Array) -> jax.Array:
    """Squash a raw head output into [LOG_STD_MIN, LOG_STD_MAX] with tanh."""
    return LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (jnp.tanh(raw) + 1.0)


def squash(pre_tanh: jax.Array, scale: jax.Array, bias: jax.Array) -> jax.Array:
    """Map unbounded Gaussian samples into the action box: `tanh(x) * scale + bias`."""
    return jnp.tanh(pre_tanh) * scale + bias


def squashed_gaussian_log_prob(mean: jax.Array, log_std: jax.Array, pre_tanh: jax.Array,
                               scale: jax.Array) -> jax.Array:
    """Log-density of `squash(pre_tanh)` by change of variables, summed over dimensions."""
    correction = jnp.log(scale * (1.0 - jnp.tanh(pre_tanh) ** 2) + SQUASH_EPS)
    return gaussian_log_prob(mean, log_std, pre_tanh) - jnp.sum(correction, axis=-1)


def squashed_gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array,
                             scale: jax.Array, bias: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`(action, log_prob)`: a reparameterised sample in the action box and its log-density."""
    pre_tanh = gaussian_sample(key, mean, log_std)
    return (squash(pre_tanh, scale, bias),
            squashed_gaussian_log_prob(mean, log_std, pre_tanh, scale))


def soft_q_target(reward: jax.Array, terminated: jax.Array, next_q1: jax.Array,
                  next_q2: jax.Array, next_log_prob: jax.Array, alpha: jax.Array,
                  gamma: jax.Array) -> jax.Array:
    """`r + (1 - terminated) * gamma * (min(Q1', Q2') - alpha * log pi(a'|s'))`.

    Only real termination stops bootstrapping: a truncated episode's last step bootstraps.
    """
    soft_value = jnp.minimum(next_q1, next_q2) - alpha * next_log_prob
    return reward + (1.0 - terminated.astype(jnp.float32)) * gamma * soft_value


def critic_loss(q1: jax.Array, q2: jax.Array, target: jax.Array) -> tuple[jax.Array, Metrics]:
    """`qf1_loss + qf2_loss` (what is minimised) and CleanRL's metrics, `qf_loss` halved."""
    qf1_loss, qf2_loss = ((q1 - target) ** 2).mean(), ((q2 - target) ** 2).mean()
    return qf1_loss + qf2_loss, {
        "losses/qf1_values": q1.mean(), "losses/qf2_values": q2.mean(),
        "losses/qf1_loss": qf1_loss, "losses/qf2_loss": qf2_loss,
        "losses/qf_loss": (qf1_loss + qf2_loss) / 2.0}


def actor_loss(log_prob: jax.Array, q1: jax.Array, q2: jax.Array, alpha: jax.Array) -> jax.Array:
    """`(alpha * log pi - min(Q1, Q2)).mean()`."""
    return (alpha * log_prob - jnp.minimum(q1, q2)).mean()


def alpha_loss(log_alpha: jax.Array, log_prob: jax.Array, target_entropy: float) -> jax.Array:
    """`(-exp(log_alpha) * (log pi + target_entropy)).mean()`."""
    return (-jnp.exp(log_alpha) * (log_prob + target_entropy)).mean()


def adam_step(grads: Any, opt_state: optax.OptState, params: Any,
              learning_rate: jax.Array) -> tuple[Any, optax.OptState]:
    """One Adam step (PyTorch's defaults) with a possibly traced learning rate."""
    updates, opt_state = ADAM.update(grads, opt_state, params)
    params = optax.apply_updates(params, jax.tree.map(lambda u: -learning_rate * u, updates))
    return params, opt_state


def _nan_metrics() -> Metrics:
    """Every SAC metric, not computed."""
    return {name: jnp.asarray(jnp.nan, jnp.float32) for name in METRIC_NAMES}


def _action_bounds(env: EnvInfo) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """`(low, high, scale, bias)` flattened to `[action_dim]`; the box must be finite."""
    low = np.asarray(env.action_low, np.float32).reshape(-1)
    high = np.asarray(env.action_high, np.float32).reshape(-1)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError(f"SAC needs a bounded action space, got low {low} and high {high}")
    return (jnp.asarray(low), jnp.asarray(high), jnp.asarray((high - low) / 2.0),
            jnp.asarray((high + low) / 2.0))


def make_agent(env: EnvInfo, config: SACConfig, num_updates: int) -> Agent:
    """Build SAC's `init`, `act`, `learn` and `greedy` for one run."""
    if env.discrete:
        raise ValueError("SAC (sac_continuous_action) needs a continuous action space")
    action_dim = math.prod(env.action_shape)
    low, high, scale, bias = _action_bounds(env)
    actor = Actor(tuple(config.hidden_sizes), action_dim)
    critic = TwinSoftQ(tuple(config.hidden_sizes))
    envs = config.num_envs
    target_entropy = -float(action_dim)
    # A buffer larger than the whole run would never fill: cap it at the run's transitions.
    capacity = max(min(config.buffer_size, num_updates * envs), envs)

    def shaped(flat_actions: jax.Array) -> jax.Array:
        return flat_actions.reshape(flat_actions.shape[0], *env.action_shape)

    def entropy_coefficient(state: SACState, hp: Hyper) -> jax.Array:
        return jnp.exp(state.log_alpha) if config.autotune else hp["alpha"]

    def init(key: jax.Array, hp: Hyper) -> SACState:
        actor_key, q_key = jax.random.split(key)
        obs = jnp.zeros((1, *env.observation_shape), jnp.float32)
        action = jnp.zeros((1, *env.action_shape), jnp.float32)
        actor_params = actor.init(actor_key, obs)
        q_params = critic.init(q_key, obs, action)
        log_alpha = jnp.zeros((), jnp.float32)
        return SACState(actor_params, q_params, q_params, ADAM.init(actor_params),
                        ADAM.init(q_params), log_alpha, ADAM.init(log_alpha),
                        replay_init(capacity, obs[0], action[0]))

    def act(state: SACState, key: jax.Array, obs: jax.Array, hp: Hyper,
            global_step: jax.Array) -> tuple[SACState, jax.Array, None]:
        policy_key, random_key = jax.random.split(key)
        mean, log_std = actor.apply(state.actor_params, obs)
        policy_action, _ = squashed_gaussian_sample(policy_key, mean, log_std, scale, bias)
        random_action = jax.random.uniform(random_key, (obs.shape[0], action_dim),
                                           minval=low, maxval=high)
        action = jnp.where(global_step < config.learning_starts, random_action, policy_action)
        return state, shaped(action), None

    def greedy(state: SACState, obs: jax.Array) -> jax.Array:
        mean, _ = actor.apply(state.actor_params, obs)
        return shaped(squash(mean, scale, bias))

    def sample_policy(actor_params: Any, key: jax.Array,
                      obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean, log_std = actor.apply(actor_params, obs)
        action, log_prob = squashed_gaussian_sample(key, mean, log_std, scale, bias)
        return shaped(action), log_prob

    def critic_update(state: SACState, key: jax.Array, batch: ReplaySample,
                      hp: Hyper) -> tuple[SACState, Metrics]:
        next_action, next_log_prob = sample_policy(state.actor_params, key, batch.next_obs)
        next_q1, next_q2 = critic.apply(state.target_q_params, batch.next_obs, next_action)
        target = soft_q_target(batch.reward, batch.terminated, next_q1, next_q2, next_log_prob,
                               entropy_coefficient(state, hp), hp["gamma"])

        def loss(q_params: Any) -> tuple[jax.Array, Metrics]:
            return critic_loss(*critic.apply(q_params, batch.obs, batch.action), target)

        grads, metrics = jax.grad(loss, has_aux=True)(state.q_params)
        q_params, q_opt_state = adam_step(grads, state.q_opt_state, state.q_params, hp["q_lr"])
        return state._replace(q_params=q_params, q_opt_state=q_opt_state), metrics

    def actor_step(state: SACState, key: jax.Array, obs: jax.Array,
                   hp: Hyper) -> tuple[SACState, jax.Array]:
        alpha = entropy_coefficient(state, hp)

        def loss(actor_params: Any) -> jax.Array:
            action, log_prob = sample_policy(actor_params, key, obs)
            return actor_loss(log_prob, *critic.apply(state.q_params, obs, action), alpha)

        value, grads = jax.value_and_grad(loss)(state.actor_params)
        params, opt_state = adam_step(grads, state.actor_opt_state, state.actor_params,
                                      hp["policy_lr"])
        return state._replace(actor_params=params, actor_opt_state=opt_state), value

    def alpha_step(state: SACState, key: jax.Array, obs: jax.Array,
                   hp: Hyper) -> tuple[SACState, jax.Array]:
        _, log_prob = sample_policy(state.actor_params, key, obs)
        value, grad = jax.value_and_grad(alpha_loss)(state.log_alpha, log_prob, target_entropy)
        log_alpha, opt_state = adam_step(grad, state.alpha_opt_state, state.log_alpha,
                                         hp["q_lr"])
        return state._replace(log_alpha=log_alpha, alpha_opt_state=opt_state), value

    def policy_updates(state: SACState, key: jax.Array, obs: jax.Array,
                       hp: Hyper) -> tuple[SACState, Metrics]:
        def one(state: SACState, key: jax.Array) -> tuple[SACState, Metrics]:
            actor_key, alpha_key = jax.random.split(key)
            state, loss = actor_step(state, actor_key, obs, hp)
            metrics = {"losses/actor_loss": loss}
            if config.autotune:
                state, metrics["losses/alpha_loss"] = alpha_step(state, alpha_key, obs, hp)
            return state, metrics

        state, metrics = jax.lax.scan(one, state, jax.random.split(key, config.policy_frequency))
        return state, jax.tree.map(lambda m: m[-1], metrics)

    def delayed_policy_updates(state: SACState, key: jax.Array, obs: jax.Array, hp: Hyper,
                               update_index: jax.Array) -> tuple[SACState, Metrics]:
        def skip(state: SACState) -> tuple[SACState, Metrics]:
            shapes = jax.eval_shape(policy_updates, state, key, obs, hp)[1]
            return state, {name: jnp.full(s.shape, jnp.nan, s.dtype)
                           for name, s in shapes.items()}

        return jax.lax.cond(update_index % config.policy_frequency == 0,
                            lambda s: policy_updates(s, key, obs, hp), skip, state)

    def target_update(state: SACState, hp: Hyper, update_index: jax.Array) -> SACState:
        target = jax.lax.cond(update_index % config.target_network_frequency == 0,
                              lambda t: polyak(state.q_params, t, hp["tau"]), lambda t: t,
                              state.target_q_params)
        return state._replace(target_q_params=target)

    def train(state: SACState, key: jax.Array, batch: ReplaySample, hp: Hyper,
              update_index: jax.Array) -> tuple[SACState, Metrics]:
        critic_key, actor_key = jax.random.split(key)
        state, critic_metrics = critic_update(state, critic_key, batch, hp)
        state, policy_metrics = delayed_policy_updates(state, actor_key, batch.obs, hp,
                                                       update_index)
        state = target_update(state, hp, update_index)
        return state, {**_nan_metrics(), **critic_metrics, **policy_metrics,
                       "losses/alpha": entropy_coefficient(state, hp)}

    def learn(state: SACState, key: jax.Array, traj: Transition, hp: Hyper,
              update_index: jax.Array) -> tuple[SACState, Metrics]:
        steps = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), traj)
        buffer = replay_add(state.buffer, steps.obs, steps.action, steps.reward,
                            steps.terminated, steps.next_obs)
        sample_key, train_key = jax.random.split(key)
        batch = replay_sample(buffer, sample_key, config.batch_size)
        # The buffer stays outside the branch, so that XLA does not copy it at every step.
        learner, metrics = jax.lax.cond(update_index * envs > config.learning_starts,
                                        lambda s: train(s, train_key, batch, hp, update_index),
                                        lambda s: (s, _nan_metrics()),
                                        state._replace(buffer=None))
        return learner._replace(buffer=buffer), metrics

    return Agent(num_envs=envs, rollout_steps=1, init=init, act=act, learn=learn, greedy=greedy)

"""PPO (CleanRL's `ppo.py` and `ppo_continuous_action.py`): networks, loss and update."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from harness.algos.base import Agent, Hyper, Metrics, Transition
from harness.algos.distributions import CATEGORICAL, GAUSSIAN
from harness.algos.networks import MLP
from harness.algos.normalization import (
    RunningMeanStd,
    normalize,
    rms_init,
    rms_update,
    scaled_rewards,
)
from harness.algos.ppo.config import PPOConfig
from harness.algos.ppo.losses import (
    clipped_surrogate_loss,
    explained_variance,
    kl_estimates,
    normalize_advantages,
    total_loss,
    value_loss,
)
from harness.algos.returns import gae
from harness.algos.shuffle import permutation
from harness.envs.spaces import EnvInfo

ADAM_EPS = 1e-5


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs; a state-independent log-std for continuous actions.

    `policy` and `value` apply one of them: the rollout needs only the actor at each step, and
    `learn` values the whole rollout's observations in one batch.
    """

    hidden_sizes: Sequence[int]
    action_dim: int
    continuous: bool

    def setup(self) -> None:
        self.actor = MLP(self.hidden_sizes, self.action_dim, out_scale=0.01)
        self.critic = MLP(self.hidden_sizes, 1)
        if self.continuous:
            self.log_std = self.param("log_std", nn.initializers.zeros, (1, self.action_dim))

    def policy(self, obs: jax.Array) -> Any:
        """The policy's parameters for `obs` `[batch, ...]`: logits, or `(mean, log_std)`."""
        head = self.actor(obs)
        if not self.continuous:
            return head
        return head, jnp.broadcast_to(self.log_std, head.shape)

    def value(self, obs: jax.Array) -> jax.Array:
        """The critic's values of `obs`, `[batch]`."""
        return self.critic(obs)[:, 0]

    def __call__(self, obs: jax.Array) -> tuple[Any, jax.Array]:
        """`(policy parameters, value [batch])`."""
        return self.policy(obs), self.value(obs)


class PPOState(NamedTuple):
    """One run's learner: parameters, optimiser and normalisation statistics."""

    params: Any
    opt_state: optax.OptState
    obs_rms: RunningMeanStd
    return_rms: RunningMeanStd
    """Per environment copy, the statistics of the discounted return (shape `[envs]`)."""
    discounted_return: jax.Array
    """Per environment copy, the running discounted return that reward scaling tracks."""


class PolicyExtras(NamedTuple):
    """What the rollout keeps beside each action."""

    log_prob: jax.Array
    obs: jax.Array
    """The observation as the networks saw it (normalised when configured)."""


class Batch(NamedTuple):
    """Flattened rollout data for the gradient steps, leaves shaped `[batch, ...]`."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array


def _optimizer(hp: Hyper) -> optax.GradientTransformation:
    """Global-norm clipping then Adam's scaling; the learning rate is applied by the caller.

    On one flat vector of every parameter: a few large operations instead of a few per
    parameter array (about 5% of an update on CartPole-v1 here)."""
    return optax.flatten(optax.chain(optax.clip_by_global_norm(hp["max_grad_norm"]),
                                     optax.scale_by_adam(eps=ADAM_EPS)))


def make_agent(env: EnvInfo, config: PPOConfig, num_updates: int) -> Agent:
    """Build PPO's `init`, `act`, `learn` and `greedy` for one run."""
    head = CATEGORICAL if env.discrete else GAUSSIAN
    action_dim = env.num_actions if env.discrete else math.prod(env.action_shape)
    network = ActorCritic(tuple(config.hidden_sizes), action_dim, not env.discrete)
    steps, envs = config.num_steps, config.num_envs

    def observe(state: PPOState, obs: jax.Array) -> jax.Array:
        return normalize(state.obs_rms, obs) if config.normalize_observations else obs

    def init(key: jax.Array, hp: Hyper) -> PPOState:
        params = network.init(key, jnp.zeros((1, *env.observation_shape)))
        return PPOState(params, _optimizer(hp).init(params), rms_init(env.observation_shape),
                        rms_init((envs,)), jnp.zeros(envs))

    def act(state: PPOState, key: jax.Array, obs: jax.Array, hp: Hyper,
            global_step: jax.Array) -> tuple[PPOState, jax.Array, PolicyExtras]:
        if config.normalize_observations:
            state = state._replace(obs_rms=rms_update(state.obs_rms, obs))
        seen = observe(state, obs)
        policy = network.apply(state.params, seen, method=ActorCritic.policy)
        action = head.sample(key, policy)
        return state, action, PolicyExtras(head.log_prob(policy, action), seen)

    def greedy(state: PPOState, obs: jax.Array) -> jax.Array:
        return head.mode(network.apply(state.params, observe(state, obs),
                                       method=ActorCritic.policy))

    def loss(params: Any, batch: Batch, hp: Hyper) -> tuple[jax.Array, Metrics]:
        policy, new_value = network.apply(params, batch.obs)
        log_ratio = head.log_prob(policy, batch.action) - batch.log_prob
        ratio = jnp.exp(log_ratio)
        advantage = normalize_advantages(batch.advantage) if config.norm_adv else batch.advantage
        policy_loss = clipped_surrogate_loss(ratio, advantage, hp["clip_coef"])
        v_loss = value_loss(new_value, batch.value, batch.target, hp["clip_coef"],
                            config.clip_vloss)
        entropy = head.entropy(policy).mean()
        total = total_loss(policy_loss, v_loss, entropy, hp["ent_coef"], hp["vf_coef"])
        old_approx_kl, approx_kl = kl_estimates(log_ratio)
        clipfrac = (jnp.abs(ratio - 1.0) > hp["clip_coef"]).mean()
        return total, {"losses/policy_loss": policy_loss, "losses/value_loss": v_loss,
                       "losses/entropy": entropy, "losses/old_approx_kl": old_approx_kl,
                       "losses/approx_kl": approx_kl, "losses/clipfrac": clipfrac}

    def learning_rate(hp: Hyper, update_index: jax.Array) -> jax.Array:
        if not config.anneal_lr:
            return hp["learning_rate"]
        return hp["learning_rate"] * (1.0 - update_index / num_updates)

    def learn(state: PPOState, key: jax.Array, traj: Transition, hp: Hyper,
              update_index: jax.Array) -> tuple[PPOState, Metrics]:
        rewards = traj.reward
        if config.normalize_rewards:
            return_rms, discounted, rewards = scaled_rewards(
                state.return_rms, state.discounted_return, rewards, traj.terminated, hp["gamma"])
            state = state._replace(return_rms=return_rms, discounted_return=discounted)
        flat_next = observe(state, traj.next_obs.reshape(steps * envs, *env.observation_shape))
        flat_obs = traj.extras.obs.reshape(steps * envs, *env.observation_shape)
        values = network.apply(state.params, jnp.concatenate([flat_obs, flat_next]),
                               method=ActorCritic.value).reshape(2, steps, envs)
        no_bootstrap = traj.terminated if config.bootstrap_truncation else traj.done
        advantage, target = gae(rewards, values[0], values[1], no_bootstrap, traj.done,
                                hp["gamma"], hp["gae_lambda"])
        batch = jax.tree.map(
            lambda x: x.reshape(steps * envs, *x.shape[2:]),
            Batch(traj.extras.obs, traj.action, traj.extras.log_prob, values[0], advantage,
                  target))
        lr = learning_rate(hp, update_index)
        tx = _optimizer(hp)

        def gradient_step(carry: tuple, minibatch: Batch) -> tuple[tuple, Metrics]:
            params, opt_state = carry
            grads, stats = jax.grad(loss, has_aux=True)(params, minibatch, hp)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, jax.tree.map(lambda u: -lr * u, updates))
            return (params, opt_state), stats

        def epoch(carry: tuple, key: jax.Array) -> tuple[tuple, Metrics]:
            order = permutation(key, config.batch_size)
            minibatches = jax.tree.map(
                lambda x: x[order].reshape(config.num_minibatches, config.minibatch_size,
                                           *x.shape[1:]), batch)
            return jax.lax.scan(gradient_step, carry, minibatches)

        (params, opt_state), stats = jax.lax.scan(
            epoch, (state.params, state.opt_state), jax.random.split(key, config.update_epochs))
        metrics = {
            "charts/learning_rate": lr,
            **jax.tree.map(jnp.mean, stats),
            "losses/explained_variance": explained_variance(batch.value, batch.target),
        }
        return state._replace(params=params, opt_state=opt_state), metrics

    return Agent(num_envs=envs, rollout_steps=steps, init=init, act=act, learn=learn,
                 greedy=greedy)

"""PPO for discrete actions: networks, loss and update; the shared core does the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from harness.algos.distributions import (
    categorical_entropy,
    categorical_log_prob,
    categorical_sample,
)
from harness.algos.networks import MLP
from harness.algos.ppo.config import PPOConfig
from harness.algos.ppo.losses import (
    clipped_surrogate_loss,
    explained_variance,
    kl_estimates,
    normalize,
    value_loss,
)
from harness.algos.returns import gae
from harness.envs.gymnax_backend import VecEnvState, make_vec_env
from harness.training.program import Hyper, Metrics, Trainer
from harness.training.rollout import episode_metrics, rollout

ADAM_EPS = 1e-5


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs, as in CleanRL's `ppo.py`."""

    hidden_sizes: Sequence[int]
    num_actions: int

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """`(logits [batch, actions], value [batch])` for a batch of observations."""
        logits = MLP(self.hidden_sizes, self.num_actions, out_scale=0.01)(obs)
        value = MLP(self.hidden_sizes, 1, out_scale=1.0)(obs)[:, 0]
        return logits, value


class PPOState(NamedTuple):
    """Everything that changes during training of one run."""

    params: Any
    opt_state: optax.OptState
    env: VecEnvState
    key: jax.Array


class PolicyExtras(NamedTuple):
    """What the rollout keeps beside each action."""

    log_prob: jax.Array
    value: jax.Array


class Batch(NamedTuple):
    """Flattened rollout data for the gradient steps, leaves shaped `[batch, ...]`."""

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    advantage: jax.Array
    target: jax.Array


def _optimizer(hp: Hyper) -> optax.GradientTransformation:
    """Global-norm clipping then Adam's scaling; the learning rate is applied by the caller."""
    return optax.chain(optax.clip_by_global_norm(hp["max_grad_norm"]),
                       optax.scale_by_adam(eps=ADAM_EPS))


def make_trainer(env_id: str, config: PPOConfig, num_updates: int) -> Trainer:
    """Build PPO's pure `init` and `update` for one run on `env_id`."""
    env = make_vec_env(env_id, config.num_envs)
    network = ActorCritic(tuple(config.hidden_sizes), env.num_actions)
    steps, envs = config.num_steps, config.num_envs

    def init(key: jax.Array, hp: Hyper) -> PPOState:
        net_key, env_key, loop_key = jax.random.split(key, 3)
        params = network.init(net_key, jnp.zeros((1, *env.observation_shape)))
        return PPOState(params, _optimizer(hp).init(params), env.reset(env_key), loop_key)

    def act(params: Any) -> Any:
        def policy(key: jax.Array, obs: jax.Array) -> tuple[jax.Array, PolicyExtras]:
            logits, value = network.apply(params, obs)
            action = categorical_sample(key, logits)
            return action, PolicyExtras(categorical_log_prob(logits, action), value)
        return policy

    def loss(params: Any, batch: Batch, hp: Hyper) -> tuple[jax.Array, Metrics]:
        logits, new_value = network.apply(params, batch.obs)
        log_ratio = categorical_log_prob(logits, batch.action) - batch.log_prob
        ratio = jnp.exp(log_ratio)
        advantage = normalize(batch.advantage) if config.norm_adv else batch.advantage
        policy_loss = clipped_surrogate_loss(ratio, advantage, hp["clip_coef"])
        v_loss = value_loss(new_value, batch.value, batch.target, hp["clip_coef"],
                            config.clip_vloss)
        entropy = categorical_entropy(logits).mean()
        total = policy_loss - hp["ent_coef"] * entropy + hp["vf_coef"] * v_loss
        old_approx_kl, approx_kl = kl_estimates(log_ratio)
        clipfrac = (jnp.abs(ratio - 1.0) > hp["clip_coef"]).mean()
        return total, {"losses/policy_loss": policy_loss, "losses/value_loss": v_loss,
                       "losses/entropy": entropy, "losses/old_approx_kl": old_approx_kl,
                       "losses/approx_kl": approx_kl, "losses/clipfrac": clipfrac}

    def learning_rate(hp: Hyper, update_index: jax.Array) -> jax.Array:
        if not config.anneal_lr:
            return hp["learning_rate"]
        return hp["learning_rate"] * (1.0 - update_index / num_updates)

    def update(state: PPOState, hp: Hyper, update_index: jax.Array) -> tuple[PPOState, Metrics]:
        key, rollout_key, shuffle_key = jax.random.split(state.key, 3)
        env_state, traj, episodes = rollout(env, state.env, rollout_key, act(state.params), steps)
        flat_next_obs = traj.next_obs.reshape(steps * envs, *env.observation_shape)
        next_value = network.apply(state.params, flat_next_obs)[1].reshape(steps, envs)
        advantage, target = gae(traj.reward, traj.extras.value, next_value, traj.terminated,
                                traj.done, hp["gamma"], hp["gae_lambda"])
        batch = jax.tree.map(
            lambda x: x.reshape(steps * envs, *x.shape[2:]),
            Batch(traj.obs, traj.action, traj.extras.log_prob, traj.extras.value, advantage,
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
            order = jax.random.permutation(key, config.batch_size)
            minibatches = jax.tree.map(
                lambda x: x[order].reshape(config.num_minibatches, config.minibatch_size,
                                           *x.shape[1:]), batch)
            return jax.lax.scan(gradient_step, carry, minibatches)

        (params, opt_state), stats = jax.lax.scan(
            epoch, (state.params, state.opt_state),
            jax.random.split(shuffle_key, config.update_epochs))
        metrics = {
            "charts/learning_rate": lr,
            **jax.tree.map(jnp.mean, stats),
            "losses/explained_variance": explained_variance(batch.value, batch.target),
            **episode_metrics(episodes),
        }
        return PPOState(params, opt_state, env_state, key), metrics

    return Trainer(init=init, update=update)

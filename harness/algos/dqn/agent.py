"""DQN (CleanRL's `dqn.py` / `dqn_jax.py`): Q-network, epsilon-greedy acting and the update."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from harness.algos.base import Agent, Hyper, Metrics, Transition
from harness.algos.dqn.config import DQNConfig
from harness.algos.networks import relu_mlp
from harness.algos.replay import ReplayBuffer, ReplaySample, replay_add, replay_init, replay_sample
from harness.algos.targets import polyak
from harness.envs.spaces import EnvInfo

LOSS_METRICS = ("losses/td_loss", "losses/q_values")


class DQNState(NamedTuple):
    """One run's learner: online and target parameters, optimiser and replay buffer."""

    params: Any
    target_params: Any
    opt_state: optax.OptState
    buffer: ReplayBuffer


def epsilon(start_e: jax.Array, end_e: jax.Array, duration: jax.Array,
            global_step: jax.Array) -> jax.Array:
    """Linear decay from `start_e` to `end_e` over `duration` steps, then constant."""
    progress = jnp.minimum(global_step / jnp.maximum(duration, 1.0), 1.0)
    return start_e + (end_e - start_e) * progress


def td_target(reward: jax.Array, terminated: jax.Array, next_q_target: jax.Array,
              gamma: jax.Array) -> jax.Array:
    """`r + gamma * max_a Q_target(s', a)`, not bootstrapped where the episode terminated."""
    bootstrap = 1.0 - jnp.asarray(terminated, jnp.float32)
    return reward + gamma * next_q_target.max(axis=-1) * bootstrap


def td_loss(q_taken: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared TD error."""
    return jnp.mean((q_taken - target) ** 2)


def crossed_multiple(end_step: jax.Array, steps: int, frequency: int,
                     after: int) -> jax.Array:
    """Whether a multiple of `frequency` greater than `after` lies in `(end - steps, end]`."""
    last = end_step // frequency * frequency
    return (last > end_step - steps) & (last > after)


def _optimizer() -> optax.GradientTransformation:
    """Adam's scaling (default eps 1e-8); the learning rate is applied by the caller."""
    return optax.scale_by_adam()


def _flatten_steps(traj: Transition) -> tuple[jax.Array, ...]:
    """`(obs, action, reward, terminated, next_obs)` as `[steps * envs, ...]`, time-major."""
    fields = (traj.obs, traj.action, traj.reward, traj.terminated, traj.next_obs)
    return tuple(x.reshape(-1, *x.shape[2:]) for x in fields)


def make_agent(env: EnvInfo, config: DQNConfig, num_updates: int) -> Agent:
    """Build DQN's `init`, `act`, `learn` and `greedy` for one run."""
    network = relu_mlp(config.hidden_sizes, env.num_actions)
    envs, per_update = config.num_envs, config.steps_per_update
    total_timesteps = num_updates * per_update
    tx = _optimizer()

    def exploration(hp: Hyper, global_step: jax.Array) -> jax.Array:
        duration = hp["exploration_fraction"] * total_timesteps
        return epsilon(hp["start_e"], hp["end_e"], duration, global_step)

    def init(key: jax.Array, hp: Hyper) -> DQNState:
        obs = jnp.zeros(env.observation_shape, jnp.float32)
        params = network.init(key, obs[None])
        buffer = replay_init(config.buffer_size, obs, jnp.zeros((), jnp.int32))
        return DQNState(params, params, tx.init(params), buffer)

    def greedy(state: DQNState, obs: jax.Array) -> jax.Array:
        return jnp.argmax(network.apply(state.params, obs), axis=-1)

    def act(state: DQNState, key: jax.Array, obs: jax.Array, hp: Hyper,
            global_step: jax.Array) -> tuple[DQNState, jax.Array, None]:
        explore_key, action_key = jax.random.split(key)
        explore = jax.random.uniform(explore_key, (envs,)) < exploration(hp, global_step)
        random_action = jax.random.randint(action_key, (envs,), 0, env.num_actions)
        return state, jnp.where(explore, random_action, greedy(state, obs)), None

    def loss(params: Any, target_params: Any, batch: ReplaySample,
             hp: Hyper) -> tuple[jax.Array, jax.Array]:
        next_q = network.apply(target_params, batch.next_obs)
        target = td_target(batch.reward, batch.terminated, next_q, hp["gamma"])
        q = network.apply(params, batch.obs)
        q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=1)[:, 0]
        return td_loss(q_taken, target), q_taken.mean()

    def gradient_step(state: DQNState, batch: ReplaySample,
                      hp: Hyper) -> tuple[DQNState, Metrics]:
        (value, q_mean), grads = jax.value_and_grad(loss, has_aux=True)(
            state.params, state.target_params, batch, hp)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(
            state.params, jax.tree.map(lambda u: -hp["learning_rate"] * u, updates))
        metrics = {"losses/td_loss": value, "losses/q_values": q_mean}
        return state._replace(params=params, opt_state=opt_state), metrics

    def no_step(state: DQNState) -> tuple[DQNState, Metrics]:
        return state, {name: jnp.float32(jnp.nan) for name in LOSS_METRICS}

    def update_target(state: DQNState, hp: Hyper) -> DQNState:
        return state._replace(target_params=polyak(state.params, state.target_params, hp["tau"]))

    def learn(state: DQNState, key: jax.Array, traj: Transition, hp: Hyper,
              update_index: jax.Array) -> tuple[DQNState, Metrics]:
        buffer = replay_add(state.buffer, *_flatten_steps(traj))
        batch = replay_sample(buffer, key, config.batch_size)
        end_step = (update_index + 1) * per_update
        # The buffer stays outside the branches, so that XLA does not copy it at every update.
        learner, metrics = jax.lax.cond(end_step > config.learning_starts,
                                        lambda s: gradient_step(s, batch, hp), no_step,
                                        state._replace(buffer=None))
        due = crossed_multiple(end_step, per_update, config.target_network_frequency,
                               config.learning_starts)
        learner = jax.lax.cond(due, lambda s: update_target(s, hp), lambda s: s, learner)
        return (learner._replace(buffer=buffer),
                {**metrics, "charts/epsilon": exploration(hp, end_step)})

    return Agent(num_envs=envs, rollout_steps=config.train_frequency, init=init, act=act,
                 learn=learn, greedy=greedy)

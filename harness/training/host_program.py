"""The program of a Gymnasium job: compiled act and learn, environments stepped on the host."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos.base import Agent, Hyper, Transition
from harness.envs.episodes import EPISODE_SUMS, episode_metrics
from harness.envs.gymnasium_backend import GymnasiumVecEnv, copy_seeds
from harness.training.layout import ChunkLayout
from harness.training.program import RunState

MAX_EVAL_STEPS = 100_000
"""Evaluation gives up on an episode longer than this when the environment has no time limit."""


def _struct(shape: tuple[int, ...], dtype: object) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))


class GymnasiumProgram:
    """A batch of runs whose environments step on the host between compiled calls.

    Each update, every run acts `rollout_steps` times (one compiled `act` call for all runs per
    step) and then learns (one compiled `learn` call). Environments are not part of the
    training state: a resumed run starts fresh episodes.
    """

    def __init__(self, agent: Agent, env_id: str, layout: ChunkLayout, keys: jax.Array,
                 hp: Hyper, seeds: Sequence[int], eval_episodes: int = 0) -> None:
        self.agent = agent
        self.layout = layout
        self.seeds = list(seeds)
        runs, envs, steps = len(self.seeds), agent.num_envs, agent.rollout_steps
        self.env = GymnasiumVecEnv(env_id, runs, envs)
        self.eval_env = GymnasiumVecEnv(env_id, runs, eval_episodes) if eval_episodes else None
        self.obs = self.env.reset([copy_seeds(seed, envs) for seed in self.seeds])
        info = self.env.info
        start = time.perf_counter()
        init = jax.jit(self._init_runs)
        self._init = init.lower(keys, hp).compile()
        agent_shapes = jax.eval_shape(init, keys, hp).agent
        obs = _struct((runs, envs, *info.observation_shape), np.float32)
        step_index = _struct((), np.int32)
        act = jax.jit(jax.vmap(agent.act, in_axes=(0, 0, 0, 0, None)))
        self._act = act.lower(agent_shapes, keys, obs, hp, step_index).compile()
        _, action, extras = jax.eval_shape(act, agent_shapes, keys, obs, hp, step_index)

        def over_time(s: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:
            return _struct((s.shape[0], steps, *s.shape[1:]), s.dtype)

        per_step = _struct((runs, envs), np.float32)
        transitions = Transition(
            over_time(obs), over_time(action), over_time(per_step),
            over_time(_struct((runs, envs), bool)), over_time(_struct((runs, envs), bool)),
            over_time(obs), jax.tree.map(over_time, extras))
        learn = jax.jit(jax.vmap(agent.learn, in_axes=(0, 0, 0, 0, None)), donate_argnums=0)
        self._learn = learn.lower(agent_shapes, keys, transitions, hp, step_index).compile()
        self._split = jax.jit(jax.vmap(self._split_keys)).lower(keys).compile()
        self._greedy = None
        if self.eval_env is not None:
            eval_obs = _struct((runs, eval_episodes, *info.observation_shape), np.float32)
            greedy = jax.jit(jax.vmap(agent.greedy))
            self._greedy = greedy.lower(agent_shapes, eval_obs).compile()
        self.compile_seconds = time.perf_counter() - start
        """Seconds spent compiling (or loading from the persistent cache)."""

    def _init_runs(self, keys: jax.Array, hp: Hyper) -> RunState:
        """Initialise the runs one after another (see GymnaxProgram._init_runs for why)."""

        def one(args: tuple) -> RunState:
            key, run_hp = args
            agent_key, _, loop_key = jax.random.split(key, 3)
            return RunState(self.agent.init(agent_key, run_hp), None, loop_key)

        return jax.lax.map(one, (keys, hp))

    def _split_keys(self, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """`(next key, one act key per rollout step, learn key)`, as the gymnax program splits."""
        key, rollout_key, learn_key = jax.random.split(key, 3)
        step_keys = jax.random.split(rollout_key, self.agent.rollout_steps)
        act_keys = jax.vmap(lambda k: jax.random.split(k)[0])(step_keys)
        return key, act_keys, learn_key

    def init(self, keys: jax.Array, hp: Hyper) -> RunState:
        """Fresh training states, one per run."""
        return self._init(keys, hp)

    def _update(self, state: RunState, hp: Hyper, index: int) -> tuple[RunState, dict]:
        """One update of every run: `rollout_steps` host steps, then one compiled `learn`."""
        key, act_keys, learn_key = self._split(state.key)
        act_keys = np.asarray(act_keys)
        agent, envs = state.agent, self.agent.num_envs
        columns: dict[str, list] = {name: [] for name in Transition._fields}
        episodes = {name: np.zeros(len(self.seeds)) for name in EPISODE_SUMS}
        for t in range(self.agent.rollout_steps):
            global_step = np.int32((index * self.agent.rollout_steps + t) * envs)
            agent, action, extras = self._act(agent, act_keys[:, t], self.obs, hp, global_step)
            action, extras = jax.device_get((action, extras))
            out = self.env.step(action)
            for name, value in zip(Transition._fields, (self.obs, action, out.reward,
                                                        out.terminated, out.done, out.next_obs,
                                                        extras), strict=True):
                columns[name].append(value)
            for name, total in episode_metrics(out.finished, axis=1).items():
                episodes[name] += total
            self.obs = out.obs
        transitions = Transition(*(jax.tree.map(lambda *xs: np.stack(xs, axis=1), *columns[n])
                                   for n in Transition._fields))
        agent, metrics = self._learn(agent, learn_key, transitions, hp, np.int32(index))
        return RunState(agent, None, key), {**jax.device_get(metrics), **episodes}

    def run_chunk(self, state: RunState, hp: Hyper,
                  chunk: int) -> tuple[RunState, dict[str, np.ndarray]]:
        """Advance every run by one chunk; metrics come back as `[runs, chunk_updates]` arrays."""
        raw: dict[str, np.ndarray] = {}
        first = chunk * self.layout.chunk_updates
        for offset in range(self.layout.valid_updates(chunk)):
            state, metrics = self._update(state, hp, first + offset)
            for name, values in metrics.items():
                if name not in raw:
                    raw[name] = np.full((len(self.seeds), self.layout.chunk_updates), np.nan)
                raw[name][:, offset] = values
        return state, raw

    def evaluate(self, state: RunState, keys: jax.Array) -> np.ndarray:
        """Mean greedy episode return of each run: one episode per evaluation copy."""
        assert self.eval_env is not None and self._greedy is not None
        env = self.eval_env
        seeds = [copy_seeds(int(jax.random.randint(k, (), 0, 2**31 - 1)), env.copies)
                 for k in keys]
        obs = env.reset(seeds)
        returns = np.zeros((env.runs, env.copies))
        ended = np.zeros((env.runs, env.copies), bool)
        for _ in range(env.info.max_episode_steps or MAX_EVAL_STEPS):
            out = env.step(np.asarray(self._greedy(state.agent, obs)))
            first = out.done & ~ended
            returns[first] = out.finished.returns[first]
            ended |= out.done
            obs = out.obs
            if ended.all():
                break
        with np.errstate(invalid="ignore"):
            return np.where(ended.any(1), (returns * ended).sum(1) / ended.sum(1), np.nan)

"""The program of a Gymnasium job: compiled act and learn, environments stepped on the host."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos.base import Agent, Hyper, Transition
from harness.envs.episodes import EpisodeEnds, FinishedEpisodes, episode_ends
from harness.envs.gymnasium_backend import GymnasiumVecEnv, copy_seeds
from harness.training.layout import ChunkLayout
from harness.training.program import ChunkedProgram, ChunkOutput, PendingChunk, RunState

MAX_EVAL_STEPS = 100_000
"""Evaluation gives up on an episode longer than this when the environment has no time limit."""


def _struct(shape: tuple[int, ...], dtype: object) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))


def _masked(step: Callable[..., tuple]) -> Callable[..., tuple]:
    """`step(state, *args) -> (state, *rest)` that leaves `state` unchanged unless `active`."""

    def masked(active: jax.Array, state: Any, *args: Any) -> tuple:
        new_state, *rest = step(state, *args)
        kept = jax.tree.map(lambda new, old: jnp.where(active, new, old), new_state, state)
        return (kept, *rest)

    return masked


class GymnasiumProgram(ChunkedProgram):
    """A batch of runs whose environments step on the host between compiled calls.

    Each update, every run acts `rollout_steps` times (one compiled `act` call for all runs per
    step) and then learns (one compiled `learn` call). Runs past their budget, or behind in
    another chunk, are masked: their state does not change. Environments are not part of the
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
        per_run = _struct((runs,), np.int32)
        active = _struct((runs,), bool)
        act = jax.jit(jax.vmap(_masked(agent.act)))
        self._act = act.lower(active, agent_shapes, keys, obs, hp, per_run).compile()
        _, action, extras = jax.eval_shape(act, active, agent_shapes, keys, obs, hp, per_run)

        def over_time(s: jax.ShapeDtypeStruct) -> jax.ShapeDtypeStruct:
            return _struct((s.shape[0], steps, *s.shape[1:]), s.dtype)

        per_step = _struct((runs, envs), np.float32)
        transitions = Transition(
            over_time(obs), over_time(action), over_time(per_step),
            over_time(_struct((runs, envs), bool)), over_time(_struct((runs, envs), bool)),
            over_time(obs), jax.tree.map(over_time, extras))
        # One update index for all runs (see GymnaxProgram._run_chunk): not mapped over.
        learn = jax.jit(jax.vmap(_masked(agent.learn), in_axes=(0, 0, 0, 0, 0, None)),
                        donate_argnums=1)
        self._learn = learn.lower(active, agent_shapes, keys, transitions, hp,
                                  _struct((), np.int32)).compile()
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

    def _update(self, state: RunState, hp: Hyper, index: int,
                active: np.ndarray) -> tuple[RunState, dict, EpisodeEnds]:
        """Update `index` of the `active` runs: `rollout_steps` host steps, then one compiled
        `learn`; episodes of inactive runs are dropped."""
        key, act_keys, learn_key = self._split(state.key)
        key = jnp.where(active[:, None], key, state.key)
        act_keys = np.asarray(act_keys)
        agent, envs, steps = state.agent, self.agent.num_envs, self.agent.rollout_steps
        columns: dict[str, list] = {name: [] for name in Transition._fields}
        ends: list[EpisodeEnds] = []
        for t in range(steps):
            global_step = np.full(len(active), (index * steps + t) * envs, np.int32)
            agent, action, extras = self._act(active, agent, act_keys[:, t], self.obs, hp,
                                              global_step)
            action, extras = jax.device_get((action, extras))
            out = self.env.step(action)
            for name, value in zip(Transition._fields, (self.obs, action, out.reward,
                                                        out.terminated, out.done, out.next_obs,
                                                        extras), strict=True):
                columns[name].append(value)
            ends.append(episode_ends(out.finished, np))
            self.obs = out.obs
        transitions = Transition(*(jax.tree.map(lambda *xs: np.stack(xs, axis=1), *columns[n])
                                   for n in Transition._fields))
        agent, metrics = self._learn(active, agent, learn_key, transitions, hp,
                                     np.int32(index))
        stacked = EpisodeEnds(*(np.stack(parts, axis=1) * active[:, None, None]
                                for parts in zip(*ends, strict=True)))
        return RunState(agent, None, key), jax.device_get(metrics), stacked

    def start_chunk(self, state: RunState, hp: Hyper,
                    chunks: np.ndarray) -> tuple[RunState, PendingChunk]:
        """Step the chunk through on the host (it is done when this returns; see
        `ChunkedProgram.start_chunk`)."""
        layout, runs = self.layout, len(self.seeds)
        chunks = np.asarray(chunks)
        chunk = layout.shared_chunk(chunks)
        advancing = chunks < layout.num_chunks
        size = (runs, layout.chunk_updates)
        shape = (*size, self.agent.rollout_steps, self.agent.num_envs)
        metrics: dict[str, np.ndarray] = {}
        episodes = EpisodeEnds(np.zeros(shape, np.float32), np.zeros(shape, np.int32))
        for offset in range(layout.valid_updates(chunk) if advancing.any() else 0):
            state, step_metrics, ends = self._update(
                state, hp, chunk * layout.chunk_updates + offset, advancing)
            for name, values in step_metrics.items():
                metrics.setdefault(name, np.full(size, np.nan))[:, offset] = values
            episodes.returns[:, offset], episodes.ends[:, offset] = ends
        return state, PendingChunk(ChunkOutput(metrics, episodes))

    def evaluate(self, state: RunState, keys: jax.Array) -> FinishedEpisodes:
        """One greedy episode per evaluation copy of every run, `[runs, copies]` arrays."""
        assert self.eval_env is not None and self._greedy is not None
        env = self.eval_env
        seeds = [copy_seeds(int(jax.random.randint(k, (), 0, 2**31 - 1)), env.copies)
                 for k in keys]
        obs = env.reset(seeds)
        shape = (env.runs, env.copies)
        first = FinishedEpisodes(np.zeros(shape, np.float32), np.zeros(shape, np.int32),
                                 np.zeros(shape, bool), np.zeros(shape, bool))
        for _ in range(env.info.max_episode_steps or MAX_EVAL_STEPS):
            out = env.step(np.asarray(self._greedy(state.agent, obs)))
            new = out.done & ~first.done
            first = FinishedEpisodes(*(np.where(new, now, old)
                                       for now, old in zip(out.finished, first, strict=True)))
            obs = out.obs
            if first.done.all():
                break
        return first

"""The compiled program of a gymnax job: `vmap` over runs of a `lax.scan` over updates."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos.base import Agent, Hyper, Metrics
from harness.envs.episodes import episode_metrics
from harness.envs.gymnax_backend import GymnaxVecEnv
from harness.training.layout import ChunkLayout
from harness.training.rollout import rollout


class RunState(NamedTuple):
    """Everything that changes while one run trains."""

    agent: Any
    env: Any
    """The vectorised environment's state (None where the host steps the environment)."""
    key: jax.Array


class GymnaxProgram:
    """A batch of runs compiled into programs that initialise, advance and evaluate them.

    Every leaf of the state has a leading run axis; traced hyperparameters `hp` carry the same
    axis, so runs may differ in them without recompiling.
    """

    def __init__(self, agent: Agent, env_id: str, layout: ChunkLayout, keys: jax.Array,
                 hp: Hyper, eval_episodes: int = 0) -> None:
        self.agent = agent
        self.layout = layout
        self.env = GymnaxVecEnv(env_id, agent.num_envs)
        self.eval_env = GymnaxVecEnv(env_id, eval_episodes) if eval_episodes else None
        start = time.perf_counter()
        init = jax.jit(self._init_runs)
        self._init = init.lower(keys, hp).compile()
        state_shapes = jax.eval_shape(init, keys, hp)
        chunk = jax.jit(jax.vmap(self._run_chunk, in_axes=(0, 0, None)), donate_argnums=0)
        self._chunk = chunk.lower(state_shapes, hp, jax.ShapeDtypeStruct((), jnp.int32)).compile()
        self._evaluate = None
        if self.eval_env is not None:
            evaluate = jax.jit(jax.vmap(self._evaluate_run))
            self._evaluate = evaluate.lower(state_shapes, keys).compile()
        self.compile_seconds = time.perf_counter() - start
        """Seconds spent compiling (or loading from the persistent cache)."""

    def _init_one(self, key: jax.Array, hp: Hyper) -> RunState:
        agent_key, env_key, loop_key = jax.random.split(key, 3)
        return RunState(self.agent.init(agent_key, hp), self.env.reset(env_key), loop_key)

    def _init_runs(self, keys: jax.Array, hp: Hyper) -> RunState:
        """Initialise the runs one after another, stacked as if vmapped.

        Not `vmap`: batched orthogonal initialisation becomes a batched LAPACK QR, whose
        kernels wait on XLA's CPU thread pool from inside it and can deadlock it (seen about
        once per thousand calls on 2 cores). Initialisation is cheap; looping costs nothing.
        """
        return jax.lax.map(lambda args: self._init_one(*args), (keys, hp))

    def _update(self, state: RunState, hp: Hyper, index: jax.Array) -> tuple[RunState, Metrics]:
        """One update of one run: a rollout, then `learn` on it."""
        key, rollout_key, learn_key = jax.random.split(state.key, 3)
        first_step = index * self.agent.rollout_steps * self.agent.num_envs
        agent_state, env_state, transitions, finished = rollout(
            self.env, self.agent, state.agent, state.env, rollout_key, hp, first_step)
        agent_state, metrics = self.agent.learn(agent_state, learn_key, transitions, hp, index)
        return RunState(agent_state, env_state, key), {**metrics, **episode_metrics(finished)}

    def _run_chunk(self, state: RunState, hp: Hyper,
                   first_update: jax.Array) -> tuple[RunState, Metrics]:
        """One run: `chunk_updates` updates from `first_update`, skipping past the budget."""

        def body(state: RunState, offset: jax.Array) -> tuple[RunState, Metrics]:
            index = first_update + offset

            def skip(state: RunState) -> tuple[RunState, Metrics]:
                shapes = jax.eval_shape(self._update, state, hp, index)[1]
                return state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

            return jax.lax.cond(index < self.layout.num_updates,
                                lambda s: self._update(s, hp, index), skip, state)

        offsets = jnp.arange(self.layout.chunk_updates, dtype=jnp.int32)
        return jax.lax.scan(body, state, offsets)

    def _evaluate_run(self, state: RunState, key: jax.Array) -> jax.Array:
        """Mean undiscounted return of one greedy episode in each evaluation copy."""
        env = self.eval_env
        steps = env.info.max_episode_steps

        def step(carry: tuple, key: jax.Array) -> tuple[tuple, None]:
            env_state, returns, ended = carry
            action = self.agent.greedy(state.agent, env_state.obs)
            env_state, out = env.step(key, env_state, action)
            returns = jnp.where(out.done & ~ended, out.finished.returns, returns)
            return (env_state, returns, ended | out.done), None

        reset_key, steps_key = jax.random.split(key)
        start = (env.reset(reset_key), jnp.zeros(env.num_envs), jnp.zeros(env.num_envs, bool))
        (_, returns, ended), _ = jax.lax.scan(step, start, jax.random.split(steps_key, steps))
        return jnp.where(ended.any(), jnp.sum(jnp.where(ended, returns, 0.0))
                         / jnp.maximum(ended.sum(), 1), jnp.nan)

    def init(self, keys: jax.Array, hp: Hyper) -> RunState:
        """Fresh training states, one per run."""
        return self._init(keys, hp)

    def run_chunk(self, state: RunState, hp: Hyper,
                  chunk: int) -> tuple[RunState, dict[str, np.ndarray]]:
        """Advance every run by one chunk; metrics come back as `[runs, chunk_updates]` arrays."""
        first = jnp.int32(chunk * self.layout.chunk_updates)
        state, metrics = self._chunk(state, hp, first)
        return state, jax.device_get(metrics)

    def evaluate(self, state: RunState, keys: jax.Array) -> np.ndarray:
        """Mean greedy episode return of each run (requires `eval_episodes`)."""
        assert self._evaluate is not None, "built without evaluation episodes"
        return np.asarray(jax.device_get(self._evaluate(state, keys)))

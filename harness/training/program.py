"""The compiled program of a gymnax job: `vmap` over runs of a `lax.scan` over updates."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos.base import Agent, Hyper, Metrics
from harness.envs.episodes import EpisodeEnds, FinishedEpisodes, episode_ends
from harness.envs.gymnax_backend import GymnaxVecEnv
from harness.training.exported import ProgramCache, compile_program
from harness.training.layout import ChunkLayout
from harness.training.rollout import rollout


class RunState(NamedTuple):
    """Everything that changes while one run trains."""

    agent: Any
    env: Any
    """The vectorised environment's state (None where the host steps the environment)."""
    key: jax.Array


class ChunkOutput(NamedTuple):
    """What one chunk of a job returns to the host, every array with a leading run axis."""

    metrics: dict[str, np.ndarray]
    """Per-update metrics, `[runs, chunk_updates]` (NaN where not computed)."""
    episodes: EpisodeEnds
    """Episodes that ended at each step, `[runs, chunk_updates, rollout_steps, num_envs]`."""


class PendingChunk(NamedTuple):
    """A chunk handed to the device: the host may go on while it computes."""

    outputs: ChunkOutput
    """Device arrays still being computed (or host arrays already there)."""

    def result(self) -> ChunkOutput:
        """The chunk's outputs on the host, once computed."""
        return ChunkOutput(*jax.device_get(tuple(self.outputs)))


class ChunkedProgram(ABC):
    """A job's program advanced chunk by chunk: the host may store a chunk while the next one
    computes."""

    @abstractmethod
    def start_chunk(self, state: Any, hp: Hyper,
                    chunks: np.ndarray) -> tuple[Any, PendingChunk]:
        """Start advancing run `i` through its chunk `chunks[i]` (a chunk at or past the last
        one leaves the run unchanged); the runs advanced must all be at the same chunk."""

    def run_chunk(self, state: Any, hp: Hyper,
                  chunks: np.ndarray) -> tuple[Any, ChunkOutput]:
        """`start_chunk`, then wait for its outputs."""
        state, pending = self.start_chunk(state, hp, chunks)
        return state, pending.result()


class GymnaxProgram(ChunkedProgram):
    """A batch of runs compiled into programs that initialise, advance and evaluate them.

    Every leaf of the state has a leading run axis; traced hyperparameters `hp` carry the same
    axis, so runs may differ in them without recompiling, and each run advances from its own
    chunk (runs of a job may resume from different checkpoints).
    """

    def __init__(self, agent: Agent, env_id: str, layout: ChunkLayout, keys: jax.Array,
                 hp: Hyper, eval_episodes: int = 0, cache: ProgramCache | None = None) -> None:
        self.agent = agent
        self.layout = layout
        self.env = GymnaxVecEnv(env_id, agent.num_envs)
        self.eval_env = GymnaxVecEnv(env_id, eval_episodes) if eval_episodes else None
        start = time.perf_counter()
        self._init = compile_program(cache, "init", self._init_runs, (keys, hp))
        state_shapes = self._init.output_shapes
        first_update = jax.ShapeDtypeStruct((), jnp.int32)
        advancing = jax.ShapeDtypeStruct(keys.shape[:1], jnp.bool_)
        self._chunk = compile_program(
            cache, "chunk", jax.vmap(self._run_chunk, in_axes=(0, 0, None, 0)),
            (state_shapes, hp, first_update, advancing), donate=(0,))
        self._evaluate = None
        if self.eval_env is not None:
            self._evaluate = compile_program(cache, "evaluate", jax.vmap(self._evaluate_run),
                                             (state_shapes, keys))
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

    def _update(self, state: RunState, hp: Hyper,
                index: jax.Array) -> tuple[RunState, tuple[Metrics, EpisodeEnds]]:
        """One update of one run: a rollout, then `learn` on it."""
        key, rollout_key, learn_key = jax.random.split(state.key, 3)
        first_step = index * self.agent.rollout_steps * self.agent.num_envs
        agent_state, env_state, transitions, finished = rollout(
            self.env, self.agent, state.agent, state.env, rollout_key, hp, first_step)
        agent_state, metrics = self.agent.learn(agent_state, learn_key, transitions, hp, index)
        return RunState(agent_state, env_state, key), (metrics, episode_ends(finished))

    def _run_chunk(self, state: RunState, hp: Hyper, first_update: jax.Array,
                   advancing: jax.Array) -> tuple[RunState, tuple[Metrics, EpisodeEnds]]:
        """One run: `chunk_updates` updates from `first_update` if `advancing`; an update past
        the budget, or of a run not advancing, leaves the state as it was and returns zeros.

        `first_update` is the same for every run (not mapped over by the `vmap`), so that the
        agents' `lax.cond`s on the update index (learning starts, delayed actor and target
        updates) stay conditionals: under a batched predicate `vmap` runs both branches. For
        the same reason the updates past the budget (the last chunk's tail) are skipped by a
        `lax.cond`, not computed and discarded. A run not advancing is masked by `jnp.where`:
        its predicate is batched.
        """

        @jax.jit  # traced once: for the conditional and for the shapes of `stay`'s zeros
        def advance(state: RunState, index: jax.Array) -> tuple[RunState, tuple]:
            updated, outputs = self._update(state, hp, index)
            state = jax.tree.map(lambda new, old: jnp.where(advancing, new, old), updated, state)
            return state, jax.tree.map(lambda x: jnp.where(advancing, x, jnp.zeros_like(x)),
                                       outputs)

        def stay(state: RunState, index: jax.Array) -> tuple[RunState, tuple]:
            outputs = jax.eval_shape(advance, state, index)[1]
            return state, jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), outputs)

        def body(state: RunState, offset: jax.Array) -> tuple[RunState, tuple]:
            index = first_update + offset
            return jax.lax.cond(index < self.layout.num_updates, advance, stay, state, index)

        offsets = jnp.arange(self.layout.chunk_updates, dtype=jnp.int32)
        return jax.lax.scan(body, state, offsets)

    def _evaluate_run(self, state: RunState, key: jax.Array) -> FinishedEpisodes:
        """The first greedy episode of each evaluation copy (`done` False where none ended)."""
        env = self.eval_env
        steps = env.info.max_episode_steps

        def step(carry: tuple, key: jax.Array) -> tuple[tuple, None]:
            env_state, first = carry
            action = self.agent.greedy(state.agent, env_state.obs)
            env_state, out = env.step(key, env_state, action)
            new = out.done & ~first.done
            first = jax.tree.map(lambda old, now: jnp.where(new, now, old), first, out.finished)
            return (env_state, first), None

        reset_key, steps_key = jax.random.split(key)
        copies = env.num_envs
        none = FinishedEpisodes(jnp.zeros(copies), jnp.zeros(copies, jnp.int32),
                                jnp.zeros(copies, bool), jnp.zeros(copies, bool))
        (_, first), _ = jax.lax.scan(step, (env.reset(reset_key), none),
                                     jax.random.split(steps_key, steps))
        return first

    def init(self, keys: jax.Array, hp: Hyper) -> RunState:
        """Fresh training states, one per run."""
        return self._init.call(keys, hp)

    def start_chunk(self, state: RunState, hp: Hyper,
                    chunks: np.ndarray) -> tuple[RunState, PendingChunk]:
        """Dispatch the chunk without waiting for it (see `ChunkedProgram.start_chunk`)."""
        chunks = np.asarray(chunks)
        first = self.layout.shared_chunk(chunks) * self.layout.chunk_updates
        state, (metrics, episodes) = self._chunk.call(
            state, hp, np.int32(first), chunks < self.layout.num_chunks)
        return state, PendingChunk(ChunkOutput(metrics, episodes))

    def evaluate(self, state: RunState, keys: jax.Array) -> FinishedEpisodes:
        """One greedy episode per evaluation copy of every run, `[runs, copies]` arrays."""
        assert self._evaluate is not None, "built without evaluation episodes"
        return FinishedEpisodes(*jax.device_get(self._evaluate.call(state, keys)))

"""The compiled program of a job: `vmap` over runs of a `lax.scan` over updates, in chunks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Hyper = dict[str, jax.Array]
Metrics = dict[str, jax.Array]

TARGET_CHUNKS = 20
"""Chunks per run: the host writes metrics, checkpoints and shows progress between them."""


class Trainer(NamedTuple):
    """What an algorithm gives the shared driver: pure functions of one run."""

    init: Callable[[jax.Array, Hyper], Any]
    """`init(key, hp) -> state`."""
    update: Callable[[Any, Hyper, jax.Array], tuple[Any, Metrics]]
    """`update(state, hp, update_index) -> (state, scalar metrics)`."""


def updates_per_chunk(num_updates: int, target_chunks: int = TARGET_CHUNKS) -> int:
    """Updates per compiled call so that a run takes about `target_chunks` calls."""
    return max(1, math.ceil(num_updates / target_chunks))


def chunk_count(num_updates: int, chunk_updates: int) -> int:
    """Chunks needed for `num_updates` updates, the last one possibly partial."""
    return math.ceil(num_updates / chunk_updates)


class ChunkedProgram:
    """A batch of runs compiled into two programs: initialise, and advance by one chunk.

    Every leaf of the training state has a leading run axis (`vmap`); traced hyperparameters
    `hp` carry the same axis, so runs may differ in them without recompiling.
    """

    def __init__(self, trainer: Trainer, num_updates: int, chunk_updates: int,
                 keys: jax.Array, hp: Hyper) -> None:
        self.trainer = trainer
        self.num_updates = num_updates
        self.chunk_updates = chunk_updates
        self.num_chunks = chunk_count(num_updates, chunk_updates)
        start = time.perf_counter()
        init = jax.jit(self._init_runs)
        self._init = init.lower(keys, hp).compile()
        state_shapes = jax.eval_shape(init, keys, hp)
        chunk = jax.jit(jax.vmap(self._run_chunk, in_axes=(0, 0, None)), donate_argnums=0)
        self._chunk = chunk.lower(state_shapes, hp, jax.ShapeDtypeStruct((), jnp.int32)).compile()
        self.compile_seconds = time.perf_counter() - start
        """Seconds spent compiling (or loading from the persistent cache) both programs."""

    def _init_runs(self, keys: jax.Array, hp: Hyper) -> Any:
        """Initialise the runs one after another, stacked as if vmapped.

        Not `vmap`: batched orthogonal initialisation becomes a batched LAPACK QR, whose
        kernels wait on XLA's CPU thread pool from inside it and can deadlock it (seen about
        once per thousand calls on 2 cores). Initialisation is cheap; looping costs nothing.
        """
        return jax.lax.map(lambda args: self.trainer.init(*args), (keys, hp))

    def _run_chunk(self, state: Any, hp: Hyper, first_update: jax.Array) -> tuple[Any, Metrics]:
        """One run: `chunk_updates` updates from `first_update`, skipping past the budget."""

        def body(state: Any, offset: jax.Array) -> tuple[Any, Metrics]:
            index = first_update + offset

            def skip(state: Any) -> tuple[Any, Metrics]:
                shapes = jax.eval_shape(self.trainer.update, state, hp, index)[1]
                return state, jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

            return jax.lax.cond(index < self.num_updates,
                                lambda s: self.trainer.update(s, hp, index), skip, state)

        return jax.lax.scan(body, state, jnp.arange(self.chunk_updates, dtype=jnp.int32))

    def init(self, keys: jax.Array, hp: Hyper) -> Any:
        """Fresh training states, one per run."""
        return self._init(keys, hp)

    def run_chunk(self, state: Any, hp: Hyper,
                  chunk_index: int) -> tuple[Any, dict[str, np.ndarray]]:
        """Advance every run by one chunk; metrics come back as `[runs, chunk_updates]` arrays."""
        state, metrics = self._chunk(state, hp, jnp.int32(chunk_index * self.chunk_updates))
        return state, jax.device_get(metrics)

    def valid_updates(self, chunk_index: int) -> int:
        """How many of the chunk's updates fall within the budget."""
        return min(self.chunk_updates, self.num_updates - chunk_index * self.chunk_updates)

"""A small job compiles on every core of its worker and trains on one.

XLA sizes its CPU thread pool from the cores a process may use when JAX's backend starts, and
compiles with threads of its own. A job whose matrix products are small trains fastest with
a pool of one thread on one core (the second core only adds hand-offs: `runners/cpus.py` has
the figures), but compiles about 1.4x slower on one core than on two. A worker whose runner
names training cores in `$HARNESS_TRAIN_CPUS` therefore starts JAX's backend on them before
anything else does (gymnax's environments start it when imported), compiles on all of its
cores, then trains on the training cores.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator

TRAIN_CPUS_VARIABLE = "HARNESS_TRAIN_CPUS"
"""Comma-separated cores a worker trains its job on (a subset of its cores), set by the local
runner for a small job; unset, the worker trains on all of its cores."""


def parse_cores(named: str) -> set[int]:
    """The core numbers of a comma-separated list such as `0,1` (ValueError if malformed)."""
    return {int(core) for core in named.split(",")}


def set_affinity(cores: Iterable[int]) -> None:
    """Run every thread of this process on `cores`."""
    allowed = set(cores)
    for thread in os.listdir("/proc/self/task"):
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(thread), allowed)


@functools.cache
def worker_cores() -> frozenset[int]:
    """The cores this process may use, as they were before it first moved to its training
    cores (later jobs of the process compile on them again)."""
    return frozenset(os.sched_getaffinity(0))


def training_cores() -> set[int] | None:
    """The cores `$HARNESS_TRAIN_CPUS` names among the worker's cores; None when it is unset,
    malformed, names none of them or all of them."""
    named = os.environ.get(TRAIN_CPUS_VARIABLE)
    if not named:
        return None
    share = worker_cores()
    try:
        cores = parse_cores(named) & share
    except ValueError:
        return None
    return cores if cores and cores != share else None


def spare_cores() -> set[int] | None:
    """The worker's cores that it does not train on (where the host stores one chunk while the
    next computes); None without training cores."""
    cores = training_cores()
    return None if cores is None else set(worker_cores() - cores)


def move_this_thread_to(cores: set[int] | None) -> None:
    """Run the calling thread (only) on `cores`; nothing when None or when the system refuses
    (the thread then stays where it is: slower, never wrong)."""
    if cores:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, cores)


def _start_backend_on(cores: set[int]) -> None:
    """Start JAX's backend (unless it has started) on `cores`, so that XLA sizes its thread
    pool to them, then go back to all of the worker's cores."""
    set_affinity(cores)
    import jax

    jax.devices()
    set_affinity(worker_cores())


def start_backend_on_training_cores() -> None:
    """`_start_backend_on` the training cores; nothing without training cores."""
    cores = training_cores()
    if cores is not None:
        _start_backend_on(cores)


@contextlib.contextmanager
def compiling_on_every_core() -> Iterator[None]:
    """Compile inside the block on all of the worker's cores (starting JAX's backend on the
    training cores first, if nothing has started it yet), then run on the training cores;
    nothing without training cores."""
    cores = training_cores()
    if cores is None:
        yield
        return
    _start_backend_on(cores)
    try:
        yield
    finally:
        set_affinity(cores)

"""CPU cores for local workers: each worker gets its own share, so that XLA's thread pools
do not oversubscribe the machine.

XLA sizes its CPU thread pool from the cores a process may run on when JAX starts. Workers
that each see every core run several pool threads per core between them, and on small RL
programs the threads' hand-offs cost more than they bring (the README's "Cores of local
workers" gives the figures).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from harness.training.cores import (
    TRAIN_CPUS_VARIABLE,
    parse_cores,
    set_affinity,
    start_backend_on_training_cores,
)

CPUS_VARIABLE = "HARNESS_WORKER_CPUS"
"""Comma-separated core numbers a worker restricts itself to before JAX starts: set by the
local runner for each of several workers, or by the user for a single one."""

ONE_CORE_WORK = 1 << 22
"""Multiply-adds of a job's largest matrix product (`Job.largest_product`) up to which it
trains on one core (`harness/training/cores.py`: it still compiles on every core of its
share). Below it XLA computes each product on one thread anyway, and a second core only adds
hand-offs between its pool's threads; measured on 2 cores, one core against both: PPO
CartPole-v1 0.85x the loop time at 1 seed (0.5M), 1.0x at 8 (4.2M), 1.2x at 32 (17M); PPO on
Pendulum-v1 0.8x at 1 and 8 seeds (0.3M, 2.1M); SAC's 256-wide networks (17M at 1 seed) 1.0x
at 1 seed, 1.6x at 8."""


def core_shares(workers: int) -> list[dict[str, str]]:
    """The environment that gives each of `workers` workers its share of this process's
    cores (an equal block each, cores reused round-robin when workers outnumber them); no
    restriction for a single worker or a single core."""
    cores = sorted(os.sched_getaffinity(0))
    if workers < 2 or len(cores) < 2:
        return [{} for _ in range(workers)]
    per_worker = max(1, len(cores) // workers)
    return [{CPUS_VARIABLE: ",".join(str(cores[(k * per_worker + j) % len(cores)])
                                      for j in range(per_worker))} for k in range(workers)]


def cores_for(largest_product: int, share: Mapping[str, str]) -> dict[str, str]:
    """The environment `share` of a worker slot, training on the first of its cores (of this
    process's when it names none: `$HARNESS_TRAIN_CPUS`) a job whose largest matrix product
    is at most `ONE_CORE_WORK` multiply-adds; cores the user named in `$HARNESS_WORKER_CPUS`
    for a slot without a share of its own are used as they are."""
    named = share.get(CPUS_VARIABLE)
    if largest_product > ONE_CORE_WORK or (named is None and CPUS_VARIABLE in os.environ):
        return dict(share)
    try:
        cores = sorted(parse_cores(named) if named else os.sched_getaffinity(0))
    except ValueError:  # restrict_to_share names the bad value when the worker starts
        return dict(share)
    return {**share, TRAIN_CPUS_VARIABLE: str(cores[0])}


def restrict_to_share() -> None:
    """Run this process (each of its threads) on the cores `$HARNESS_WORKER_CPUS` names (all of
    its cores when unset, or when it names none of them), then start JAX's backend on the
    training cores `$HARNESS_TRAIN_CPUS` names, if any (`harness/training/cores.py`); call it
    before JAX's backend starts, since XLA sizes its thread pool from the cores the process
    may use then."""
    named = os.environ.get(CPUS_VARIABLE)
    try:
        cores = parse_cores(named) & os.sched_getaffinity(0) if named else set()
    except ValueError:
        raise SystemExit(f"{CPUS_VARIABLE}={named!r}: expected core numbers separated by "
                         "commas, such as 0,1") from None
    if cores:
        set_affinity(cores)
    start_backend_on_training_cores()

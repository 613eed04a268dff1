"""Claim a job's runs before training them: lease each, repair it, skip what needs no training.

A run is skipped when it is done, when it failed for good, or when another process holds a live
lease on it (it is trained there). Claiming needs no JAX, so a worker that finds every run of
its job taken exits at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.retries import Retries
from harness.runs import Run
from harness.store import SuitePaths
from harness.store.lease import (
    DEFAULT_STALL_TIMEOUT,
    Lease,
    LeaseHeld,
    acquire,
    startup_limit,
)
from harness.store.repair import Repair, repair_run
from harness.store.state import RunState, inspect_run
from harness.store.writer import RunWriter


@dataclass(frozen=True)
class Claim:
    """A run this process holds the lease of, repaired and ready to train."""

    run: Run
    writer: RunWriter
    repair: Repair


@dataclass(frozen=True)
class Skipped:
    """A run this process will not train, and why."""

    run: Run
    why: str
    elsewhere: bool = False
    """Another process holds its lease (it is being trained there)."""


def claim_runs(runs: Sequence[Run], paths: SuitePaths, *, job_id: str | None = None,
               retries: Retries | None = None,
               timeout_seconds: float = DEFAULT_STALL_TIMEOUT,
               may_take: Callable[[Lease], bool] | None = None
               ) -> tuple[list[Claim], list[Skipped]]:
    """Lease and repair every run that needs training; `(claimed, skipped)`. The leases allow
    `startup_limit(timeout_seconds)` until the program is compiled."""
    retries = retries or Retries()
    claims: list[Claim] = []
    skipped: list[Skipped] = []
    for run in runs:
        run_paths = paths.run(run.run_id)
        view = inspect_run(run_paths)
        if view.state == RunState.DONE:
            skipped.append(Skipped(run, "done"))
            continue
        if retries.gave_up(view.status):
            skipped.append(Skipped(run, "failed for good"))
            continue
        try:
            lease = acquire(run_paths, job_id=job_id,
                            timeout_seconds=startup_limit(timeout_seconds), may_take=may_take)
        except LeaseHeld as held:
            skipped.append(Skipped(run, f"trained by {held.lease.holder}", elsewhere=True))
            continue
        writer = RunWriter(run_paths, lease)
        repair = repair_run(writer, run.config, run.suite)
        if repair.done or retries.gave_up(repair.status):
            writer.release("done" if repair.done else "failed")
            skipped.append(Skipped(run, "done" if repair.done else "failed for good"))
            continue
        claims.append(Claim(run, writer, repair))
    return claims, skipped

"""How a job ended: failures recorded on the runs its worker left, its outcome, the line shown.

A runner records a failure only on runs its own worker left behind: runs whose lease that worker
held (the runner takes the lease over, since the worker is gone), or that no process holds live
(no lease, a released one, a stale one). Runs another process holds live are being trained there
and are left alone.
"""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from pathlib import Path

from harness.jobs import Job
from harness.store import RunStatus, SuitePaths
from harness.store.damage import DamagedFile
from harness.store.lease import Lease, LeaseHeld, LeaseLost, LeaseState, acquire
from harness.store.state import RunState, RunView, inspect_run
from runners.base import JobOutcome
from runners.progress import ProgressDisplay

Holder = Callable[[Lease], bool]
"""Whether a lease was held by the worker (or Slurm task) whose end is being settled."""


def worker_process(pid: int, host: str | None = None) -> Holder:
    """The leases of worker process `pid` of `host` (default: this host)."""
    host = host or socket.gethostname()
    return lambda lease: lease.host == host and lease.pid == pid


def _failed_by(view: RunView, pid: int | None) -> bool:
    """Whether the run's failure was recorded by process `pid` itself."""
    return (pid is not None and view.status.get("status") == RunStatus.FAILED
            and view.status.get("pid") == pid)


def _left_to_others(view: RunView, holder: Holder | None) -> bool:
    """Another process holds a live lease on the run (a stale one may be taken over)."""
    lease = view.lease
    return (lease is not None and lease.state() == LeaseState.LIVE
            and not (holder is not None and holder(lease)))


def unfinished_runs(job: Job, paths: SuitePaths) -> tuple[str, ...]:
    """Ids of the job's runs that are neither done nor being trained by another process."""
    views = [inspect_run(paths.run(run.run_id)) for run in job.runs]
    return tuple(view.run_id for view in views if view.state != RunState.DONE and not view.held)


def fail_unfinished(job: Job, paths: SuitePaths, reason: str, recorded_by: int | None = None,
                    holder: Holder | None = None) -> list[str]:
    """Mark each run of `job` that its worker left unfinished as failed with `reason` (except
    runs whose failure process `recorded_by` already recorded); return the ids marked."""
    from harness.store.writer import RunWriter  # pyarrow, which `harness run` needs only later

    marked = []
    for run in job.runs:
        run_paths = paths.run(run.run_id)
        view = inspect_run(run_paths)
        if view.state == RunState.DONE or _failed_by(view, recorded_by) \
                or _left_to_others(view, holder):
            continue
        try:
            lease = acquire(run_paths, purpose="record", job_id=job.job_id, may_take=holder)
            writer = RunWriter(run_paths, lease)
            writer.write_config(run.config, run.suite)
            writer.fail(reason, job_id=job.job_id)
        except (LeaseHeld, LeaseLost, DamagedFile):
            continue
        marked.append(run.run_id)
    return marked


def worker_exit_reason(code: int, pid: int, job: Job, paths: SuitePaths, log: Path,
                       last_line: str = "") -> str | None:
    """Why a worker process that exited with `code` left runs unfinished; None when it exited
    cleanly or recorded every failure itself."""
    if code < 0:
        return f"worker killed by {signal.Signals(-code).name}"
    views = [inspect_run(paths.run(run.run_id)) for run in job.runs]
    left = [view for view in views if view.state != RunState.DONE and not view.held
            and not _failed_by(view, pid)]
    if code > 0 and left:
        return f"worker exited with code {code}{f' ({last_line})' if last_line else ''}; see {log}"
    return None


def settle(job: Job, paths: SuitePaths, display: ProgressDisplay, reason: str | None,
           recorded_by: int | None = None, detail: str = "",
           holder: Holder | None = None) -> JobOutcome:
    """Record `reason` on the runs the job's worker left, show how the job ended, return its
    outcome.

    `detail` is shown when every run finished; `recorded_by` is the worker's pid when known,
    `holder` tells its leases (the worker is gone, so they may be taken over).
    """
    if reason is not None:
        fail_unfinished(job, paths, reason, recorded_by, holder)
    failed = unfinished_runs(job, paths)
    shown = reason or (f"{len(failed)} of {len(job.runs)} runs failed" if failed else detail)
    display.job_finished(job, not failed, shown)
    return JobOutcome(job, failed, reason)

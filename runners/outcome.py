"""How a job ended: failures recorded on its unfinished runs, its outcome, the line shown."""

from __future__ import annotations

import signal
from pathlib import Path

from harness.jobs import Job
from harness.store import RunRecord, RunStatus, SuitePaths
from runners.base import JobOutcome
from runners.progress import ProgressDisplay


def _failed_by(state: dict, pid: int | None) -> bool:
    """Whether `state` is a failure that process `pid` recorded."""
    return pid is not None and state["status"] == RunStatus.FAILED and state.get("pid") == pid


def unfinished_runs(job: Job, paths: SuitePaths) -> tuple[str, ...]:
    """Ids of the job's runs that are not done."""
    return tuple(run.run_id for run in job.runs if not RunRecord(paths.run(run.run_id)).is_done())


def fail_unfinished(job: Job, paths: SuitePaths, reason: str,
                    recorded_by: int | None = None) -> list[str]:
    """Mark each run of `job` that is not done as failed with `reason` (except runs whose
    failure process `recorded_by` already recorded); return the ids marked."""
    marked = []
    for run in job.runs:
        record = RunRecord(paths.run(run.run_id))
        state = record.status()
        if state["status"] != RunStatus.DONE and not _failed_by(state, recorded_by):
            record.write_config(run.config, run.suite)
            record.fail(reason, job_id=job.job_id)
            marked.append(run.run_id)
    return marked


def worker_exit_reason(code: int, pid: int, job: Job, paths: SuitePaths, log: Path,
                       last_line: str = "") -> str | None:
    """Why a worker process that exited with `code` left runs unfinished; None when it exited
    cleanly or recorded every failure itself."""
    if code < 0:
        return f"worker killed by {signal.Signals(-code).name}"
    states = [RunRecord(paths.run(run.run_id)).status() for run in job.runs]
    if code > 0 and any(s["status"] != RunStatus.DONE and not _failed_by(s, pid) for s in states):
        return f"worker exited with code {code}{f' ({last_line})' if last_line else ''}; see {log}"
    return None


def settle(job: Job, paths: SuitePaths, display: ProgressDisplay, reason: str | None,
           recorded_by: int | None = None, detail: str = "") -> JobOutcome:
    """Record `reason` on the job's unfinished runs, show how the job ended, return its outcome.

    `detail` is shown when every run finished; `recorded_by` is the worker's pid when known.
    """
    if reason is not None:
        fail_unfinished(job, paths, reason, recorded_by)
    failed = unfinished_runs(job, paths)
    shown = reason or (f"{len(failed)} of {len(job.runs)} runs failed" if failed else detail)
    display.job_finished(job, not failed, shown)
    return JobOutcome(job, failed, reason)

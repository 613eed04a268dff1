"""Progress of jobs trained elsewhere (Slurm nodes, Ray workers), read from the results store."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from harness.jobs import Job
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.store.damage import DamagedFile
from harness.store.lease import LeaseState, current_lease


class StoreWatcher:
    """Turns the status files of each job's runs into the events a local worker would send."""

    def __init__(self, jobs: Sequence[Job], paths: SuitePaths) -> None:
        self.paths = paths
        self._jobs = list(jobs)
        self._last: dict[str, tuple[int, float]] = {}

    def events(self) -> list[tuple[Job, dict[str, Any]]]:
        """`(job, event)` for every job whose stored progress moved since the last call."""
        found = []
        now = time.monotonic()
        for job in self._jobs:
            state = self._progress_of(job)
            if state is None:
                continue
            step = int(state.get("global_step", 0))
            previous = self._last.get(job.job_id)
            if previous is not None and previous[0] == step:
                continue
            self._last[job.job_id] = (step, now)
            if previous is None:
                found.append((job, {"event": "started", "job_id": job.job_id}))
            if previous is not None and step > previous[0]:
                sps = (step - previous[0]) / max(now - previous[1], 1e-9)
                found.append((job, {"event": "progress", "job_id": job.job_id,
                                    "global_step": step, "sps": sps}))
        return found

    def _progress_of(self, job: Job) -> dict[str, Any] | None:
        """The status of the job's first run that is training, if any."""
        for run in job.runs:
            try:
                state = RunRecord(self.paths.run(run.run_id)).status()
            except DamagedFile:
                continue
            if state["status"] == RunStatus.RUNNING:
                return state
        return None


def stalled(job: Job, paths: SuitePaths) -> str | None:
    """Why a job trained elsewhere counts as stalled: a run it holds has a stale lease (no
    heartbeat within the timeout its worker promised); None while it makes progress."""
    for run in job.runs:
        lease = current_lease(paths.run(run.run_id))
        if (lease is not None and lease.purpose == "train" and lease.job_id == job.job_id
                and lease.state() == LeaseState.STALE):
            waited = time.time() - lease.heartbeat_at
            return (f"stalled: no chunk stored for {waited:.0f}s (limit "
                    f"{lease.timeout_seconds:.0f}s)")
    return None

"""The Ray engine: one Ray task per job, each running a worker process where Ray placed it.

Tasks read their job spec and write their runs and log under the results directory, given by
absolute path: on a multi-node cluster it must be on a filesystem every node shares. Without an
address Ray decides where to connect: `RAY_ADDRESS`, a cluster started on this machine with
`ray start`, or else a new local instance that lives as long as the run.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Sequence
from typing import Any

from harness.jobs import Job
from harness.store import SuitePaths
from harness.suite.runner_settings import RaySettings
from runners.base import JobOutcome, RunnerSetupError
from runners.outcome import settle, worker_exit_reason, worker_process
from runners.progress import ProgressDisplay
from runners.protocol import split_output
from runners.store_watch import StoreWatcher, stalled

POLL_SECONDS = 2.0
TAIL_LINES = 20


def run_worker(spec: str, log_path: str,
               env: dict[str, str]) -> tuple[int, int, str, list[str]]:
    """A Ray task: a worker on `spec` (with `env`) logging to `log_path`; its exit code, pid,
    host and log tail."""
    with open(log_path, "a+", encoding="utf-8") as log:
        start = log.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", "runners.worker", spec], stdout=subprocess.PIPE, stderr=log,
            text=True, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"})
        split_output(process.stdout or iter(()), log, lambda event: None)
        code = process.wait()
        log.seek(start)
        return code, process.pid, socket.gethostname(), list(deque(log, maxlen=TAIL_LINES))


class RayRunner:
    """Submits each job as a Ray task and follows the tasks and the store until all have ended."""

    def __init__(self, settings: RaySettings) -> None:
        try:
            import ray
        except ImportError as err:
            raise RunnerSetupError("runner.engine ray: Ray is not installed; "
                                   "pip install 'rl-harness[ray]'") from err
        self.ray: Any = ray
        self.settings = settings

    def run(self, jobs: Sequence[Job], paths: SuitePaths,
            display: ProgressDisplay) -> list[JobOutcome]:
        """Connect to Ray (or start a local instance), train every job, and disconnect."""
        ray, address = self.ray, self.settings.address
        started = not ray.is_initialized()
        if started:
            local = {} if address else {"include_dashboard": False}
            try:
                ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                         **local)
            except ConnectionError as err:
                raise RunnerSetupError(f"runner.ray.address: cannot connect to Ray at "
                                       f"{address or 'the default address'}: {err}") from None
        try:
            return self._run(jobs, paths, display)
        finally:
            if started:
                ray.shutdown()

    def _run(self, jobs: Sequence[Job], paths: SuitePaths,
             display: ProgressDisplay) -> list[JobOutcome]:
        ray, settings = self.ray, self.settings
        task = ray.remote(num_cpus=settings.cpus_per_job, num_gpus=settings.gpus_per_job,
                          max_retries=0)(run_worker)
        # Ray sets CUDA_VISIBLE_DEVICES only for tasks given GPUs; the others must not use any.
        env = {} if settings.gpus_per_job else {"CUDA_VISIBLE_DEVICES": ""}
        display.suite_started(len(jobs))
        remaining: dict[Any, Job] = {}
        for job in jobs:
            spec, log = paths.job_spec(job.job_id).resolve(), paths.job_log(job.job_id).resolve()
            remaining[task.remote(str(spec), str(log), env)] = job
            display.job_started(job, "ray", status="queued")
        watcher = StoreWatcher(jobs, paths)
        outcomes: dict[str, JobOutcome] = {}
        stalls: dict[str, str] = {}
        try:
            while remaining:
                done, _ = ray.wait(list(remaining), num_returns=1, timeout=POLL_SECONDS)
                for job, event in watcher.events():
                    display.job_event(job, event)
                for ref, job in remaining.items():
                    reason = stalled(job, paths)
                    if reason and job.job_id not in stalls and ref not in done:
                        stalls[job.job_id] = reason
                        ray.cancel(ref, force=True)
                for ref in done:
                    job = remaining.pop(ref)
                    outcomes[job.job_id] = self._finish(job, ref, paths, display,
                                                        stalls.get(job.job_id))
        except BaseException:
            for ref in remaining:
                ray.cancel(ref, force=True)
            raise
        return [outcomes[job.job_id] for job in jobs]

    def _finish(self, job: Job, ref: Any, paths: SuitePaths, display: ProgressDisplay,
                stall: str | None = None) -> JobOutcome:
        """The outcome of a job whose task has ended (cancelled by us when `stall` says why),
        read from the store."""
        log = paths.job_log(job.job_id)
        try:
            code, pid, host, tail = self.ray.get(ref)
        except self.ray.exceptions.RayError as err:
            reason = stall or f"Ray task failed: {str(err).strip().splitlines()[0]}; see {log}"
            return settle(job, paths, display, reason)
        last = tail[-1].strip() if tail else ""
        reason = worker_exit_reason(code, pid, job, paths, log, last)
        return settle(job, paths, display, reason, recorded_by=pid,
                      detail=f"Ray task {ref.task_id().hex()[:16]}",
                      holder=worker_process(pid, host))

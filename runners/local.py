"""The local engine: each job in its own worker process, a bounded number at a time."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from harness.jobs import Job
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.training.job import fail_unfinished
from runners.base import JobOutcome
from runners.progress import ProgressDisplay
from runners.protocol import decode_event, write_job_spec

POLL_SECONDS = 0.2


def default_workers(num_jobs: int) -> int:
    """One worker per CPU core, never more than there are jobs."""
    return max(1, min(num_jobs, os.cpu_count() or 1))


@dataclass
class _Worker:
    """A running worker process and what it has told us."""

    job: Job
    process: subprocess.Popen
    log: IO[str]
    reader: threading.Thread
    started: float = field(default_factory=time.monotonic)
    compile_seconds: float | None = None
    last_sps: float | None = None
    failure: str | None = None


class LocalRunner:
    """Runs jobs in worker processes on this machine."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers

    def run(self, jobs: Sequence[Job], paths: SuitePaths,
            display: ProgressDisplay) -> list[JobOutcome]:
        """Train every job; a failing or killed worker fails only its own job's runs."""
        workers = self.workers or default_workers(len(jobs))
        pending = deque(jobs)
        running: dict[str, _Worker] = {}
        outcomes: dict[str, JobOutcome] = {}
        events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        display.suite_started(len(jobs))
        try:
            while pending or running:
                while pending and len(running) < workers:
                    job = pending.popleft()
                    running[job.job_id] = self._start(job, paths, events, workers)
                    display.job_started(job)
                self._drain(events, running, display)
                for job_id, worker in list(running.items()):
                    if worker.process.poll() is not None:
                        worker.reader.join()
                        self._drain(events, running, display)
                        outcomes[job_id] = self._finish(worker, paths, display)
                        del running[job_id]
        except BaseException:
            for worker in running.values():
                worker.process.send_signal(signal.SIGTERM)
            for worker in running.values():
                worker.process.wait()
                worker.log.close()
            raise
        return [outcomes[job.job_id] for job in jobs]

    def _start(self, job: Job, paths: SuitePaths,
               events: queue.Queue[tuple[str, dict[str, Any]]], workers: int) -> _Worker:
        spec = write_job_spec(job, paths)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if workers > 1:
            env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
        log = open(paths.job_log(job.job_id), "a", encoding="utf-8")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "runners.worker", str(spec)], stdout=subprocess.PIPE,
            stderr=log, text=True, env=env)
        reader = threading.Thread(target=_read_events, args=(job.job_id, process.stdout, log,
                                                             events), daemon=True)
        reader.start()
        return _Worker(job, process, log, reader)

    @staticmethod
    def _drain(events: queue.Queue[tuple[str, dict[str, Any]]], running: dict[str, _Worker],
               display: ProgressDisplay) -> None:
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            try:
                job_id, event = events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            worker = running.get(job_id)
            if worker is None:
                continue
            if event.get("event") == "compiled":
                worker.compile_seconds = event["seconds"]
            elif event.get("event") == "progress":
                worker.last_sps = event["sps"]
            elif event.get("event") == "job_failed":
                worker.failure = event["reason"]
            display.job_event(worker.job, event)

    @staticmethod
    def _finish(worker: _Worker, paths: SuitePaths, display: ProgressDisplay) -> JobOutcome:
        worker.log.close()
        job, code = worker.job, worker.process.returncode
        reason = worker.failure
        if code < 0:
            reason = f"worker killed by {signal.Signals(-code).name}"
        elif code != 0 and reason is None and not _any_run_failed(job, paths):
            reason = f"worker exited with code {code}; see {paths.job_log(job.job_id)}"
        if reason is not None:
            fail_unfinished(job, paths, reason)
        failed = tuple(r.run_id for r in job.runs
                       if not RunRecord(paths.run(r.run_id)).is_done())
        seconds = time.monotonic() - worker.started
        if failed:
            detail = reason or f"{len(failed)} of {len(job.runs)} runs failed"
        else:
            detail = (f"{seconds:.0f}s, compile {worker.compile_seconds or 0:.1f}s, "
                      f"{worker.last_sps or 0:,.0f} SPS/run")
        display.job_finished(job, not failed, detail)
        return JobOutcome(job, failed, reason)


def _any_run_failed(job: Job, paths: SuitePaths) -> bool:
    return any(RunRecord(paths.run(r.run_id)).status()["status"] == RunStatus.FAILED
               for r in job.runs)


def _read_events(job_id: str, stream: IO[str], log: IO[str],
                 events: queue.Queue[tuple[str, dict[str, Any]]]) -> None:
    """Forward a worker's event lines to `events`; copy any other output to its log."""
    for line in stream:
        event = decode_event(line)
        if event is not None:
            events.put((job_id, event))
        else:
            log.write(line)
            log.flush()

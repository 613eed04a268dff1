"""The local engine: each job in its own worker process, a bounded number at a time."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from harness.jobs import Job
from harness.store import SuitePaths
from harness.store.lease import DEFAULT_STALL_TIMEOUT, stall_limit, startup_limit
from runners.base import JobOutcome
from runners.cpus import core_shares, cores_for
from runners.outcome import settle, worker_exit_reason, worker_process
from runners.progress import ProgressDisplay
from runners.protocol import split_output
from runners.spare import JAX_MEMORY_PREFIX, SpareWorker, worker_environment

POLL_SECONDS = 0.2
"""How long the runner waits for workers' events before it looks for stalled workers."""
TERMINATE_GRACE_SECONDS = 10.0
"""A stalled worker gets this long to exit after SIGTERM before it is killed."""


Events = queue.Queue[tuple[str, dict[str, Any] | None]]
"""Events of the running workers, by job id; None marks the end of a worker's output."""

SHARED_MEMORY = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
"""Environment of workers that share an accelerator, unless the user chose a memory setting."""


def default_workers(num_jobs: int) -> int:
    """One worker per CPU core, never more than there are jobs."""
    return max(1, min(num_jobs, os.cpu_count() or 1))


def memory_settings(share: dict[str, str]) -> dict[str, str]:
    """`share` unless the user set any of JAX's XLA_PYTHON_CLIENT_* memory variables."""
    user_chose = any(key.startswith(JAX_MEMORY_PREFIX) for key in os.environ)
    return {} if user_chose else share


@dataclass(frozen=True)
class WorkerSlot:
    """A place for one worker process: a label for the display and the environment it gets."""

    label: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    cpu: bool = False
    """Jobs train on this slot's CPU cores: a small job on one of them (`cores_for`)."""

    def env_for(self, job: Job) -> dict[str, str]:
        """The environment of a worker training `job` here."""
        return cores_for(job.largest_product, self.env) if self.cpu else dict(self.env)


def cpu_slots(workers: int) -> list[WorkerSlot]:
    """`workers` slots, each with its own share of the cores (sharing the memory of any
    accelerator)."""
    env = memory_settings(SHARED_MEMORY) if workers > 1 else {}
    return [WorkerSlot(env={**env, **cores}, cpu=True) for cores in core_shares(workers)]


@dataclass
class _Worker:
    """A running worker process and what it has told us."""

    job: Job
    slot: WorkerSlot
    process: subprocess.Popen
    log: IO[str]
    reader: threading.Thread
    started: float = field(default_factory=time.monotonic)
    compile_seconds: float | None = None
    last_sps: float | None = None
    failure: str | None = None
    elsewhere: list[str] = field(default_factory=list)
    """Why runs of the job were left to other processes (their lease holders)."""
    last_progress: float = field(default_factory=time.monotonic)
    """When the worker last showed progress (compiled, stored a chunk)."""
    chunks_seen: int = 0
    slowest: float = 0.0
    """The longest time between two stored chunks so far."""

    def heard(self, event: dict[str, Any]) -> None:
        """Note a sign of progress."""
        kind, now = event.get("event"), time.monotonic()
        if kind == "progress":
            if self.chunks_seen:
                self.slowest = max(self.slowest, now - self.last_progress)
            self.slowest = max(self.slowest, float(event.get("slowest_chunk") or 0.0))
            self.chunks_seen += 1
        if kind in ("compiled", "progress"):
            self.last_progress = now

    def stalled(self, minimum: float) -> str | None:
        """Why the worker counts as stalled, or None while it makes progress."""
        waited = time.monotonic() - self.last_progress
        if self.compile_seconds is None:
            limit = startup_limit(minimum)
            if waited <= limit:
                return None
            return f"stalled: not compiled after {waited:.0f}s (limit {limit:.0f}s)"
        limit = stall_limit(minimum, self.slowest)
        if waited <= limit:
            return None
        return (f"stalled: no chunk stored for {waited:.0f}s (limit {limit:.0f}s, the larger "
                f"of runner.stall_timeout and {stall_limit(0, 1):.0f}x the slowest chunk)")


class LocalRunner:
    """Runs jobs in worker processes on this machine, one per free slot (by default one slot
    per CPU core, at most one per job). A worker that shows no progress for longer than its
    stall limit is stopped and its runs recorded as failed (`stalled`). A spare worker, if
    given, takes the first job it can; the first `run` stops it if it took none."""

    def __init__(self, slots: Sequence[WorkerSlot] | None = None,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT,
                 spare: SpareWorker | None = None) -> None:
        self.slots = list(slots) if slots else None
        self.stall_timeout = stall_timeout
        self.spare = spare

    def run(self, jobs: Sequence[Job], paths: SuitePaths,
            display: ProgressDisplay) -> list[JobOutcome]:
        """Train every job; a failing or killed worker fails only its own job's runs."""
        free = deque(self.slots or cpu_slots(default_workers(len(jobs))))
        pending = deque(jobs)
        running: dict[str, _Worker] = {}
        outcomes: dict[str, JobOutcome] = {}
        events: Events = queue.Queue()
        display.suite_started(len(jobs))
        try:
            while pending or running:
                while pending and free:
                    job, slot = pending.popleft(), free.popleft()
                    running[job.job_id] = self._start(job, slot, paths, events)
                    display.job_started(job, slot.label)
                self._drain(events, running, display)
                for worker in running.values():
                    self._stop_if_stalled(worker)
                for job_id, worker in list(running.items()):
                    if worker.process.poll() is not None:
                        worker.reader.join()
                        self._drain(events, running, display, seconds=0.0)
                        outcomes[job_id] = self._finish(worker, paths, display)
                        free.append(worker.slot)
                        del running[job_id]
        except BaseException:
            for worker in running.values():
                worker.process.send_signal(signal.SIGTERM)
            for worker in running.values():
                worker.process.wait()
                worker.log.close()
            raise
        finally:
            if self.spare is not None:
                self.spare.close()
                self.spare = None
        return [outcomes[job.job_id] for job in jobs]

    def _stop_if_stalled(self, worker: _Worker) -> None:
        """Terminate (then kill) a worker that stopped making progress, saying why."""
        if worker.failure is not None or worker.process.poll() is not None:
            return
        reason = worker.stalled(self.stall_timeout)
        if reason is None:
            return
        worker.failure = reason
        worker.process.send_signal(signal.SIGTERM)
        try:
            worker.process.wait(timeout=TERMINATE_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()

    def _start(self, job: Job, slot: WorkerSlot, paths: SuitePaths, events: Events) -> _Worker:
        spec, log_path = paths.job_spec(job.job_id), paths.job_log(job.job_id)
        log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115
        env = slot.env_for(job)
        process = self.spare.take(spec, env, log_path) if self.spare else None
        if process is None:
            process = subprocess.Popen(
                [sys.executable, "-m", "runners.worker", str(spec)], stdout=subprocess.PIPE,
                stderr=log, text=True, env=worker_environment(env))

        def read_output() -> None:
            split_output(process.stdout, log, lambda event: events.put((job.job_id, event)))
            events.put((job.job_id, None))

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        return _Worker(job, slot, process, log, reader)

    @staticmethod
    def _drain(events: Events, running: dict[str, _Worker], display: ProgressDisplay,
               seconds: float = POLL_SECONDS) -> None:
        """Pass the workers' events to the display for up to `seconds`, returning early when
        a worker's output ends (it is exiting)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                job_id, event = events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            worker = running.get(job_id)
            if worker is None:
                continue
            if event is None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=POLL_SECONDS)
                return
            worker.heard(event)
            if event.get("event") == "compiled":
                worker.compile_seconds = event["seconds"]
            elif event.get("event") == "progress" and event.get("sps"):
                worker.last_sps = event["sps"]
            elif event.get("event") == "job_failed":
                worker.failure = event["reason"]
            elif event.get("event") == "elsewhere":
                worker.elsewhere.append(event["why"])
            display.job_event(worker.job, event)

    @staticmethod
    def _finish(worker: _Worker, paths: SuitePaths, display: ProgressDisplay) -> JobOutcome:
        worker.log.close()
        job, process = worker.job, worker.process
        reason = worker.failure or worker_exit_reason(process.returncode, process.pid, job, paths,
                                                      paths.job_log(job.job_id))
        detail = (f"{time.monotonic() - worker.started:.0f}s, compile "
                  f"{worker.compile_seconds or 0:.1f}s, {worker.last_sps or 0:,.0f} SPS/run")
        if worker.elsewhere:
            trained = "" if worker.compile_seconds is None else f"{detail}; "
            detail = f"{trained}{len(worker.elsewhere)} left to other processes " \
                     f"({worker.elsewhere[0]})"
        return settle(job, paths, display, reason, recorded_by=process.pid, detail=detail,
                      holder=worker_process(process.pid))

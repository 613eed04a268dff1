"""The Slurm engine: job arrays through submitit, one array task per job (or a few small jobs).

A task trains its jobs in turn inside the Slurm allocation. On preemption or time-out Slurm
signals the task, submitit requeues it, and the requeued task resumes every run from its last
stored chunk. Arrays are cut below the cluster's `MaxArraySize`; each array waits for the one
before it, so at most `array_parallelism` tasks run at once.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.jobs import Job
from harness.store import SuitePaths
from harness.store.atomic import read_json, write_json
from harness.suite.runner_settings import SlurmSettings
from runners.base import JobOutcome, RunnerSetupError
from runners.outcome import settle
from runners.progress import ProgressDisplay
from runners.store_watch import StoreWatcher, stalled

DEFAULT_MAX_ARRAY_SIZE = 1001
"""Slurm's default `MaxArraySize`: array indices run from 0 to this minus one."""
POLL_SECONDS = 2.0


def max_array_size() -> int:
    """The cluster's `MaxArraySize` from `scontrol show config` (Slurm's default if unreadable)."""
    try:
        shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                               timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_MAX_ARRAY_SIZE
    for line in shown.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "MaxArraySize" and value.strip().isdigit():
            return int(value.strip())
    return DEFAULT_MAX_ARRAY_SIZE


def _task_folder(paths: SuitePaths) -> Path:
    """submitit's folder pattern: one directory of logs per Slurm job id."""
    return paths.slurm_dir / "%j"


def split(items: Sequence[Any], size: int) -> list[list[Any]]:
    """`items` in consecutive groups of at most `size`."""
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


def live_slurm_jobs(slurm_ids: Sequence[str]) -> dict[str, str]:
    """State of each of `slurm_ids` (`123_4` for array tasks) that Slurm still lists."""
    if not slurm_ids:
        return {}
    arrays = sorted({slurm_id.split("_")[0] for slurm_id in slurm_ids})
    shown = subprocess.run(["squeue", "--noheader", "--array", "--format=%i|%T",
                            "--jobs", ",".join(arrays)], capture_output=True, text=True,
                           timeout=60, check=False)
    if shown.returncode != 0 and "Invalid job id" not in shown.stderr:
        raise RuntimeError(f"squeue failed: {shown.stderr.strip()}")
    states = dict(line.split("|", 1) for line in shown.stdout.split() if "|" in line)
    return {slurm_id: states[slurm_id] for slurm_id in slurm_ids if slurm_id in states}


class SlurmTask:
    """One array task: trains its jobs' spec files in turn; requeued and resumed when signalled.

    submitit calls `checkpoint` on preemption or time-out and resubmits what it returns: the
    same task, whose jobs then continue from their stored checkpoints.
    """

    def __call__(self, spec_files: list[str]) -> list[str]:
        """Train each job; the ids of the runs that failed."""
        from runners.worker import report, run_job_spec

        return [run_id for spec in spec_files for run_id in run_job_spec(Path(spec), report)]

    def checkpoint(self, spec_files: list[str]) -> Any:
        """Requeue this task with the same jobs (their progress is already in the store)."""
        import submitit

        return submitit.helpers.DelayedSubmission(SlurmTask(), spec_files)


class SlurmRunner:
    """Submits jobs as Slurm job arrays and follows them until every task has ended."""

    def __init__(self, settings: SlurmSettings) -> None:
        if shutil.which("sbatch") is None or shutil.which("squeue") is None:
            raise RunnerSetupError("runner.engine slurm: sbatch/squeue not found on PATH; run "
                                   "from a Slurm login node, or choose another engine")
        self.settings = settings

    def run(self, jobs: Sequence[Job], paths: SuitePaths,
            display: ProgressDisplay) -> list[JobOutcome]:
        """Submit every job (or follow the task an earlier `harness run` submitted for it), show
        progress from the store, and collect each task's result."""
        followed = self._in_flight(jobs, paths)
        fresh = [job for job in jobs if not any(job in group for _, group in followed)]
        tasks = followed + self._submit(split(fresh, self.settings.jobs_per_task), paths)
        display.suite_started(len(jobs))
        for slurm_job, task_jobs in tasks:
            for job in task_jobs:
                display.job_started(job, f"slurm {slurm_job.job_id}", status="queued")
        watcher = StoreWatcher(jobs, paths)
        outcomes: dict[str, JobOutcome] = {}
        stalls: dict[str, str] = {}
        while tasks:
            time.sleep(POLL_SECONDS)
            live = live_slurm_jobs([slurm_job.job_id for slurm_job, _ in tasks])
            for job, event in watcher.events():
                display.job_event(job, event)
            for slurm_job, task_jobs in tasks:
                reason = next(filter(None, (stalled(job, paths) for job in task_jobs)), None)
                if reason and slurm_job.job_id in live and slurm_job.job_id not in stalls:
                    stalls[slurm_job.job_id] = reason
                    subprocess.run(["scancel", slurm_job.job_id], check=False,
                                   capture_output=True, timeout=60)
            for slurm_job, task_jobs in [task for task in tasks if task[0].job_id not in live]:
                tasks.remove((slurm_job, task_jobs))
                for job in task_jobs:
                    outcomes[job.job_id] = self._finish(job, slurm_job, paths, display,
                                                        stalls.get(slurm_job.job_id))
        return [outcomes[job.job_id] for job in jobs]

    @staticmethod
    def _in_flight(jobs: Sequence[Job], paths: SuitePaths) -> list[tuple[Any, list[Job]]]:
        """Tasks submitted earlier that are still queued or running, with the jobs they train."""
        import submitit

        ledger = read_json(paths.slurm_ledger) or {}
        earlier = {job.job_id: next((ledger[r.run_id] for r in job.runs if r.run_id in ledger),
                                    None) for job in jobs}
        live = live_slurm_jobs(sorted({i for i in earlier.values() if i is not None}))
        tasks: dict[str, list[Job]] = {}
        for job in jobs:
            if earlier[job.job_id] in live:
                tasks.setdefault(earlier[job.job_id], []).append(job)
        return [(submitit.SlurmJob(_task_folder(paths), slurm_id), group)
                for slurm_id, group in tasks.items()]

    def _submit(self, tasks: list[list[Job]], paths: SuitePaths) -> list[tuple[Any, list[Job]]]:
        """Write the spec files and submit the tasks as arrays chained one after another."""
        import submitit

        if not tasks:
            return []
        settings = self.settings
        executor = submitit.SlurmExecutor(folder=_task_folder(paths), max_num_timeout=100)
        parameters: dict[str, Any] = {
            "job_name": f"harness-{paths.suite}", "time": settings.time_min,
            "cpus_per_task": settings.cpus_per_task,
            "array_parallelism": settings.array_parallelism, "setup": list(settings.setup),
            "additional_parameters": dict(settings.sbatch)}
        if settings.partition:
            parameters["partition"] = settings.partition
        if settings.mem_gb:
            parameters["mem"] = f"{int(settings.mem_gb * 1024)}MB"
        if settings.gpus_per_task:
            parameters["gres"] = f"gpu:{settings.gpus_per_task}"
        specs = [[str(paths.job_spec(job.job_id).resolve()) for job in task] for task in tasks]
        submitted: list[tuple[Any, list[Job]]] = []
        array_id = None
        for group in split(list(range(len(tasks))), settings.max_array_size or max_array_size()):
            after = {"dependency": f"afterany:{array_id}"} if array_id else {}
            executor.update_parameters(**parameters, **after)
            array = executor.map_array(SlurmTask(), [specs[i] for i in group])
            array_id = array[0].job_id.split("_")[0]
            submitted += [(slurm_job, tasks[i]) for slurm_job, i in zip(array, group, strict=True)]
        self._record(paths, submitted)
        return submitted

    @staticmethod
    def _record(paths: SuitePaths, submitted: list[tuple[Any, list[Job]]]) -> None:
        """Keep which Slurm task trains which run, next to the task logs."""
        known = read_json(paths.slurm_ledger) or {}
        for slurm_job, task_jobs in submitted:
            for job in task_jobs:
                known.update(dict.fromkeys((run.run_id for run in job.runs), slurm_job.job_id))
        write_json(paths.slurm_ledger, known)

    @staticmethod
    def _finish(job: Job, slurm_job: Any, paths: SuitePaths, display: ProgressDisplay,
                stall: str | None = None) -> JobOutcome:
        """The outcome of a job whose task has left the queue (cancelled by us when `stall`
        says why), read from the store."""
        reason = stall
        if reason is None and not slurm_job.paths.result_pickle.exists():
            reason = (f"Slurm task {slurm_job.job_id} ended without a result (cancelled, out of "
                      f"memory or node failure); see {slurm_job.paths.stderr}")
        elif reason is None and slurm_job.exception() is not None:
            reason = f"Slurm task {slurm_job.job_id} raised; see {slurm_job.paths.stderr}"
        task = slurm_job.job_id
        return settle(job, paths, display, reason, detail=f"Slurm task {task}",
                      holder=lambda lease: lease.slurm_task == task)

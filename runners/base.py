"""The runner interface: take jobs, train them somewhere, return one outcome per job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.jobs import Job
from harness.store import SuitePaths
from harness.suite.runner_settings import RunnerSettings
from runners.progress import ProgressDisplay
from runners.spare import SpareWorker


class RunnerSetupError(RuntimeError):
    """The engine cannot start here (no devices, no Slurm, no Ray); the message says why."""


@dataclass(frozen=True)
class JobOutcome:
    """What became of a job: the runs that failed, and why the job failed if it did."""

    job: Job
    failed_runs: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """Every run of the job finished."""
        return not self.failed_runs and self.reason is None


class Runner(Protocol):
    """An execution engine."""

    def run(self, jobs: Sequence[Job], paths: SuitePaths,
            display: ProgressDisplay) -> list[JobOutcome]:
        """Train every job, reporting progress to `display`; return outcomes in job order."""
        ...


def make_runner(settings: RunnerSettings, spare: SpareWorker | None = None) -> Runner:
    """The runner for `settings.engine`, configured from `settings`. The local engine gets
    `spare`; any other stops it (the devices engine's slots set `CUDA_VISIBLE_DEVICES`, which
    must be set before JAX is imported)."""
    if settings.engine == "local":
        from runners.local import LocalRunner, cpu_slots

        return LocalRunner(cpu_slots(settings.workers) if settings.workers else None,
                           settings.stall_timeout, spare)
    if spare is not None:
        spare.close()
    if settings.engine == "devices":
        from runners.devices import device_runner

        return device_runner(settings.device_ids, settings.jobs_per_device,
                             settings.stall_timeout)
    if settings.engine == "slurm":
        from runners.slurm import SlurmRunner

        return SlurmRunner(settings.slurm)
    from runners.ray import RayRunner

    return RayRunner(settings.ray)

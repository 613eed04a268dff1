"""The runner interface: take jobs, train them somewhere, return one outcome per job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.jobs import Job
from harness.store import SuitePaths
from runners.progress import ProgressDisplay


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


def make_runner(engine: str, workers: int | None) -> Runner:
    """The runner for `engine` ("local")."""
    if engine == "local":
        from runners.local import LocalRunner

        return LocalRunner(workers)
    raise ValueError(f"unknown runner engine {engine!r} (known: local)")

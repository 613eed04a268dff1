"""Plan and run a suite: expand runs, skip the done ones, hand the rest to a runner as jobs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.jobs import Job, plan_jobs
from harness.runs import Run, expand
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.suite import Suite
from runners import JobOutcome, make_runner
from runners.progress import ProgressDisplay


@dataclass(frozen=True)
class Plan:
    """A suite's runs, what the store says of each, and the jobs still to train."""

    suite: Suite
    paths: SuitePaths
    runs: tuple[Run, ...]
    statuses: dict[str, dict]

    def status_of(self, run: Run) -> str:
        """The stored status of `run` ("pending" when it never started)."""
        return self.statuses[run.run_id]["status"]

    @property
    def todo(self) -> list[Run]:
        """Runs that are not done."""
        return [run for run in self.runs if self.status_of(run) != RunStatus.DONE]

    @property
    def jobs(self) -> list[Job]:
        """The jobs that would train the runs still to do."""
        return plan_jobs(self.todo, self.suite.runs_per_job)


def make_plan(suite: Suite, results_dir: Path | None = None) -> Plan:
    """Expand `suite` and read the status of each run from the store (writes nothing)."""
    paths = SuitePaths(Path(results_dir or suite.results_dir), suite.name)
    runs = tuple(expand(suite))
    statuses = {run.run_id: RunRecord(paths.run(run.run_id)).status() for run in runs}
    return Plan(suite, paths, runs, statuses)


def run_plan(plan: Plan, workers: int | None = None, display: ProgressDisplay | None = None
             ) -> list[JobOutcome]:
    """Train every job of `plan` with the suite's runner; return one outcome per job."""
    jobs = plan.jobs
    if not jobs:
        return []
    plan.paths.jobs_dir.mkdir(parents=True, exist_ok=True)
    runner = make_runner(plan.suite.runner.engine, workers or plan.suite.runner.workers)
    with display or ProgressDisplay() as shown:
        return runner.run(jobs, plan.paths, shown)

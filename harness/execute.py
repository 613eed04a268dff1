"""Plan and run a suite: expand runs, skip the done ones, hand the rest to a runner as jobs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.jobs import Job, plan_jobs
from harness.runs import Run, expand
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.suite import Suite
from harness.suite.runner_settings import RunnerSettings
from harness.tracking.wandb_sink import write_tracking
from runners import Runner, make_runner
from runners.progress import ProgressDisplay


@dataclass(frozen=True)
class Plan:
    """A suite's runs, what the store says of each, and the jobs still to train."""

    suite: Suite
    paths: SuitePaths
    runs: tuple[Run, ...]
    statuses: dict[str, dict]
    settings: RunnerSettings
    retry_failed: bool = False
    """Train failed runs again even when their retries are used up."""
    wandb: dict[str, Any] | None = None
    """Resolved W&B settings the workers mirror metrics to (None: W&B off)."""

    def status_of(self, run: Run) -> str:
        """The stored status of `run` ("pending" when it never started)."""
        return self.statuses[run.run_id]["status"]

    def gave_up(self, run: Run) -> bool:
        """Whether `run` failed for good: it diverged, or it failed more than `retries` times."""
        state = self.statuses[run.run_id]
        if state["status"] != RunStatus.FAILED or self.retry_failed:
            return False
        return state.get("retryable") is False or state.get("failures", 1) > self.settings.retries

    @property
    def todo(self) -> list[Run]:
        """Runs that are not done and not given up on."""
        return [run for run in self.runs
                if self.status_of(run) != RunStatus.DONE and not self.gave_up(run)]

    @property
    def jobs(self) -> list[Job]:
        """The jobs that would train the runs still to do."""
        return plan_jobs(self.todo, self.suite.runs_per_job)

    def refreshed(self) -> Plan:
        """The same plan with statuses read again from the store (retries counted as usual)."""
        return replace(self, statuses=_stored_statuses(self.paths, self.runs), retry_failed=False)


def _stored_statuses(paths: SuitePaths, runs: tuple[Run, ...]) -> dict[str, dict]:
    """The stored status of each run, by run id."""
    return {run.run_id: RunRecord(paths.run(run.run_id)).status() for run in runs}


def make_plan(suite: Suite, results_dir: Path | None = None,
              settings: RunnerSettings | None = None, retry_failed: bool = False,
              wandb: dict[str, Any] | None = None) -> Plan:
    """Expand `suite` and read the status of each run from the store (writes nothing)."""
    paths = SuitePaths(Path(results_dir or suite.results_dir), suite.name)
    runs = tuple(expand(suite))
    return Plan(suite, paths, runs, _stored_statuses(paths, runs), settings or suite.runner,
                retry_failed, wandb)


def run_plan(plan: Plan, runner: Runner | None = None,
             display: ProgressDisplay | None = None) -> Plan:
    """Train every job of `plan` with its runner, retrying failed runs; the plan afterwards.

    Each round trains the jobs still to do; a round that leaves failures is followed by another
    for the runs that may be retried, until none is left.
    """
    jobs = plan.jobs
    if not jobs:
        return plan
    runner = runner or make_runner(plan.settings)
    plan.paths.jobs_dir.mkdir(parents=True, exist_ok=True)
    write_tracking(plan.paths, plan.wandb)
    with display or ProgressDisplay() as shown:
        while jobs:
            outcomes = runner.run(jobs, plan.paths, shown)
            plan = plan.refreshed()
            if all(outcome.ok for outcome in outcomes):
                break
            jobs = plan.jobs
            if jobs:
                shown.retrying(sum(len(job.runs) for job in jobs))
    return plan

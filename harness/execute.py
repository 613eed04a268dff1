"""Plan and run a suite: expand runs, skip the done ones, hand the rest to a runner as jobs.

Several `harness run`s (on one host or many) may work on one suite at once: each run is trained
under a lease, so a run another process is training is left to it, and this `harness run`
follows it until it ends before it returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.jobs import Job, plan_jobs
from harness.retries import Retries
from harness.runs import Run, expand
from harness.store import SuitePaths
from harness.store.atomic import remove_stray_temporaries
from harness.store.state import RunState, RunView, inspect_run
from harness.suite import Suite
from harness.suite.runner_settings import RunnerSettings
from harness.tracking.settings import write_tracking
from runners.base import Runner, make_runner
from runners.progress import ProgressDisplay
from runners.protocol import write_job_spec
from runners.store_watch import StoreWatcher

FOLLOW_SECONDS = 2.0
"""How often runs trained by other processes are looked at while this process waits."""
STRAY_SECONDS = 3600.0
"""Temporary files of the suite directory older than this were left by a killed process."""


class ResultsDirError(OSError):
    """The results directory cannot be written (a file in the way, read-only, no space)."""


@dataclass(frozen=True)
class Plan:
    """A suite's runs, what the store says of each, and the jobs still to train."""

    suite: Suite
    paths: SuitePaths
    runs: tuple[Run, ...]
    views: dict[str, RunView]
    settings: RunnerSettings
    retry_failed: bool = False
    """Train failed runs again even when their retries are used up."""
    wandb: dict[str, Any] | None = None
    """Resolved W&B settings the workers mirror metrics to (None: W&B off)."""

    @property
    def retries(self) -> Retries:
        """How failed runs are treated."""
        return Retries(self.settings.retries, self.retry_failed)

    def state_of(self, run: Run) -> RunState:
        """The state of `run` in the store (running, stale, interrupted, done, ...)."""
        return self.views[run.run_id].state

    def gave_up(self, run: Run) -> bool:
        """Whether `run` failed for good: it diverged, or it failed more than `retries` times."""
        return self.retries.gave_up(self.views[run.run_id].status)

    @property
    def todo(self) -> list[Run]:
        """Runs to train here: not done, not given up on, not held by another process."""
        return [run for run in self.runs
                if self.state_of(run) != RunState.DONE and not self.gave_up(run)
                and not self.views[run.run_id].held]

    @property
    def elsewhere(self) -> list[Run]:
        """Runs another process is training now (a live lease, on any host)."""
        return [run for run in self.runs if self.views[run.run_id].held]

    @property
    def jobs(self) -> list[Job]:
        """The jobs that would train the runs still to do (runs at equal progress together)."""
        progress = {run.run_id: self.views[run.run_id].progress for run in self.todo}
        return plan_jobs(self.todo, self.suite.runs_per_job, self.suite.logging.max_rows,
                         progress)

    def with_runs(self, runs: Iterable[Run]) -> Plan:
        """The same plan over other `runs` (e.g. a later stage's), read from the store."""
        runs = tuple(runs)
        return replace(self, runs=runs, views=_stored_views(self.paths, runs))

    def refreshed(self) -> Plan:
        """The same plan with the store read again (retries counted as usual)."""
        return replace(self, views=_stored_views(self.paths, self.runs), retry_failed=False)


def _stored_views(paths: SuitePaths, runs: tuple[Run, ...]) -> dict[str, RunView]:
    """What the store says of each run, by run id."""
    return {run.run_id: inspect_run(paths.run(run.run_id)) for run in runs}


def make_plan(suite: Suite, results_dir: Path | None = None,
              settings: RunnerSettings | None = None, retry_failed: bool = False,
              wandb: dict[str, Any] | None = None) -> Plan:
    """Expand `suite` and read the state of each run from the store (writes nothing)."""
    paths = SuitePaths(Path(results_dir or suite.results_dir), suite.name)
    runs = tuple(expand(suite))
    return Plan(suite, paths, runs, _stored_views(paths, runs), settings or suite.runner,
                retry_failed, wandb)


def prepare_results(plan: Plan) -> None:
    """Check that the suite's results directory can be written, tell the workers where to
    mirror metrics, and remove temporary files killed processes left there long ago."""
    paths = plan.paths
    try:
        paths.jobs_dir.mkdir(parents=True, exist_ok=True)
        write_tracking(paths, plan.wandb)
    except OSError as err:
        raise ResultsDirError(f"cannot write results under {paths.dir}: "
                              f"{err.strerror or err}") from None
    for directory in (paths.dir, paths.jobs_dir):
        remove_stray_temporaries(directory, STRAY_SECONDS)


def run_plan(plan: Plan, runner: Runner | None = None,
             display: ProgressDisplay | None = None) -> Plan:
    """Train every job of `plan` with its runner, retrying failed runs and following runs
    other processes train, until no run is left to train or to wait for; the plan afterwards.
    """
    if not plan.jobs and not plan.elsewhere:
        return plan
    runner = runner or make_runner(plan.settings)
    prepare_results(plan)
    rounds = 0
    with display or ProgressDisplay() as shown:
        while True:
            jobs = plan.jobs
            if jobs and rounds <= plan.settings.retries:
                if rounds:
                    shown.retrying(sum(len(job.runs) for job in jobs))
                for job in jobs:
                    write_job_spec(job, plan.paths, plan.retries, plan.settings.stall_timeout)
                runner.run(jobs, plan.paths, shown)
                rounds += 1
                plan = plan.refreshed()
                continue
            if not plan.elsewhere:
                return plan
            follow(plan, shown)
            plan = plan.refreshed()


def follow(plan: Plan, display: ProgressDisplay) -> None:
    """Show the runs other processes train until none of them is held any more."""
    jobs = plan_jobs(plan.elsewhere, plan.suite.runs_per_job)
    display.suite_started(len(jobs))
    for job in jobs:
        holder = plan.views[job.runs[0].run_id].lease
        display.job_started(job, holder.holder if holder else "another process",
                            status="trained elsewhere")
    watcher = StoreWatcher(jobs, plan.paths)
    waiting = list(jobs)
    while waiting:
        time.sleep(FOLLOW_SECONDS)
        for job, event in watcher.events():
            display.job_event(job, event)
        for job in list(waiting):
            views = [inspect_run(plan.paths.run(run.run_id)) for run in job.runs]
            if not any(view.held for view in views):
                waiting.remove(job)
                ok = all(view.state == RunState.DONE for view in views)
                display.job_finished(job, ok, "trained by another process")


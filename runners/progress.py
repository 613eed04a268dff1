"""The live display of a suite: one bar per running job (steps, SPS, ETA) and a line per finish."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from harness.jobs import Job


def _steps_per_run(job: Job) -> int:
    run = job.runs[0]
    return run.num_updates * run.steps_per_update


class ProgressDisplay:
    """Shows each running job's steps, steps per second per run, elapsed time and ETA."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:>10,.0f}/{task.total:,.0f} {task.fields[unit]}"),
            TextColumn("{task.fields[sps]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._suite_task: TaskID | None = None

    def __enter__(self) -> ProgressDisplay:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def suite_started(self, jobs: int) -> None:
        """Add the overall bar, counted in jobs."""
        self._suite_task = self._progress.add_task("suite", total=jobs, sps="", unit="jobs")

    def job_started(self, job: Job, where: str = "", status: str = "compiling") -> None:
        """Add a bar for `job` (on `where`, e.g. a device), showing `status` until progress."""
        label = escape(f"{job.describe()} [{where}]" if where else job.describe())
        self._tasks[job.job_id] = self._progress.add_task(
            label, total=_steps_per_run(job), sps=status, unit="steps")

    def job_event(self, job: Job, event: dict[str, Any]) -> None:
        """Apply a worker event (compiled, progress, repaired, run_lost, run_failed) to the job's
        bar."""
        task = self._tasks.get(job.job_id)
        if task is None:
            return
        kind = event.get("event")
        if kind == "started":
            self._progress.update(task, sps="started")
        elif kind == "compiled":
            self._progress.update(task, sps=f"compiled in {event['seconds']:.1f}s")
        elif kind == "progress" and event.get("sps") is None:
            self._progress.update(task, completed=event["global_step"])
        elif kind == "progress":
            self._progress.update(task, completed=event["global_step"],
                                  sps=f"{event['sps']:,.0f} SPS/run")
        elif kind == "repaired":
            self.console.print(f"[yellow]run {event['run_id']} repaired:[/yellow] "
                               f"{escape(event['note'])}", markup=True, highlight=False,
                               soft_wrap=True)
        elif kind == "run_lost":
            self.console.print(f"[yellow]run {event['run_id']} left:[/yellow] "
                               f"{escape(event['reason'])}", markup=True, highlight=False,
                               soft_wrap=True)
        elif kind == "run_failed":
            self.console.print(f"[red]run {event['run_id']} failed:[/red] {event['reason']}",
                               markup=True, highlight=False, soft_wrap=True)

    def job_finished(self, job: Job, ok: bool, detail: str) -> None:
        """Remove the job's bar and print one line saying how it ended."""
        task = self._tasks.pop(job.job_id, None)
        if task is not None:
            self._progress.remove_task(task)
        if self._suite_task is not None:
            self._progress.advance(self._suite_task)
        mark = "[green]done[/green]" if ok else "[red]failed[/red]"
        self.console.print(f"{mark} {escape(job.describe())} ({job.job_id}): {detail}", markup=True,
                           highlight=False, soft_wrap=True)

    def retrying(self, runs: int) -> None:
        """Say that `runs` failed runs are being trained again."""
        self.console.print(f"[yellow]retrying {runs} failed run{'s' if runs != 1 else ''}"
                           "[/yellow]", markup=True, highlight=False)

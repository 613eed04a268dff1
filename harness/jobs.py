"""Jobs: the runs one process trains together, batched along a vmap axis."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.runs import Run


def batch_key(run: Run) -> tuple:
    """Runs with equal keys share one compiled program (they differ in seed or traced values)."""
    return (run.algo, run.env_id, run.backend, run.total_timesteps,
            tuple(sorted((run.evaluation or {}).items())),
            run.hyperparameters.static_key)


@dataclass(frozen=True)
class Job:
    """Runs trained in one process by one compiled, vmapped program."""

    suite: str
    runs: tuple[Run, ...]
    max_rows: int | None = None
    """Metric rows kept per run (the suite's `logging.max_rows`; None: one per update)."""

    @property
    def largest_product(self) -> int:
        """Multiply-adds of the job's largest matrix product, about: every run's gradient
        batch through the widest hidden layer (the runs share their shapes)."""
        return len(self.runs) * self.runs[0].hyperparameters.largest_product

    @property
    def job_id(self) -> str:
        """Stable id derived from the run ids."""
        digest = hashlib.sha256(",".join(r.run_id for r in self.runs).encode()).hexdigest()
        return f"job-{digest[:12]}"

    def describe(self) -> str:
        """Short human label, e.g. `ppo CartPole-v1 seeds 0,1` (a sweep's job: its first
        configuration and how many more)."""
        first = self.runs[0]
        names = sorted({r.exp_name for r in self.runs})
        shown = "+".join(names) if len(names) <= 2 else f"{names[0]} +{len(names) - 1} more"
        seeds = ",".join(str(s) for s in sorted({r.seed for r in self.runs}))
        return f"{shown} {first.env_id} seeds {seeds}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by `from_dict` in the worker."""
        return {"suite": self.suite, "job_id": self.job_id, "max_rows": self.max_rows,
                "runs": [run.config for run in self.runs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """Rebuild a job from `to_dict`'s output."""
        return cls(suite=data["suite"], max_rows=data.get("max_rows"),
                   runs=tuple(Run.from_config(data["suite"], c) for c in data["runs"]))


def plan_jobs(runs: Iterable[Run], runs_per_job: int, max_rows: int | None = None,
              progress: Mapping[str, int] | None = None) -> list[Job]:
    """Group runs that can share a compiled program and have made the same progress (stored
    steps, by run id), in slices of at most `runs_per_job`."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        key = (*batch_key(run), (progress or {}).get(run.run_id, 0))
        groups.setdefault(key, []).append(run)
    return [
        Job(suite=group[0].suite, runs=tuple(group[i:i + runs_per_job]), max_rows=max_rows)
        for group in groups.values()
        for i in range(0, len(group), runs_per_job)
    ]

"""Jobs: the runs one process trains together, batched along a vmap axis."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.runs import Run


def batch_key(run: Run) -> tuple:
    """Runs with equal keys share one compiled program (they differ in seed or traced values)."""
    return (run.algo, run.env_id, run.backend, run.total_timesteps,
            tuple(sorted((run.evaluation or {}).items())),
            tuple(sorted(run.hyperparameters.static_values().items())))


@dataclass(frozen=True)
class Job:
    """Runs trained in one process by one compiled, vmapped program."""

    suite: str
    runs: tuple[Run, ...]

    @property
    def job_id(self) -> str:
        """Stable id derived from the run ids."""
        digest = hashlib.sha256(",".join(r.run_id for r in self.runs).encode()).hexdigest()
        return f"job-{digest[:12]}"

    def describe(self) -> str:
        """Short human label, e.g. `ppo CartPole-v1 seeds 0,1`."""
        first = self.runs[0]
        names = sorted({r.exp_name for r in self.runs})
        seeds = ",".join(str(r.seed) for r in self.runs)
        return f"{'+'.join(names)} {first.env_id} seeds {seeds}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by `from_dict` in the worker."""
        return {"suite": self.suite, "job_id": self.job_id,
                "runs": [run.config for run in self.runs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """Rebuild a job from `to_dict`'s output."""
        return cls(suite=data["suite"],
                   runs=tuple(Run.from_config(data["suite"], c) for c in data["runs"]))


def plan_jobs(runs: Iterable[Run], runs_per_job: int) -> list[Job]:
    """Group runs that can share a compiled program, in slices of at most `runs_per_job`."""
    groups: dict[tuple, list[Run]] = {}
    for run in runs:
        groups.setdefault(batch_key(run), []).append(run)
    return [
        Job(suite=group[0].suite, runs=tuple(group[i:i + runs_per_job]))
        for group in groups.values()
        for i in range(0, len(group), runs_per_job)
    ]

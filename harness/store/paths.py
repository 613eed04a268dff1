"""Every path in the store is built here and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

RESULTS_ENV = "HARNESS_RESULTS_DIR"
CONFIG_FILE, METADATA_FILE, STATUS_FILE = "config.json", "metadata.json", "status.json"
METRICS_FILE, EPISODES_FILE = "metrics.arrow", "episodes.arrow"
RECORD_FILES = (STATUS_FILE, CONFIG_FILE, METADATA_FILE, METRICS_FILE, EPISODES_FILE)
"""The files a run's catalog row is read from (the catalog watches their mtimes)."""


def results_root(root: str | Path | None = None) -> Path:
    """The results root: `root`, else `$HARNESS_RESULTS_DIR`, else `results`."""
    return Path(root or os.environ.get(RESULTS_ENV) or "results")


@dataclass(frozen=True)
class RunPaths:
    """Files of one run: `<root>/<suite>/runs/<run_id>/` (each path built once: readers of
    tens of thousands of runs would otherwise spend seconds joining paths)."""

    dir: Path

    @cached_property
    def run_id(self) -> str:
        """The run id (the directory's name)."""
        return self.dir.name

    @cached_property
    def config(self) -> Path:
        """Resolved config (JSON), written before training starts."""
        return self.dir / CONFIG_FILE

    @cached_property
    def metadata(self) -> Path:
        """Provenance and timings (JSON)."""
        return self.dir / METADATA_FILE

    @cached_property
    def status(self) -> Path:
        """Current status (JSON); `done` only once every metric row is stored."""
        return self.dir / STATUS_FILE

    @cached_property
    def metrics(self) -> Path:
        """All metric rows of a finished run, one per update or block of updates (Arrow IPC)."""
        return self.dir / METRICS_FILE

    @cached_property
    def episodes(self) -> Path:
        """Every finished episode of a finished run, training and evaluation (Arrow IPC)."""
        return self.dir / EPISODES_FILE

    @cached_property
    def legacy_metrics(self) -> Path:
        """The metric rows of a run stored before episode tables (Parquet, episodes inside)."""
        return self.dir / "metrics.parquet"

    @cached_property
    def chunks_dir(self) -> Path:
        """Metric rows and episodes of an unfinished run, one file each per chunk."""
        return self.dir / "chunks"

    def chunk(self, index: int) -> Path:
        """Metric rows of training chunk `index`."""
        return self.chunks_dir / f"metrics-{index:05d}.arrow"

    def episode_chunk(self, index: int) -> Path:
        """Episodes that finished in training chunk `index` (and its evaluation)."""
        return self.chunks_dir / f"episodes-{index:05d}.arrow"

    @cached_property
    def checkpoint(self) -> Path:
        """Training state after the last stored chunk (NumPy .npz)."""
        return self.dir / "checkpoint.npz"

    @cached_property
    def leases_dir(self) -> Path:
        """One file per lease taken on the run (`000001.json`, ...); the highest is current."""
        return self.dir / "leases"

    def lease(self, number: int) -> Path:
        """The file of lease `number`."""
        return self.leases_dir / f"{number:06d}.json"

    @cached_property
    def damaged_dir(self) -> Path:
        """Damaged files moved aside when the run was repaired (never deleted)."""
        return self.dir / "damaged"


@dataclass(frozen=True)
class SuitePaths:
    """Files of one suite: `<root>/<suite>/`."""

    root: Path
    suite: str

    @cached_property
    def dir(self) -> Path:
        """The suite's directory."""
        return self.root / self.suite

    @property
    def slurm_dir(self) -> Path:
        """Slurm task logs (`<slurm job id>/`) and the ledger of submitted tasks."""
        return self.dir / "slurm"

    @property
    def slurm_ledger(self) -> Path:
        """Which Slurm task trains each run (JSON: run id → Slurm job id)."""
        return self.slurm_dir / "submitted.json"

    @property
    def pull_staging(self) -> Path:
        """Run directories `harness pull` is building (never read as runs)."""
        return self.dir / ".pull"

    @property
    def tracking(self) -> Path:
        """Where the workers of the latest `harness run` mirror metrics (JSON)."""
        return self.dir / "tracking.json"

    @property
    def catalog(self) -> Path:
        """A cache of every finished run's row for `harness.results` (rebuilt when stale)."""
        return self.dir / "catalog.arrow"

    @cached_property
    def runs_dir(self) -> Path:
        """Parent of every run directory."""
        return self.dir / "runs"

    def run(self, run_id: str) -> RunPaths:
        """Paths of the run `run_id`."""
        return RunPaths(self.runs_dir / run_id)

    def runs(self) -> Iterator[RunPaths]:
        """Paths of every run directory that exists, in id order."""
        if self.runs_dir.is_dir():
            for path in sorted(self.runs_dir.iterdir()):
                if path.is_dir():
                    yield RunPaths(path)

    @property
    def jobs_dir(self) -> Path:
        """Job specs and worker logs."""
        return self.dir / "jobs"

    def job_spec(self, job_id: str) -> Path:
        """The JSON a worker reads to train job `job_id`."""
        return self.jobs_dir / f"{job_id}.json"

    def job_log(self, job_id: str) -> Path:
        """The worker's stdout/stderr for job `job_id`."""
        return self.jobs_dir / f"{job_id}.log"

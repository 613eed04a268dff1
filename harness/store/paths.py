"""Every path in the store is built here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunPaths:
    """Files of one run: `<root>/<suite>/runs/<run_id>/`."""

    dir: Path

    @property
    def run_id(self) -> str:
        """The run id (the directory's name)."""
        return self.dir.name

    @property
    def config(self) -> Path:
        """Resolved config (JSON), written before training starts."""
        return self.dir / "config.json"

    @property
    def metadata(self) -> Path:
        """Provenance and timings (JSON)."""
        return self.dir / "metadata.json"

    @property
    def status(self) -> Path:
        """Current status (JSON); `done` only once every metric row is stored."""
        return self.dir / "status.json"

    @property
    def metrics(self) -> Path:
        """All metric rows of a finished run (Parquet)."""
        return self.dir / "metrics.parquet"

    @property
    def chunks_dir(self) -> Path:
        """Metric rows of an unfinished run, one Parquet file per training chunk."""
        return self.dir / "chunks"

    def chunk(self, index: int) -> Path:
        """Metric rows of training chunk `index`."""
        return self.chunks_dir / f"metrics-{index:05d}.parquet"

    @property
    def checkpoint(self) -> Path:
        """Training state after the last stored chunk (NumPy .npz)."""
        return self.dir / "checkpoint.npz"


@dataclass(frozen=True)
class SuitePaths:
    """Files of one suite: `<root>/<suite>/`."""

    root: Path
    suite: str

    @property
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

"""A worker: train the job described by a spec file, report events on stdout.

Usage: `python -m runners.worker SPEC.json`. Exit code 0 when every run finished, 1 when a run
failed (each failure is recorded in the run's status with its reason).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

from harness.store import SuitePaths
from harness.tracking import MetricSink, NullSink
from harness.tracking.wandb_sink import WandbSink, read_tracking
from harness.training.compile_cache import enable_compilation_cache
from harness.training.job import Report, train_job
from runners.outcome import fail_unfinished, unfinished_runs
from runners.protocol import encode_event, read_job_spec


def report(event: dict[str, Any]) -> None:
    """Send one event to the parent process."""
    sys.stdout.write(encode_event(event))
    sys.stdout.flush()


def run_job_spec(spec_path: Path, events: Report = report) -> list[str]:
    """Train the job of a spec file, recording any exception on its unfinished runs; return
    the ids of the runs that failed."""
    spec = read_job_spec(spec_path)
    sink = make_sink(spec.paths)
    try:
        return train_job(spec.job, spec.paths, events, submitted_at=spec.submitted_at,
                         sink=sink)
    except Exception as err:  # noqa: BLE001 - every failure is recorded, then reported
        traceback.print_exc()
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        fail_unfinished(spec.job, spec.paths, reason, recorded_by=os.getpid())
        events({"event": "job_failed", "job_id": spec.job.job_id, "reason": reason})
        return list(unfinished_runs(spec.job, spec.paths))
    finally:
        sink.close()


def make_sink(paths: SuitePaths) -> MetricSink:
    """The W&B mirror the suite's latest `harness run` asked for, or none."""
    wandb_spec = read_tracking(paths)
    return NullSink() if wandb_spec is None else WandbSink(wandb_spec, paths)


def main(argv: list[str] | None = None) -> int:
    """Train the job in the spec file named by the only argument."""
    (spec_path,) = argv if argv is not None else sys.argv[1:]
    enable_compilation_cache()
    return 1 if run_job_spec(Path(spec_path)) else 0


if __name__ == "__main__":
    sys.exit(main())

"""A worker process: train the job described by a spec file, report events on stdout.

Usage: `python -m runners.worker SPEC.json`. Exit code 0 when every run finished, 1 when a run
failed (each failure is recorded in the run's status with its reason).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from harness.training.compile_cache import enable_compilation_cache
from harness.training.job import fail_unfinished, train_job
from runners.protocol import encode_event, read_job_spec


def report(event: dict[str, Any]) -> None:
    """Send one event to the parent process."""
    sys.stdout.write(encode_event(event))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    """Train the job in the spec file named by the only argument."""
    (spec_path,) = argv if argv is not None else sys.argv[1:]
    job, paths = read_job_spec(Path(spec_path))
    enable_compilation_cache()
    try:
        failed = train_job(job, paths, report)
    except Exception as err:  # noqa: BLE001 - every failure is recorded, then the worker exits
        traceback.print_exc()
        reason = f"{type(err).__name__}: {err}".splitlines()[0]
        fail_unfinished(job, paths, reason)
        report({"event": "job_failed", "job_id": job.job_id, "reason": reason})
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

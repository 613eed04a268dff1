"""What passes between a runner and its workers: the job spec file and event lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.jobs import Job
from harness.store import SuitePaths
from harness.store.atomic import write_json

EVENT_PREFIX = "@harness-event "
"""A worker's stdout line starting with this is an event; the rest of the line is JSON."""


def write_job_spec(job: Job, paths: SuitePaths) -> Path:
    """Store what a worker needs to train `job`; return the spec file's path."""
    spec = paths.job_spec(job.job_id)
    write_json(spec, {"results_dir": str(paths.root.resolve()), "job": job.to_dict()})
    return spec


def read_job_spec(spec: Path) -> tuple[Job, SuitePaths]:
    """The job and store paths of a spec file written by `write_job_spec`."""
    data = json.loads(spec.read_text(encoding="utf-8"))
    job = Job.from_dict(data["job"])
    return job, SuitePaths(Path(data["results_dir"]), job.suite)


def encode_event(event: dict[str, Any]) -> str:
    """One stdout line carrying `event`."""
    return EVENT_PREFIX + json.dumps(event) + "\n"


def decode_event(line: str) -> dict[str, Any] | None:
    """The event carried by a worker's stdout line, or None for ordinary output."""
    return json.loads(line[len(EVENT_PREFIX):]) if line.startswith(EVENT_PREFIX) else None

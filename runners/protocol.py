"""What passes between a runner and its workers: the job spec file and event lines."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.jobs import Job
from harness.retries import Retries
from harness.store import SuitePaths
from harness.store.atomic import write_json
from harness.store.lease import DEFAULT_STALL_TIMEOUT

EVENT_PREFIX = "@harness-event "
"""A worker's stdout line starting with this is an event; the rest of the line is JSON."""


@dataclass(frozen=True)
class JobSpec:
    """A job handed to a worker: the job, where its results go, when it was submitted, and
    how failed runs and stalls are treated."""

    job: Job
    paths: SuitePaths
    submitted_at: float | None
    """Seconds since the epoch at submission (scheduling overhead is measured from here);
    None in specs written before it was recorded."""
    retries: Retries = Retries()
    stall_timeout: float = DEFAULT_STALL_TIMEOUT


def write_job_spec(job: Job, paths: SuitePaths, retries: Retries | None = None,
                   stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> Path:
    """Store what a worker needs to train `job`, stamped now; return the spec file's path."""
    spec = paths.job_spec(job.job_id)
    retries = retries or Retries()
    write_json(spec, {"results_dir": str(paths.root.resolve()), "submitted_at": time.time(),
                      "retries": retries.retries, "retry_failed": retries.retry_failed,
                      "stall_timeout": stall_timeout, "job": job.to_dict()})
    return spec


def read_job_spec(spec: Path) -> JobSpec:
    """The job spec in a file written by `write_job_spec`."""
    data = json.loads(spec.read_text(encoding="utf-8"))
    job = Job.from_dict(data["job"])
    retries = Retries(data.get("retries", Retries.retries),
                      data.get("retry_failed", Retries.retry_failed))
    return JobSpec(job, SuitePaths(Path(data["results_dir"]), job.suite),
                   data.get("submitted_at"), retries,
                   data.get("stall_timeout", DEFAULT_STALL_TIMEOUT))


def encode_event(event: dict[str, Any]) -> str:
    """One stdout line carrying `event`."""
    return EVENT_PREFIX + json.dumps(event) + "\n"


def decode_event(line: str) -> dict[str, Any] | None:
    """The event carried by a worker's stdout line, or None for ordinary output."""
    return json.loads(line[len(EVENT_PREFIX):]) if line.startswith(EVENT_PREFIX) else None


def split_output(stream: IO[str], log: IO[str],
                 on_event: Callable[[dict[str, Any]], None]) -> None:
    """Read a worker's stdout to its end: events go to `on_event`, any other line to `log`."""
    for line in stream:
        event = decode_event(line)
        if event is not None:
            on_event(event)
        else:
            log.write(line)
            log.flush()

"""A worker: claim the runs of the job in a spec file, train them, report events on stdout.

Usage: `python -m runners.worker SPEC.json`, or `python -m runners.worker --wait` for a spare
worker (runners/spare.py) that imports first and then reads its job from stdin. Exit code 0
when every run it trained finished (runs another process holds are left to it, and reported as
`elsewhere` events), 1 when a run failed (each failure is recorded in the run's status with its
reason). On SIGTERM the worker releases its leases and exits; the runs it held show as
interrupted and resume from their last chunk.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.claim import Claim, claim_runs
from harness.errors import error_line
from harness.store import RunStatus, SuitePaths
from harness.store.lease import Lease, LeaseLost, slurm_task
from harness.tracking.settings import read_tracking
from harness.tracking.sink import MetricSink, NullSink
from runners.cpus import restrict_to_share
from runners.protocol import encode_event, read_job_spec
from runners.spare import WAIT_FLAG

Report = Callable[[dict[str, Any]], None]
HANG_AFTER_CHUNK = "HARNESS_TEST_HANG_AFTER_CHUNK"
"""Test-only: a worker stops making progress after storing this chunk (see HANG_MARKER)."""
HANG_MARKER = "HARNESS_TEST_HANG_MARKER"
"""Test-only: the file whose creation marks that a worker hung once; later workers go on."""
PRELOAD = ("jax.numpy", "flax.linen", "optax", "harness.algos.ppo.agent",
           "harness.algos.dqn.agent", "harness.algos.sac.agent", "harness.envs.gymnasium_backend",
           "harness.store.checkpoint", "harness.store.provenance", "harness.training.metrics",
           "harness.training.compile_cache")
"""What a spare worker imports before it takes a job: most of a worker's imports, and none
that starts JAX's backend (gymnax's environments do, at import)."""


def report(event: dict[str, Any]) -> None:
    """Send one event to the parent process."""
    sys.stdout.write(encode_event(event))
    sys.stdout.flush()


def hang_once(events: Report) -> Report:
    """`events`, hanging forever after the chunk `$HARNESS_TEST_HANG_AFTER_CHUNK` of the first
    worker to get there (tests of stall detection); `events` itself when the hook is unset."""
    after, marker = os.environ.get(HANG_AFTER_CHUNK), os.environ.get(HANG_MARKER)
    if not after or not marker:
        return events

    def hanging(event: dict[str, Any]) -> None:
        events(event)
        if event.get("event") == "progress" and event["chunk"] >= int(after):
            try:
                Path(marker).touch(exist_ok=False)
            except FileExistsError:
                return
            while True:
                time.sleep(3600)

    return hanging


def _own_slurm_task(lease: Lease) -> bool:
    """A lease left by an earlier run of this very Slurm task (it was requeued) may be taken."""
    task = slurm_task()
    return task is not None and lease.slurm_task == task


def run_job_spec(spec_path: Path, events: Report = report) -> list[str]:
    """Claim and train the runs of a spec file's job; return the ids of the runs that failed.

    Any exception is recorded as the failure of every run this worker still holds."""
    spec = read_job_spec(spec_path)
    job, paths = spec.job, spec.paths
    claims, skipped = claim_runs(job.runs, paths, job_id=job.job_id, retries=spec.retries,
                                 timeout_seconds=spec.stall_timeout, may_take=_own_slurm_task)
    for skip in skipped:
        if skip.elsewhere:
            events({"event": "elsewhere", "job_id": job.job_id, "run_id": skip.run.run_id,
                    "why": skip.why})
    if not claims:
        return []
    from harness.training.compile_cache import enable_compilation_cache
    from harness.training.job import train_job

    enable_compilation_cache()
    sink = make_sink(paths)
    try:
        return train_job(job, paths, hang_once(events), submitted_at=spec.submitted_at,
                         sink=sink, claims=claims, stall_timeout=spec.stall_timeout)
    except Exception as err:  # noqa: BLE001 - every failure is recorded, then reported
        traceback.print_exc()
        reason = error_line(err)
        _fail_held(claims, reason, job.job_id)
        events({"event": "job_failed", "job_id": job.job_id, "reason": reason})
        return [claim.run.run_id for claim in claims if _failed(claim)]
    except BaseException:
        for claim in claims:
            with contextlib.suppress(Exception):
                claim.writer.release("interrupted")
        raise
    finally:
        sink.close()


def _fail_held(claims: list[Claim], reason: str, job_id: str) -> None:
    """Record `reason` on every claimed run whose lease this worker still holds."""
    for claim in claims:
        if not claim.writer.released:
            with contextlib.suppress(LeaseLost):
                claim.writer.fail(reason, job_id=job_id)


def _failed(claim: Claim) -> bool:
    return claim.writer.record.status()["status"] == RunStatus.FAILED


def make_sink(paths: SuitePaths) -> MetricSink:
    """The W&B mirror the suite's latest `harness run` asked for, or none."""
    from harness.tracking.wandb_sink import WandbSink

    wandb_spec = read_tracking(paths)
    return NullSink() if wandb_spec is None else WandbSink(wandb_spec, paths)


def _terminate(signum: int, frame: Any) -> None:
    sys.exit(128 + signum)


def wait_for_job() -> Path | None:
    """Import `PRELOAD`, then take the job handed over on stdin: set its environment, append
    stderr to its log, move to its cores; the job's spec file, or None when stdin closed
    without a job."""
    imported = io.StringIO()
    with contextlib.redirect_stderr(imported):
        for module in PRELOAD:
            importlib.import_module(module)
    line = sys.stdin.readline()
    if not line:
        return None
    hand_over = json.loads(line)
    os.environ.update(hand_over["env"])
    log = os.open(hand_over["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, sys.stderr.fileno())
    os.close(log)
    sys.stderr.write(imported.getvalue())
    restrict_to_share()
    return Path(hand_over["spec"])


def main(argv: list[str] | None = None) -> int:
    """Train the job in the spec file named by the only argument (or, given `--wait`, the
    job handed over on stdin)."""
    (argument,) = argv if argv is not None else sys.argv[1:]
    spec_path = wait_for_job() if argument == WAIT_FLAG else Path(argument)
    if spec_path is None:
        return 0
    return 1 if run_job_spec(spec_path) else 0


def exit_now(code: int) -> None:
    """Let W&B finish uploading, flush the output, and end the process without the
    interpreter's teardown.

    Everything the job wrote is already renamed into place; tearing down JAX and its thread
    pools would only add about half a second to every job.
    """
    if "wandb" in sys.modules:
        with contextlib.suppress(Exception):  # the runs' outcome is already recorded
            sys.modules["wandb"].teardown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    restrict_to_share()
    signal.signal(signal.SIGTERM, _terminate)
    exit_now(main())

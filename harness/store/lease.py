"""Leases: at most one process trains (or writes) a run at a time, on one host or many.

A run's leases are numbered files `leases/000001.json`, `000002.json`, ...; the highest number
is the current lease. A lease is taken by creating the next number exclusively (a hard link of a
complete temporary file, which is atomic on local filesystems and on NFS), so of several
processes only one wins. Its holder names its host, pid, purpose and job, and refreshes its
heartbeat after every chunk; before every write it checks that no higher-numbered lease exists.

A lease can be taken over when it was released, when its holder is known to be gone (a process
of this host that no longer exists), or when it is stale: its heartbeat is older than the timeout
its holder promised, `max(stall_timeout, STALL_FACTOR x slowest chunk so far)` (before its
program is compiled, at least STARTUP_GRACE). The new lease records whom it took over. Lease
files are never deleted: they are the run's attempt history.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from harness.store.atomic import json_bytes, read_json_object, temporary_beside, write_json
from harness.store.damage import DamagedFile
from harness.store.paths import RunPaths

DEFAULT_STALL_TIMEOUT = 600.0
"""Seconds without a heartbeat before a lease is stale, at least (`runner.stall_timeout`)."""
STALL_FACTOR = 10.0
"""A lease is stale after this many times its holder's slowest chunk, if that is longer."""
STARTUP_GRACE = 300.0
"""Seconds a worker may take, at least, from taking its leases to having compiled its program
(importing JAX, building environments, compiling) before it counts as stalled."""


def stall_limit(minimum: float, slowest_interval: float) -> float:
    """Seconds without progress after which a worker counts as stalled."""
    return max(minimum, STALL_FACTOR * slowest_interval)


def startup_limit(minimum: float) -> float:
    """Seconds a worker may take to compile its program before it counts as stalled."""
    return max(minimum, STARTUP_GRACE)


class LeaseState(StrEnum):
    """What a run's current lease says about who may write the run."""

    FREE = "free"
    """No lease, or the last one was released: anyone may take it."""
    LIVE = "live"
    """Held, heartbeat within its timeout: nobody else may write the run."""
    STALE = "stale"
    """Held, but no heartbeat within its timeout: it will be taken over."""
    GONE = "gone"
    """Held by a process of this host that no longer exists: taken over at once."""


def _process_start(pid: int) -> str | None:
    """When process `pid` started (Linux clock ticks since boot), or None where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


def process_gone(pid: int, started: str | None) -> bool:
    """Whether process `pid` of this host has exited (or its pid now names another process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    if _process_state(pid) == "Z":
        return True
    return started is not None and _process_start(pid) not in (None, started)


def slurm_task() -> str | None:
    """This process's Slurm task (`<array job>_<index>` or the job id), None outside Slurm."""
    array, index = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and index:
        return f"{array}_{index}"
    return os.environ.get("SLURM_JOB_ID")


@dataclass(frozen=True)
class Lease:
    """One lease on a run, as stored in its file."""

    number: int
    token: str
    purpose: str
    """`train` (a worker training the run) or `record` (a runner recording a dead worker's
    failure)."""
    host: str
    pid: int
    pid_started: str | None
    job_id: str | None
    slurm_task: str | None
    acquired_at: float
    heartbeat_at: float
    timeout_seconds: float
    released_at: float | None = None
    outcome: str | None = None
    """How the holder left the run when it released the lease (done, failed, interrupted)."""
    took_over: dict[str, Any] | None = None
    """The lease this one replaced while it was still held (stale or its holder gone)."""
    problem: str | None = field(default=None, compare=False)
    """Set only on a placeholder for a lease file that could not be read."""

    @property
    def holder(self) -> str:
        """`host:pid` of the holder, with its job."""
        job = f" ({self.job_id})" if self.job_id else ""
        return f"{self.host}:{self.pid}{job}"

    def state(self, now: float | None = None) -> LeaseState:
        """Whether the lease is free, live, stale, or held by a process known to be gone."""
        if self.released_at is not None:
            return LeaseState.FREE
        if self.host == socket.gethostname() and process_gone(self.pid, self.pid_started):
            return LeaseState.GONE
        if (now if now is not None else time.time()) > self.heartbeat_at + self.timeout_seconds:
            return LeaseState.STALE
        return LeaseState.LIVE

    def summary(self) -> dict[str, Any]:
        """The facts a takeover records about the lease it replaced."""
        return {"number": self.number, "host": self.host, "pid": self.pid,
                "job_id": self.job_id, "heartbeat_at": self.heartbeat_at,
                "state": self.state().value, **({"problem": self.problem} if self.problem else {})}

    def to_json(self) -> dict[str, Any]:
        """The lease file's content."""
        return {k: v for k, v in asdict(self).items() if k != "problem"}


class LeaseHeld(RuntimeError):
    """Another process holds the run's lease."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        super().__init__(f"lease {lease.number} is held by {lease.holder}")


class LeaseLost(RuntimeError):
    """The lease this process held was taken over; it must not write the run any more."""


def _numbers(paths: RunPaths) -> list[int]:
    try:
        names = os.listdir(paths.leases_dir)
    except FileNotFoundError:
        return []
    return sorted(int(name[:-5]) for name in names
                  if name.endswith(".json") and name[:-5].isdigit())


def _read(paths: RunPaths, number: int) -> Lease:
    path = paths.lease(number)
    try:
        data = read_json_object(path) or {}
        return Lease(**data)
    except (DamagedFile, TypeError) as err:
        problem = str(err) if isinstance(err, DamagedFile) else f"{path.name} has unknown fields"
        return Lease(number, "", "unknown", "unknown", 0, None, None, None, 0.0, 0.0, 0.0,
                     problem=problem)


def current_lease(paths: RunPaths) -> Lease | None:
    """The run's current (highest-numbered) lease, or None if it never had one.

    An unreadable lease file reads as a stale lease, so that it is taken over (and recorded)."""
    numbers = _numbers(paths)
    return _read(paths, numbers[-1]) if numbers else None


def _create_exclusive(path: Path, content: bytes) -> bool:
    """Create `path` holding `content` unless it exists: True if this call created it."""
    tmp = temporary_beside(path)
    try:
        tmp.write_bytes(content)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            # NFS may report a failure for a link that was made (a retransmitted request).
            if os.stat(tmp).st_nlink != 2:
                raise
        return True
    finally:
        tmp.unlink(missing_ok=True)


def acquire(paths: RunPaths, *, purpose: str = "train", job_id: str | None = None,
            timeout_seconds: float = DEFAULT_STALL_TIMEOUT,
            may_take: Callable[[Lease], bool] | None = None) -> Lease:
    """Take the run's lease, or raise LeaseHeld naming its live holder.

    A held lease is taken over when it is stale, its holder is gone, or `may_take(lease)` says
    so (a runner that saw its own worker die, a requeued Slurm task replacing itself).
    """
    while True:
        numbers = _numbers(paths)
        current = _read(paths, numbers[-1]) if numbers else None
        took_over = None
        if current is not None and current.released_at is None:
            if current.state() == LeaseState.LIVE and not (may_take and may_take(current)):
                raise LeaseHeld(current)
            took_over = current.summary()
        now = time.time()
        lease = Lease(
            number=(current.number if current else 0) + 1, token=secrets.token_hex(8),
            purpose=purpose, host=socket.gethostname(), pid=os.getpid(),
            pid_started=_process_start(os.getpid()), job_id=job_id, slurm_task=slurm_task(),
            acquired_at=now, heartbeat_at=now, timeout_seconds=timeout_seconds,
            took_over=took_over)
        if _create_exclusive(paths.lease(lease.number), json_bytes(lease.to_json())):
            return lease


def check(paths: RunPaths, lease: Lease) -> None:
    """Raise LeaseLost if another process has taken the run's lease from `lease`."""
    if paths.lease(lease.number + 1).exists():
        successor = _read(paths, lease.number + 1)
        raise LeaseLost(f"run {paths.run_id}: lease {lease.number} was taken over by "
                        f"{successor.holder}")


def renew(paths: RunPaths, lease: Lease, timeout_seconds: float | None = None) -> Lease:
    """Refresh the heartbeat (and the promised timeout) of a lease this process holds."""
    check(paths, lease)
    renewed = replace(lease, heartbeat_at=time.time(),
                      timeout_seconds=timeout_seconds or lease.timeout_seconds)
    write_json(paths.lease(lease.number), renewed.to_json())
    return renewed


def release(paths: RunPaths, lease: Lease, outcome: str) -> None:
    """Give the lease up, saying how the run was left; a lease already lost is left alone."""
    try:
        check(paths, lease)
    except LeaseLost:
        return
    now = time.time()
    write_json(paths.lease(lease.number),
               replace(lease, heartbeat_at=now, released_at=now, outcome=outcome).to_json())

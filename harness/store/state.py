"""The state of a run as every host sees it: its stored status, its lease, and any damage.

- `pending`: never started.
- `running`: a process holds a live lease on it (heartbeat within its timeout), on any host.
- `stale`: marked running, but its holder's heartbeat is older than its timeout; it will be
  taken over.
- `interrupted`: marked running, but its holder is gone (a process of this host that exited,
  or one that released the lease without finishing).
- `done`: every metric row and episode is stored.
- `failed`: training failed; `reason` says why.
- `damaged`: a file of the run cannot be used; `reason` names it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from harness.store.damage import DamagedFile
from harness.store.lease import Lease, LeaseState
from harness.store.paths import (
    CONFIG_FILE,
    EPISODES_FILE,
    METADATA_FILE,
    METRICS_FILE,
    STATUS_FILE,
    RunPaths,
)
from harness.store.record import DATA_FILES, RunFiles, RunRecord, RunStatus

DATA_FILE_NAMES = {"metrics": METRICS_FILE, "episodes": EPISODES_FILE}
"""The file of each of a finished run's DATA_FILES."""


class RunState(StrEnum):
    """What `harness status` and `harness.results` call a run."""

    PENDING = "pending"
    RUNNING = "running"
    STALE = "stale"
    INTERRUPTED = "interrupted"
    DONE = "done"
    FAILED = "failed"
    DAMAGED = "damaged"


RUN_STATES: tuple[str, ...] = tuple(RunState)


@dataclass(frozen=True)
class RunView:
    """One run, as read from the store."""

    run_id: str
    state: RunState
    status: dict[str, Any]
    """The stored status record (`{}` when it is damaged)."""
    lease: Lease | None = None
    damage: DamagedFile | None = None
    config: dict[str, Any] | None = None
    """The stored config (None when missing or damaged)."""
    metadata: dict[str, Any] | None = None
    """The stored metadata (None when damaged)."""

    @property
    def reason(self) -> str | None:
        """Why the run failed or what is damaged; None otherwise."""
        if self.damage is not None:
            return str(self.damage)
        return self.status.get("reason") if self.state == RunState.FAILED else None

    @property
    def held(self) -> bool:
        """A process holds a live lease on the run (it must not be trained here)."""
        return self.lease is not None and self.lease.state() == LeaseState.LIVE

    @property
    def progress(self) -> int:
        """Environment steps stored so far (what a resumed run continues from)."""
        return int(self.status.get("global_step", 0) or 0)


def _lease_word(lease: Lease | None) -> RunState:
    state = lease.state() if lease is not None else LeaseState.FREE
    return {LeaseState.LIVE: RunState.RUNNING, LeaseState.STALE: RunState.STALE}.get(
        state, RunState.INTERRUPTED)


def inspect_run(paths: RunPaths) -> RunView:
    """Read a run's status, lease and files (data files checked by size and mtime)."""
    if not paths.dir.is_dir():
        return RunView(paths.run_id, RunState.PENDING, {"status": RunStatus.PENDING.value})
    record = RunRecord(paths)
    try:
        files, damage = record.check(), None
    except DamagedFile as err:
        files, damage = RunFiles({}, None, None), err
    status, found = files.status, {"config": files.config, "metadata": files.metadata}
    if status.get("status") == RunStatus.DONE:
        return RunView(paths.run_id, RunState.DONE, status, **found)
    lease = record.lease()
    if lease is not None and lease.state() == LeaseState.LIVE and lease.purpose == "train":
        return RunView(paths.run_id, RunState.RUNNING, status, lease, damage, **found)
    if damage is not None:
        return RunView(paths.run_id, RunState.DAMAGED, status, lease, damage)
    state = _lease_word(lease) if status["status"] == RunStatus.RUNNING else \
        RunState(status["status"])
    return RunView(paths.run_id, state, status, lease, **found)


def _json_object(path: str) -> dict[str, Any]:
    """A JSON object read with raw system calls (the fast path of `finished_view`)."""
    block = 1 << 16  # below malloc's mmap threshold: a larger buffer costs page faults
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = [os.read(fd, block)]
        while len(chunks[-1]) == block:  # a short read of a regular file is its end
            chunks.append(os.read(fd, block))
    finally:
        os.close(fd)
    value = json.loads(b"".join(chunks).decode("utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path} holds no JSON object")
    return value


def finished_view(run_dir: str, stats: dict[str, os.stat_result]) -> RunView | None:
    """The view of a finished, intact run, read with as few system calls as possible (plain
    string paths, no lease, `stats` of its files by name already taken): the same checks
    `inspect_run` makes of a done run, with data files trusted only while their size and mtime
    are those recorded, and the metadata (its timings repeated in the status) trusted unread
    while it is no newer than the status: nothing writes it after a run is done. None for
    anything else (not done, damaged, files touched since, stored by an older version): read it
    with `inspect_run`."""
    try:
        if stats[METADATA_FILE].st_mtime_ns > stats[STATUS_FILE].st_mtime_ns:
            return None
        status = _json_object(os.path.join(run_dir, STATUS_FILE))
        config = _json_object(os.path.join(run_dir, CONFIG_FILE))
        files = status.get("files") or {}
        if status.get("status") != RunStatus.DONE or set(files) != set(DATA_FILES) \
                or "timings" not in status or not {"exp_name", "env_id", "seed"} <= config.keys():
            return None
        for name, info in files.items():
            stat = stats[DATA_FILE_NAMES[name]]
            if (stat.st_size, stat.st_mtime_ns) != (info["size"], info["mtime_ns"]):
                return None
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return RunView(os.path.basename(run_dir), RunState.DONE, status, config=config,
                   metadata=status["timings"])

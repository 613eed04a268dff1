"""Reading and writing one run's directory; the only code that touches its files."""

from __future__ import annotations

import os
import shutil
import socket
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.store.atomic import atomic_path, read_json, write_atomic, write_json
from harness.store.paths import RunPaths


class RunStatus(StrEnum):
    """Lifecycle of a run in the store; a run without a status file is pending."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def is_interrupted(state: dict[str, Any]) -> bool:
    """Whether a `running` status was written by a process of this host that no longer exists
    (its worker was killed, or the machine restarted); runs on other hosts cannot be told."""
    if state["status"] != RunStatus.RUNNING or state.get("host") != socket.gethostname():
        return False
    try:
        pid = int(state["pid"])
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, KeyError, ValueError):
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """Whether `pid` has exited but was not reaped yet (Linux; False where unknown)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] == "Z"


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunRecord:
    """One run's directory: config, metadata, status, metric chunks and checkpoint."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths

    @property
    def run_id(self) -> str:
        """The run id."""
        return self.paths.run_id

    def status(self) -> dict[str, Any]:
        """The status record (`{"status": "pending"}` when nothing was written yet)."""
        return read_json(self.paths.status) or {"status": RunStatus.PENDING.value}

    def is_done(self) -> bool:
        """True only once every metric row is stored."""
        return self.status()["status"] == RunStatus.DONE

    def config(self) -> dict[str, Any] | None:
        """The stored resolved config."""
        return read_json(self.paths.config)

    def metadata(self) -> dict[str, Any]:
        """The stored metadata (empty before the run first started)."""
        return read_json(self.paths.metadata) or {}

    def write_config(self, config: dict[str, Any], suite: str) -> None:
        """Store the resolved config once; a run directory never changes its config."""
        if not self.paths.config.exists():
            write_json(self.paths.config, {"suite": suite, "run_id": self.run_id, **config})

    def update_metadata(self, **fields: Any) -> None:
        """Merge `fields` into the stored metadata."""
        write_json(self.paths.metadata, {**self.metadata(), **fields})

    def set_status(self, status: RunStatus, **fields: Any) -> None:
        """Record the run's status with host, pid and time."""
        write_json(self.paths.status, {
            "status": status.value, "updated_at": utc_now(), "host": socket.gethostname(),
            "pid": os.getpid(), **fields})

    def fail(self, reason: str, *, retryable: bool = True, **fields: Any) -> None:
        """Mark the run failed with `reason`, counting the failure; a diverged run is not
        `retryable` (training it again gives the same result)."""
        history = [*self.metadata().get("failures", []), {"at": utc_now(), "reason": reason}]
        self.update_metadata(failures=history)
        self.set_status(RunStatus.FAILED, reason=reason, retryable=retryable,
                        failures=len(history), **fields)

    def write_chunk(self, index: int, rows: pd.DataFrame) -> None:
        """Store the metric rows of training chunk `index` (replacing an earlier attempt)."""
        with atomic_path(self.paths.chunk(index)) as tmp:
            rows.to_parquet(tmp, index=False)

    def save_checkpoint(self, chunks_done: int, leaves: list[np.ndarray]) -> None:
        """Store the training state reached after `chunks_done` chunks."""
        arrays = {f"leaf_{i:04d}": leaf for i, leaf in enumerate(leaves)}
        write_atomic(self.paths.checkpoint,
                     lambda handle: np.savez(handle, chunks_done=chunks_done, **arrays))

    def load_checkpoint(self) -> tuple[int, list[np.ndarray]] | None:
        """`(chunks_done, leaves)` of the stored checkpoint, or None."""
        try:
            with np.load(self.paths.checkpoint) as data:
                leaves = [data[k] for k in sorted(data.files) if k.startswith("leaf_")]
                return int(data["chunks_done"]), leaves
        except FileNotFoundError:
            return None

    def clear_progress(self) -> None:
        """Forget partial training (metric chunks, checkpoint, compacted metrics)."""
        shutil.rmtree(self.paths.chunks_dir, ignore_errors=True)
        self.paths.checkpoint.unlink(missing_ok=True)
        self.paths.metrics.unlink(missing_ok=True)

    def finish(self, num_chunks: int, **status_fields: Any) -> None:
        """Compact the chunks into one metrics file, then mark the run done and tidy up."""
        frames = [pd.read_parquet(self.paths.chunk(i)) for i in range(num_chunks)]
        with atomic_path(self.paths.metrics) as tmp:
            pd.concat(frames, ignore_index=True).to_parquet(tmp, index=False)
        self.set_status(RunStatus.DONE, **status_fields)
        shutil.rmtree(self.paths.chunks_dir, ignore_errors=True)
        self.paths.checkpoint.unlink(missing_ok=True)

    def read_metrics(self) -> pd.DataFrame:
        """Metric rows stored so far: the compacted file once done, else the chunk files."""
        if self.is_done():
            return pd.read_parquet(self.paths.metrics)
        chunks = sorted(self.paths.chunks_dir.glob("metrics-*.parquet"))
        if not chunks:
            return pd.DataFrame()
        return pd.concat([pd.read_parquet(p) for p in chunks], ignore_index=True)

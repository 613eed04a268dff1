"""Writing one run's directory, only under its lease: every write first checks the lease.

A `RunWriter` without a lease writes a private directory that no other process knows yet
(`harness pull` builds runs beside the store and renames them into place).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from harness.names import EVAL, GLOBAL_STEP
from harness.scores import STORED_REDUCTIONS, final_score
from harness.store.atomic import is_temporary, write_json
from harness.store.checkpoint import Checkpoint, save_checkpoint
from harness.store.damage import quarantine
from harness.store.lease import Lease, LeaseLost, check, release, renew
from harness.store.paths import RunPaths
from harness.store.record import RunRecord, RunStatus, utc_now
from harness.store.tables import (
    column_values,
    concat_episodes,
    concat_tables,
    read_arrow,
    write_table,
)

TIMINGS = ("attempt", "started_at", "finished_at", "compile_seconds", "train_seconds")
"""Metadata a finished run's status repeats, so that listing runs needs no metadata file."""


def episode_summary(episodes: pa.Table,
                    last_step: int) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """The stored final-score reductions of a run's episode table, `{key: {score, episodes}}`
    (score None where the run has no such episodes), and its number of episodes by kind."""
    kinds = column_values(episodes, "kind", object)
    steps = column_values(episodes, GLOBAL_STEP, np.int64)
    returns = column_values(episodes, "episodic_return", np.float64)
    scores = {}
    for reduction in STORED_REDUCTIONS:
        score, used = final_score(reduction, steps, returns, kinds == EVAL, last_step)
        scores[reduction.key] = {"score": None if math.isnan(score) else score, "episodes": used}
    return scores, {kind: int(np.count_nonzero(kinds == kind)) for kind in ("train", EVAL)}


class RunWriter:
    """Writes one run's files while holding its lease (or a private, unshared directory)."""

    def __init__(self, paths: RunPaths, lease: Lease | None) -> None:
        self.paths = paths
        self.lease = lease
        self.record = RunRecord(paths)
        self.released = False
        """True once the lease was given up: nothing more may be written."""

    def _check(self) -> None:
        if self.released:
            raise LeaseLost(f"run {self.paths.run_id}: its lease was already released")
        if self.lease is not None:
            check(self.paths, self.lease)

    def write_config(self, config: dict[str, Any], suite: str) -> None:
        """Store the resolved config (a run directory never changes it once written)."""
        if not self.paths.config.exists():
            self._check()
            write_json(self.paths.config, {"suite": suite, "run_id": self.paths.run_id,
                                           **config})

    def update_metadata(self, **fields: Any) -> None:
        """Merge `fields` into the stored metadata."""
        self._check()
        write_json(self.paths.metadata, {**self.record.metadata(), **fields})

    def set_status(self, status: RunStatus, **fields: Any) -> None:
        """Record the run's status with host, pid and time."""
        self._check()
        write_json(self.paths.status, {
            "status": status.value, "updated_at": utc_now(), "host": socket.gethostname(),
            "pid": os.getpid(), **fields})

    def heartbeat(self, timeout_seconds: float | None = None) -> None:
        """Tell other processes this one is still making progress (raises LeaseLost if not
        the holder any more)."""
        if self.lease is not None:
            self.lease = renew(self.paths, self.lease, timeout_seconds)

    def release(self, outcome: str) -> None:
        """Give up the lease, saying how the run was left."""
        if self.lease is not None and not self.released:
            release(self.paths, self.lease, outcome)
        self.released = True

    def fail(self, reason: str, *, retryable: bool = True, **fields: Any) -> None:
        """Mark the run failed with `reason`, count the failure and release the lease; a
        diverged run is not `retryable` (training it again gives the same result)."""
        history = [*self.record.metadata().get("failures", []),
                   {"at": utc_now(), "reason": reason}]
        self.update_metadata(failures=history)
        self.set_status(RunStatus.FAILED, reason=reason, retryable=retryable,
                        failures=len(history), **fields)
        self.release("failed")

    def write_chunk(self, index: int, rows: pa.Table, episodes: pa.Table) -> None:
        """Store the metric rows and episodes of chunk `index` (replacing an earlier try)."""
        self._check()
        write_table(self.paths.chunk(index), rows)
        write_table(self.paths.episode_chunk(index), episodes)

    def save_checkpoint(self, checkpoint: Checkpoint) -> None:
        """Store the training state reached after `checkpoint.chunks_done` chunks."""
        self._check()
        save_checkpoint(self.paths.checkpoint, checkpoint)

    def discard_chunks_from(self, index: int) -> None:
        """Remove chunk files from chunk `index` on (written after the checkpoint resumed)."""
        self._check()
        for path in self.paths.chunks_dir.glob("*.arrow"):
            if int(path.stem.rpartition("-")[2]) >= index:
                path.unlink(missing_ok=True)

    def clear_progress(self) -> None:
        """Forget the partial training of an unfinished run (chunks and checkpoint)."""
        self._check()
        shutil.rmtree(self.paths.chunks_dir, ignore_errors=True)
        self.paths.checkpoint.unlink(missing_ok=True)

    def quarantine(self, path: Path, problem: str) -> Path:
        """Move a damaged file into `damaged/` and record it in the metadata."""
        self._check()
        moved = quarantine(path, self.paths.damaged_dir)
        self.record_damage(path, problem, moved)
        return moved

    def record_damage(self, path: Path, problem: str, moved: Path | None = None) -> None:
        """Keep in the metadata what was wrong with `path` (and where it was moved)."""
        entry = {"at": utc_now(), "file": path.name, "problem": problem,
                 "moved_to": str(moved.relative_to(self.paths.dir)) if moved else None}
        if path == self.paths.metadata:
            self._check()
            write_json(self.paths.metadata, {"damaged": [entry]})
        else:
            self.update_metadata(damaged=[*self.record.metadata().get("damaged", []), entry])

    def remove_temporaries(self) -> list[Path]:
        """Delete temporary files a killed writer left in the run directory."""
        self._check()
        found = [p for d in (self.paths.dir, self.paths.chunks_dir) if d.is_dir()
                 for p in d.iterdir() if is_temporary(p)]
        for path in found:
            path.unlink(missing_ok=True)
        return found

    def finish(self, num_chunks: int, global_step: int, **status_fields: Any) -> None:
        """Compact the chunks into the run's metric and episode files, mark it done with what
        those files are and its final scores, then tidy up and release the lease."""
        metrics = concat_tables([read_arrow(self.paths.chunk(i)) for i in range(num_chunks)])
        episodes = concat_episodes([read_arrow(self.paths.episode_chunk(i))
                                    for i in range(num_chunks)])
        self._check()
        files = {"metrics": write_table(self.paths.metrics, metrics),
                 "episodes": write_table(self.paths.episodes, episodes)}
        scores, counts = episode_summary(episodes, global_step)
        metadata = self.record.metadata()
        self.set_status(RunStatus.DONE, global_step=global_step,
                        timings={key: metadata.get(key) for key in TIMINGS},
                        files={name: info.to_json() for name, info in files.items()},
                        scores=scores, episodes=counts, **status_fields)
        shutil.rmtree(self.paths.chunks_dir, ignore_errors=True)
        self.paths.checkpoint.unlink(missing_ok=True)
        self.release("done")


"""Reading one run's directory: status, config, metadata, lease and what its data files must be.

Reading never trusts a file blindly: anything that exists but cannot be used raises
DamagedFile naming the file, so that callers can report the run and go on with the others.
Writing is `RunWriter`'s job (harness/store/writer.py), and only under the run's lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from harness.store.atomic import read_json_object
from harness.store.damage import DamagedFile
from harness.store.files import FileInfo, check_file
from harness.store.lease import Lease, current_lease
from harness.store.paths import RunPaths

if TYPE_CHECKING:
    from harness.store.checkpoint import Checkpoint


class RunStatus(StrEnum):
    """Stored lifecycle of a run; a run without a status file is pending."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


DATA_FILES = ("metrics", "episodes")
"""The data files of a finished run, by `RunPaths` attribute; their FileInfo is in its status."""


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunFiles:
    """A run's JSON files as read at one moment."""

    status: dict[str, Any]
    config: dict[str, Any] | None
    metadata: dict[str, Any]


class RunRecord:
    """One run's directory, read-only."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths

    @property
    def run_id(self) -> str:
        """The run id."""
        return self.paths.run_id

    def status(self) -> dict[str, Any]:
        """The status record (`{"status": "pending"}` when nothing was written yet)."""
        state = read_json_object(self.paths.status)
        if state is None:
            return {"status": RunStatus.PENDING.value}
        if state.get("status") not in set(RunStatus):
            raise DamagedFile(self.paths.status, "holds no valid run status")
        return state

    def is_done(self) -> bool:
        """True only once every metric row and episode is stored."""
        return self.status()["status"] == RunStatus.DONE

    def config(self) -> dict[str, Any] | None:
        """The stored resolved config (None before the run first started)."""
        config = read_json_object(self.paths.config)
        if config is not None and not {"exp_name", "env_id", "seed"} <= config.keys():
            raise DamagedFile(self.paths.config, "lacks exp_name, env_id or seed")
        return config

    def metadata(self) -> dict[str, Any]:
        """The stored metadata (empty before the run first started)."""
        return read_json_object(self.paths.metadata) or {}

    def lease(self) -> Lease | None:
        """The run's current lease, if it ever had one."""
        return current_lease(self.paths)

    def data_files(self, status: dict[str, Any] | None = None) -> dict[str, FileInfo]:
        """What each data file of a finished run must be (empty for runs stored before the
        harness recorded it)."""
        state = status if status is not None else self.status()
        try:
            return {name: FileInfo.from_json(info)
                    for name, info in (state.get("files") or {}).items()}
        except (KeyError, TypeError, ValueError):
            raise DamagedFile(self.paths.status, "records its data files wrongly") from None

    def check_data(self, status: dict[str, Any]) -> None:
        """Raise DamagedFile unless every data file of a finished run is as it was written
        (compared by size and mtime, hashed where the mtime changed)."""
        files = self.data_files(status)
        for name, info in files.items():
            check_file(getattr(self.paths, name), info)
        if not files and not self.paths.legacy_metrics.exists():
            raise DamagedFile(self.paths.metrics, "is missing")

    def check(self) -> RunFiles:
        """Status, config and metadata, after checking that they and (when done) the data
        files are usable; DamagedFile names the first that is not."""
        state = self.status()
        config = self.config()
        if config is None and state["status"] != RunStatus.PENDING:
            raise DamagedFile(self.paths.config, "is missing")
        files = RunFiles(state, config, self.metadata())
        if state["status"] == RunStatus.DONE:
            self.check_data(state)
        return files

    def checkpoint(self) -> Checkpoint | None:
        """The training state after the last stored chunk, or None."""
        from harness.store.checkpoint import load_checkpoint  # numpy: not for the CLI's start

        return load_checkpoint(self.paths.checkpoint)

"""The embedded results store: one directory per run, written atomically, many writers."""

from harness.store.paths import RunPaths, SuitePaths
from harness.store.record import RunRecord, RunStatus

__all__ = ["RunPaths", "RunRecord", "RunStatus", "SuitePaths"]

"""Damaged store files: named when read, moved aside (never deleted) when a run is repaired."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


class DamagedFile(ValueError):
    """A store file that exists but cannot be used (corrupt, truncated, wrong content)."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path.name} {problem}")


def quarantine(path: Path, into: Path) -> Path:
    """Move `path` into the directory `into` under a time-stamped name; return the new path."""
    into.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = into / f"{stamp}-{path.name}"
    os.replace(path, target)
    return target

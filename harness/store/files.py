"""What a finished run's data files must be: size, SHA-256 and modification time when written.

A file whose size and mtime still match is trusted without reading it (cheap enough for
`harness status` on thousands of runs); one whose mtime changed is hashed again; readers that
read the whole file anyway check the hash of what they read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.store.damage import DamagedFile


@dataclass(frozen=True)
class FileInfo:
    """A data file as it was written."""

    size: int
    sha256: str
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileInfo:
        """Size, hash and mtime of the file at `path` now."""
        data = path.read_bytes()
        return cls(len(data), hashlib.sha256(data).hexdigest(), os.stat(path).st_mtime_ns)

    @classmethod
    def from_json(cls, value: Any) -> FileInfo:
        """Read back `to_json`'s form."""
        return cls(int(value["size"]), str(value["sha256"]), int(value["mtime_ns"]))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form, kept in the run's status."""
        return asdict(self)

    def problem_with(self, data: bytes) -> str | None:
        """Why `data` (the file's bytes as read) is not this file, or None when it is."""
        if len(data) != self.size:
            return f"is truncated or overwritten ({len(data)} bytes, {self.size} written)"
        if hashlib.sha256(data).hexdigest() != self.sha256:
            return "is corrupt (its SHA-256 differs from the one recorded when it was written)"
        return None


def check_file(path: Path, info: FileInfo) -> None:
    """Raise DamagedFile unless `path` is the file `info` describes (stat first, hash if needed)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise DamagedFile(path, "is missing") from None
    if stat.st_size != info.size:
        raise DamagedFile(path, f"is truncated or overwritten ({stat.st_size} bytes, "
                                f"{info.size} written)")
    if stat.st_mtime_ns == info.mtime_ns:
        return
    problem = info.problem_with(path.read_bytes())
    if problem:
        raise DamagedFile(path, problem)


def read_checked(path: Path, info: FileInfo | None) -> bytes:
    """The bytes of `path`, checked against `info` when given; DamagedFile otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DamagedFile(path, "is missing") from None
    except OSError as err:
        raise DamagedFile(path, f"cannot be read ({err.strerror})") from None
    problem = info.problem_with(data) if info is not None else None
    if problem:
        raise DamagedFile(path, problem)
    return data

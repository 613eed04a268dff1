"""Atomic file writes: readers see the old file or the new one, never half of one.

Files are created with the user's umask (group-readable on a shared cluster filesystem where
the umask says so), through a temporary name beside the target that is fsynced and renamed.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from harness.store.damage import DamagedFile

TMP_SUFFIX = ".tmp"
"""Temporary files are `.<name>.<random>.tmp`: hidden, and cleaned up if a kill leaves one."""
FILE_MODE = 0o666
"""Mode asked for new files; the process umask takes away what the user does not grant."""


def temporary_beside(path: Path) -> Path:
    """A new, empty file beside `path` with a unique temporary name (mode from the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}{TMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        except FileExistsError:
            continue
        return tmp


def is_temporary(path: Path) -> bool:
    """Whether `path` is a temporary file of `temporary_beside`."""
    return path.name.startswith(".") and path.name.endswith(TMP_SUFFIX)


def remove_stray_temporaries(directory: Path, older_than: float) -> None:
    """Delete the temporary files in `directory` left more than `older_than` seconds ago by
    killed writers; files another process finishes or removes meanwhile are skipped."""
    now = time.time()
    for path in directory.iterdir():
        if not is_temporary(path):
            continue
        try:
            if now - path.stat().st_mtime > older_than:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync it and rename it over `path`."""
    tmp_path = temporary_beside(path)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_atomic(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write `path` atomically through `write(binary_file)`."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        write(handle)


def json_bytes(value: Any) -> bytes:
    """`value` as indented, key-sorted JSON (NaN and infinity refused)."""
    return (json.dumps(value, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def write_json(path: Path, value: Any) -> None:
    """Write `value` as indented JSON, atomically."""
    data = json_bytes(value)
    write_atomic(path, lambda handle: handle.write(data))


def read_json(path: Path) -> Any:
    """Read JSON, or None when the file does not exist; DamagedFile when it does not parse."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as err:
        raise DamagedFile(path, f"cannot be read ({err.strerror})") from None
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        problem = "is empty" if not data.strip() else f"is not valid JSON ({err})"
        raise DamagedFile(path, problem) from None


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from `path` (None when missing); DamagedFile for anything else."""
    value = read_json(path)
    if value is not None and not isinstance(value, dict):
        raise DamagedFile(path, f"holds a JSON {type(value).__name__}, not an object")
    return value

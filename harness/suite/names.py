"""Names that end up in paths (suite, experiment) must be plain, safe file names."""

from __future__ import annotations

import re

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_safe_name(name: str) -> str:
    """Return `name` if it is a safe single path component, else raise ValueError."""
    if not _SAFE.fullmatch(name) or ".." in name:
        raise ValueError(
            f"{name!r} is not a safe file name (use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit, without '..')"
        )
    return name

"""JAX's persistent compilation cache, in a private directory owned by this user."""

from __future__ import annotations

import os
import stat
from pathlib import Path

CACHE_ENV = "HARNESS_COMPILATION_CACHE"


def default_cache_dir() -> Path:
    """`$HARNESS_COMPILATION_CACHE`, else `$XDG_CACHE_HOME/rl-harness/jax` (or ~/.cache/...)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "rl-harness" / "jax"


def enable_compilation_cache(directory: Path | None = None) -> Path | None:
    """Point JAX's persistent cache at a private directory; None (cache off) if it is not ours.

    The cache holds executable code, so a directory that another user owns, or that others
    may write to, is refused rather than trusted.
    """
    import jax

    directory = directory or default_cache_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    return directory

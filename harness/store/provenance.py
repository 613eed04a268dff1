"""What makes a run reproducible: versions, git state, host, devices and XLA settings."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("rl-harness", "jax", "jaxlib", "flax", "optax", "gymnax", "gymnasium", "numpy",
            "pandas", "pyarrow")
ENV_PREFIXES = ("XLA_", "JAX_", "CUDA_VISIBLE_DEVICES", "TF_CPP_", "SLURM_JOB_ID",
                "SLURM_ARRAY_", "SLURM_RESTART_COUNT", "RAY_")
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that decide a run's numbers."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


HARNESS_DIR = Path(__file__).resolve().parent


@cache
def git_state(directory: Path = HARNESS_DIR) -> dict[str, Any]:
    """Commit and dirty flag of the checkout holding the harness code (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                                  text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def relevant_environment() -> dict[str, str]:
    """Environment variables that change how JAX runs (never anything secret-looking)."""
    return {
        key: value for key, value in sorted(os.environ.items())
        if key.startswith(ENV_PREFIXES) and not any(m in key.upper() for m in SECRET_MARKERS)
    }


def host_provenance() -> dict[str, Any]:
    """Everything about this process that does not need JAX to be imported."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "packages": package_versions(),
        "git": git_state(),
        "environment": relevant_environment(),
    }


def device_provenance() -> dict[str, Any]:
    """JAX's backend and devices (imports JAX)."""
    import jax

    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "device_kinds": sorted({d.device_kind for d in devices}),
    }

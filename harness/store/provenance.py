"""What makes a run reproducible: versions, git state, host, devices and XLA settings."""

from __future__ import annotations

import hashlib
import os
import platform
import re
import socket
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("rl-harness", "jax", "jaxlib", "flax", "optax", "gymnax", "gymnasium", "numpy",
            "pandas", "pyarrow", "wandb", "submitit")
ENV_PREFIXES = ("XLA_", "JAX_", "CUDA_VISIBLE_DEVICES", "TF_CPP_", "SLURM_JOB_ID",
                "SLURM_ARRAY_", "SLURM_RESTART_COUNT", "RAY_")
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASS", "CREDENTIAL", "AUTH", "PRIVATE", "COOKIE",
                  "SESSION", "SIGNATURE")
"""An environment variable whose name holds any of these (in any case) is never recorded."""
MIN_SECRET_LENGTH = 8
"""Secret values at least this long are also kept out of every other recorded value."""
REDACTED = "<redacted>"


@cache
def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that decide a run's numbers."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def canonical_name(name: str) -> str:
    """A distribution name normalised as PEP 503 does (`Foo_Bar.baz` -> `foo-bar-baz`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages() -> dict[str, str]:
    """Every installed distribution, name to version, as `pip freeze` sees them (sorted)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(canonical_name(name), dist.version)
    return dict(sorted(found.items()))


@cache
def package_state() -> dict[str, Any]:
    """SHA-256 of every installed `name==version` line (sorted) and the number of packages."""
    packages = installed_packages()
    frozen = "\n".join(f"{name}=={version}" for name, version in packages.items())
    return {"sha256": hashlib.sha256(frozen.encode()).hexdigest(), "count": len(packages)}


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


def looks_secret(name: str) -> bool:
    """Whether an environment variable's name suggests it holds a secret."""
    return any(marker in name.upper() for marker in SECRET_MARKERS)


def secret_values() -> set[str]:
    """Values (long enough to search for) of every environment variable that looks secret."""
    return {value for name, value in os.environ.items()
            if looks_secret(name) and len(value) >= MIN_SECRET_LENGTH}


def scrub(value: Any, secrets: set[str]) -> Any:
    """`value` with every string (in nested dicts and lists) holding a secret redacted."""
    if isinstance(value, str):
        return REDACTED if any(secret in value for secret in secrets) else value
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item, secrets) for item in value]
    return value


def relevant_environment() -> dict[str, str]:
    """Environment variables that change how JAX runs (never anything secret-looking)."""
    secrets = secret_values()
    return {
        key: scrub(value, secrets) for key, value in sorted(os.environ.items())
        if key.startswith(ENV_PREFIXES) and not looks_secret(key)
    }


def host_provenance() -> dict[str, Any]:
    """Everything about this process that does not need JAX to be imported."""
    return scrub({
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": socket.gethostname(),
        "packages": package_versions(),
        "package_state": package_state(),
        "git": git_state(),
        "environment": relevant_environment(),
    }, secret_values())


def device_provenance() -> dict[str, Any]:
    """JAX's backend and devices (imports JAX)."""
    import jax

    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device_count": len(devices),
        "device_kinds": sorted({d.device_kind for d in devices}),
    }

"""A real single-node Slurm cluster for the tests, started by `.ci/slurm-cluster up`.

Use the `slurm_cluster` fixture (import it into a conftest, or into a test module). It skips
the test when the cluster cannot be had here (not root, no apt-get, the script failed), or
fails it instead when `HARNESS_REQUIRE_SLURM=1` (CI, where Slurm must be there).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "slurm-cluster"
MAX_ARRAY_SIZE = 4
# A first `up` installs Slurm with apt-get (about 15 s); leave room for a slow mirror.
UP_TIMEOUT_S = 900


@dataclass(frozen=True)
class SlurmCluster:
    """What `.ci/slurm-cluster up` started: one node `host` in partition `partition`."""

    max_array_size: int
    partition: str
    gpus: int
    cpus: int
    host: str


class SlurmUnavailable(RuntimeError):
    """The cluster could not be started here; the message is the one-line reason."""


def slurm_required() -> bool:
    """Whether `HARNESS_REQUIRE_SLURM=1` asks for a failure rather than a skip."""
    return os.environ.get("HARNESS_REQUIRE_SLURM", "") == "1"


def _last_line(text: str) -> str:
    """The last non-empty line of `text`, or '' if there is none."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _parse(line: str) -> SlurmCluster:
    """The cluster described by the script's `key=value ...` line on stdout."""
    fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
    try:
        return SlurmCluster(
            max_array_size=int(fields["max_array_size"]),
            partition=fields["partition"],
            gpus=int(fields["gpus"]),
            cpus=int(fields["cpus"]),
            host=fields["host"],
        )
    except (KeyError, ValueError) as error:
        raise SlurmUnavailable(f"unexpected output of {SCRIPT.name} up: {line!r}") from error


def start_cluster(max_array_size: int = MAX_ARRAY_SIZE) -> SlurmCluster:
    """Run `.ci/slurm-cluster up`; raise SlurmUnavailable with a one-line reason if it can't."""
    if not sys.platform.startswith("linux"):
        raise SlurmUnavailable(f"a local Slurm cluster needs Linux, not {sys.platform}")
    if os.geteuid() != 0:
        raise SlurmUnavailable("a local Slurm cluster needs root (to install and start Slurm)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        raise SlurmUnavailable("Slurm is not installed and apt-get is not available")
    bash = shutil.which("bash")
    if bash is None:
        raise SlurmUnavailable("bash is not available")
    command = [bash, str(SCRIPT), "up", "--max-array-size", str(max_array_size)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=UP_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as error:
        raise SlurmUnavailable(f"{SCRIPT.name} up took more than {UP_TIMEOUT_S} s") from error
    except OSError as error:
        raise SlurmUnavailable(f"could not run {SCRIPT.name}: {error}") from error
    if done.returncode != 0:
        reason = _last_line(done.stderr) or f"exit status {done.returncode}"
        raise SlurmUnavailable(reason)
    return _parse(_last_line(done.stdout))


@pytest.fixture(scope="session")
def slurm_cluster() -> SlurmCluster:
    """A running single-node cluster (MaxArraySize 4, 4 fake GPUs), or a skip (fail if required)."""
    try:
        return start_cluster(MAX_ARRAY_SIZE)
    except SlurmUnavailable as error:
        reason = str(error)
    # Outside the except block, so that the report shows the reason, not a chained traceback.
    if slurm_required():
        pytest.fail(f"Slurm cluster required (HARNESS_REQUIRE_SLURM=1): {reason}", pytrace=False)
    pytest.skip(f"no Slurm cluster: {reason}")

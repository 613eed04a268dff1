"""A spare worker: a worker process started before `harness run` plans, so that its imports
(JAX, flax, optax, pyarrow: seconds on a small machine) overlap the planning; the local runner
hands it the first job it starts.

The spare imports only what does not start JAX's backend: a worker's cores and accelerator
memory settings must be in place before the backend starts (runners/cpus.py), and the runner
sets them when it hands the job over. A hand-over the spare cannot take (it died, this
process's environment changed since it started, the slot sets a variable that must be set
before JAX is imported) leaves the job to a freshly started worker.

This module imports nothing of the harness but `runners.cpus` and `harness.training.cores`
(neither imports JAX): the `harness` command starts the spare before it imports anything else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from harness.training.cores import TRAIN_CPUS_VARIABLE
from runners.cpus import CPUS_VARIABLE

WAIT_FLAG = "--wait"
"""`python -m runners.worker --wait`: import, then read the hand-over line on stdin."""

JAX_MEMORY_PREFIX = "XLA_PYTHON_CLIENT_"
"""The prefix of JAX's accelerator memory variables (`XLA_PYTHON_CLIENT_PREALLOCATE`, ...)."""

SET_AT_HAND_OVER = (CPUS_VARIABLE, TRAIN_CPUS_VARIABLE, JAX_MEMORY_PREFIX)
"""Names (or prefixes) of the slot variables a spare can still take: they are read when
JAX's backend starts, not when JAX is imported."""


def worker_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a worker process: this process's, with `extra` on top."""
    return {**os.environ, **extra, "PYTHONUNBUFFERED": "1"}


def settable_at_hand_over(env: Mapping[str, str]) -> bool:
    """Whether every variable of `env` may still be set in a spare when it takes a job."""
    return all(name.startswith(SET_AT_HAND_OVER) for name in env)


class SpareWorker:
    """A worker process importing (or done importing) and waiting for a job."""

    def __init__(self) -> None:
        self._environ = dict(os.environ)
        self.process: subprocess.Popen | None = subprocess.Popen(
            [sys.executable, "-m", "runners.worker", WAIT_FLAG], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=worker_environment({}))

    def take(self, spec: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen | None:
        """The spare, now training the job of `spec` with `env` added to its environment and
        its stderr appended to `log`; None when it cannot take the job (it is then stopped).
        A spare takes one job at most."""
        process, self.process = self.process, None
        if process is None:
            return None
        if (process.poll() is not None or dict(os.environ) != self._environ
                or not settable_at_hand_over(env)):
            _stop(process)
            return None
        hand_over = {"spec": str(spec), "env": dict(env), "log": str(log)}
        try:
            process.stdin.write(json.dumps(hand_over) + "\n")
            process.stdin.close()
        except OSError:
            _stop(process)
            return None
        return process

    def close(self) -> None:
        """Stop the spare if it never took a job."""
        process, self.process = self.process, None
        if process is not None:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            stream.close()


def start_spare_worker(argv: list[str]) -> SpareWorker | None:
    """A spare worker when the `harness` command line `argv` is a `harness run` on a machine
    where it can import beside the planning (two or more usable cores); else None."""
    if argv[:1] != ["run"] or {"-h", "--help"} & set(argv):
        return None
    if len(os.sched_getaffinity(0)) < 2:
        return None
    return SpareWorker()

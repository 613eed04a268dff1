"""The `harness` command: train, inspect, compare and report on benchmark suites.

Commands run, plan and inspect suites, reproduce a run, pull W&B runs, compare algorithms
with AdaStop and write reports.

Only `run` and `reproduce` import JAX (in the worker processes, or for `reproduce` here):
`--help`, `envs`, `plan` and `status` start in well under a second. `harness run` starts a
spare worker before it imports anything else, so that the worker's imports overlap the
planning (runners/spare.py).
"""

from __future__ import annotations

import sys

from runners.spare import start_spare_worker


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` command; returns the process exit code."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    spare = start_spare_worker(arguments)
    try:
        from harness.cli.commands import run_command

        return run_command(arguments, spare)
    finally:
        if spare is not None:
            spare.close()

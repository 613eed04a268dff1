"""Run the harness's bare program or rejax's program of a case in a fresh process, timed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.algos import ALGORITHMS
from runners.cpus import cores_for
from tests.benchmarks.cases import CASES

REJAX_PYTHON = os.environ.get("REJAX_PYTHON", ".venv-rejax/bin/python")
TOOLS = ("harness", "rejax")
Timing = dict[str, Any]
"""What a program printed (`jobs`: per job its seeds, steps, compile and train seconds;
`in_process`) and the process's `wall` seconds."""


def harness_cores(case: str, seeds: int) -> dict[str, str]:
    """The cores the local runner gives a worker training `seeds` runs of `case` (training on
    one core when its largest matrix product is small: `runners.cpus.cores_for`), as its
    environment."""
    config = ALGORITHMS[CASES[case].algo].config.model_validate(CASES[case].harness)
    return cores_for(seeds * config.largest_product, {})


def run_program(tool: str, case: str, jobs: dict[int, int], cache: Path, *flags: str,
                env: dict[str, str] | None = None) -> Timing:
    """Train `jobs` (steps per seed, by seeds) of `case` with `tool`'s program in a fresh
    process whose persistent compilation cache is `cache` (and whose environment has `env`)."""
    module, python, variable = (
        ("tests.benchmarks.bare_program", sys.executable, "HARNESS_COMPILATION_CACHE")
        if tool == "harness" else
        ("tests.benchmarks.rejax_program", REJAX_PYTHON, "REJAX_COMPILATION_CACHE"))
    argv = [python, "-m", module, case, *(f"{s}:{n}" for s, n in jobs.items()), *flags]
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, env={**os.environ, **(env or {}),
                                                 variable: str(cache)},
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def show(label: str, timing: Timing) -> None:
    """Print one measurement as it comes (the bench takes minutes)."""
    jobs = [{k: round(v, 2) for k, v in job.items()} for job in timing.get("jobs", [])]
    rest = {k: round(v, 2) for k, v in timing.items() if k != "jobs"}
    print(label, rest, *jobs, flush=True)

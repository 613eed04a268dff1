"""The harness's jitted program of a benchmark case alone: no store, no worker, no CLI.

`python -m tests.benchmarks.bare_program CASE SEEDS:STEPS... [--chunk-updates=N|all]
[--compile-only]` builds, for each SEEDS:STEPS job in turn, the program a `harness run` of the
same runs builds (the case's hyperparameters from `cases.py`, seeds 0..SEEDS-1 vmapped, the
default chunk layout unless N updates per chunk, or all in one, are given; compiled through
the kept programs, as a worker's are), trains it chunk by chunk (unless --compile-only) and
prints one JSON line: per job its seeds, steps, chunks and seconds of compile and train
(initialisation excluded), and the whole process's seconds from the interpreter's start. It
uses the harness's compilation cache (`$HARNESS_COMPILATION_CACHE`) and, like a local worker,
runs on the cores `$HARNESS_WORKER_CPUS` names; unset, it compiles on every core and trains on
one when its jobs are small, as a local worker does (`runners.cpus.cores_for`,
`harness/training/cores.py`; here when every job named is small).
"""

import time

START = time.perf_counter()

import os  # noqa: E402  (timed from the interpreter's start)
import sys  # noqa: E402

from runners.cpus import restrict_to_share  # noqa: E402  (no JAX)
from tests.benchmarks.cases import jobs_of  # noqa: E402
from tests.benchmarks.programs import harness_cores  # noqa: E402

if __name__ == "__main__":
    case, jobs = jobs_of(sys.argv[1:])
    os.environ.update(harness_cores(case, max(seeds for seeds, _ in jobs)))
    restrict_to_share()

import jax  # noqa: E402  (after the cores are set: XLA sizes its thread pool to them)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from harness.algos import ALGORITHMS  # noqa: E402
from harness.runs import Run  # noqa: E402
from harness.training.backends import make_program  # noqa: E402
from harness.training.compile_cache import enable_compilation_cache  # noqa: E402
from harness.training.cores import compiling_on_every_core  # noqa: E402
from harness.training.layout import ChunkLayout, plan_layout  # noqa: E402
from tests.benchmarks.cases import Case, run_jobs  # noqa: E402


def train(case: Case, seeds: int, steps: int, chunk_updates: str | None = None,
          compile_only: bool = False) -> dict[str, float]:
    """Compile and train one job of the case; its chunks, compile and train seconds (train 0
    when only compiling). `chunk_updates` is a number of updates per chunk, or "all"."""
    spec = ALGORITHMS[case.algo]
    config = spec.config.model_validate(case.harness)
    num_updates = steps // config.steps_per_update
    per_chunk = num_updates if chunk_updates == "all" else int(chunk_updates or 0)
    layout = ChunkLayout(num_updates, 1, per_chunk) if per_chunk else plan_layout(num_updates)
    runs = [Run("bench", case.algo, case.env_id, seed, steps, config) for seed in range(seeds)]
    with compiling_on_every_core():
        keys = jnp.stack([jax.random.PRNGKey(seed) for seed in range(seeds)])
        hp = {name: jnp.full(seeds, value, jnp.float32)
              for name, value in config.traced_values().items()}
        program = make_program(runs, layout, keys, hp, eval_episodes=0)
    timing = {"seeds": seeds, "steps": steps, "chunks": layout.num_chunks,
              "compile": program.compile_seconds, "train": 0.0}
    if compile_only:
        return timing
    state = jax.block_until_ready(program.init(keys, hp))
    start = time.perf_counter()
    for chunk in range(layout.num_chunks):
        state, _ = program.run_chunk(state, hp, np.full(seeds, chunk))
    jax.block_until_ready(state)
    return {**timing, "train": time.perf_counter() - start}


def main(argv: list[str]) -> None:
    """Train the jobs named on the command line and print their seconds as JSON."""
    enable_compilation_cache()
    chunk_updates = next((arg.partition("=")[2] for arg in argv
                          if arg.startswith("--chunk-updates=")), None)
    run_jobs(argv, lambda case, seeds, steps: train(case, seeds, steps, chunk_updates,
                                                    "--compile-only" in argv), START)


if __name__ == "__main__":
    main(sys.argv[1:])

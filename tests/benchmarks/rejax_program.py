"""rejax's program of a benchmark case, timed as `bare_program.py` times the harness's.

Run by `bench_rejax.py` from the repository root with the rejax virtualenv's Python
(`.venv-rejax`: rejax 0.1.3 with gymnax < 1, which rejax needs): `python -m
tests.benchmarks.rejax_program CASE SEEDS:STEPS... [--compile-only]`. It imports nothing of the
harness. For each job it vmaps rejax's initialisation and its `train` over SEEDS keys, compiles
both, trains (unless --compile-only) and prints one JSON line like `bare_program.py`'s. rejax's
periodic evaluation is switched off (the harness's bare program evaluates nothing either) and
the initialisation, which rejax's `train` begins with, is timed on its own and taken off
(the harness's training time excludes it too).
`REJAX_COMPILATION_CACHE` names a persistent compilation cache directory.
"""

import time

START = time.perf_counter()

import os  # noqa: E402  (timed from the interpreter's start)
import sys  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

cache = os.environ.get("REJAX_COMPILATION_CACHE")
if cache:
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
from rejax import get_algo  # noqa: E402

from tests.benchmarks.cases import Case, run_jobs  # noqa: E402


def _no_evaluation(algo, state, key):
    return jnp.zeros(())


def train(case: Case, seeds: int, steps: int, compile_only: bool) -> dict[str, float]:
    """Compile and train one job of the case in rejax; its compile and train seconds."""
    cls = get_algo(case.rejax_algo)
    algo = cls.create(env=case.env_id, total_timesteps=steps, eval_freq=steps,
                      skip_initial_evaluation=True, **case.rejax)
    algo = algo.replace(eval_callback=_no_evaluation)
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    start = time.perf_counter()
    init = jax.jit(jax.vmap(cls.init_state, in_axes=(None, 0))).lower(algo, keys).compile()
    run = jax.jit(jax.vmap(cls.train, in_axes=(None, 0))).lower(algo, keys).compile()
    timing = {"seeds": seeds, "steps": steps, "chunks": 1,
              "compile": time.perf_counter() - start, "train": 0.0}
    if compile_only:
        return timing
    start = time.perf_counter()
    jax.block_until_ready(init(algo, keys))
    init_seconds = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(run(algo, keys))
    return {**timing, "train": time.perf_counter() - start - init_seconds}


if __name__ == "__main__":
    run_jobs(sys.argv[1:], lambda case, seeds, steps: train(
        case, seeds, steps, "--compile-only" in sys.argv), START)

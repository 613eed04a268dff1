"""The harness's jitted PPO CartPole-v1 program alone: no store, no worker, no CLI.

`python -m tests.benchmarks.bare_program SEEDS STEPS [CHUNK_UPDATES] [--compile-only]` builds
the program a `harness run` of the same suite builds (CleanRL's PPO setting, seeds 0..SEEDS-1
vmapped, the default chunk layout unless CHUNK_UPDATES is given), trains it chunk by chunk
(unless --compile-only) and prints JSON: its number of chunks, and seconds: compile, train and
the whole process from the interpreter's start. It uses the harness's compilation cache
(`$HARNESS_COMPILATION_CACHE`), so beside `harness run` it shows what the store, progress and
summary add.
"""

import time

START = time.perf_counter()

import json  # noqa: E402  (timed from the interpreter's start)
import sys  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from harness.algos.ppo.agent import make_agent  # noqa: E402
from harness.algos.ppo.config import PPOConfig  # noqa: E402
from harness.envs.gymnax_backend import gymnax_info  # noqa: E402
from harness.training.compile_cache import enable_compilation_cache  # noqa: E402
from harness.training.layout import ChunkLayout, plan_layout  # noqa: E402
from harness.training.program import GymnaxProgram  # noqa: E402

ENV_ID = "CartPole-v1"


def train(seeds: int, steps: int, chunk_updates: int | None = None,
          compile_only: bool = False) -> dict[str, float]:
    """Compile and train the program once; its chunks, compile and train seconds (train 0 when
    only compiling)."""
    config = PPOConfig()
    num_updates = steps // config.steps_per_update
    layout = (ChunkLayout(num_updates, 1, chunk_updates) if chunk_updates
              else plan_layout(num_updates))
    keys = jnp.stack([jax.random.PRNGKey(seed) for seed in range(seeds)])
    hp = {name: jnp.full(seeds, value, jnp.float32)
          for name, value in config.traced_values().items()}
    agent = make_agent(gymnax_info(ENV_ID), config, num_updates)
    program = GymnaxProgram(agent, ENV_ID, layout, keys, hp)
    timing = {"chunks": layout.num_chunks, "compile": program.compile_seconds}
    if compile_only:
        return {**timing, "train": 0.0}
    state = jax.block_until_ready(program.init(keys, hp))
    start = time.perf_counter()
    for chunk in range(layout.num_chunks):
        state, _ = program.run_chunk(state, hp, np.full(seeds, chunk))
    jax.block_until_ready(state)
    return {**timing, "train": time.perf_counter() - start}


if __name__ == "__main__":
    enable_compilation_cache()
    numbers = [int(arg) for arg in sys.argv[1:] if arg != "--compile-only"]
    timing = train(*numbers, compile_only="--compile-only" in sys.argv)
    print(json.dumps({**timing, "in_process": time.perf_counter() - START}))

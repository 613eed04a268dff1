"""Build the program that trains a job's runs, for the backend of its environment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

import jax

from harness.algos import ALGORITHMS
from harness.algos.base import Hyper
from harness.envs.gymnasium_backend import gymnasium_info
from harness.envs.gymnax_backend import gymnax_info
from harness.runs import Run
from harness.training.exported import ProgramCache, builder_identity, programs_directory
from harness.training.host_program import GymnasiumProgram
from harness.training.layout import ChunkLayout
from harness.training.program import GymnaxProgram
from harness.training.threefry import unroll_threefry_on_cpu

Program = GymnaxProgram | GymnasiumProgram


def make_program(runs: Sequence[Run], layout: ChunkLayout, keys: jax.Array, hp: Hyper,
                 eval_episodes: int) -> Program:
    """Compile the program that trains `runs` (one algorithm, environment and shape)."""
    unroll_threefry_on_cpu()
    first = runs[0]
    module = ALGORITHMS[first.algo].load()
    if first.backend == "gymnax":
        agent = module.make_agent(gymnax_info(first.env_id), first.hyperparameters,
                                  first.num_updates)
        return GymnaxProgram(agent, first.env_id, layout, keys, hp, eval_episodes,
                             _program_cache(first, layout, eval_episodes, module.make_agent))
    agent = module.make_agent(gymnasium_info(first.env_id), first.hyperparameters,
                              first.num_updates)
    return GymnasiumProgram(agent, first.env_id, layout, keys, hp,
                            [run.seed for run in runs], eval_episodes)


def _program_cache(run: Run, layout: ChunkLayout, eval_episodes: int,
                   make_agent: Callable[..., object]) -> ProgramCache | None:
    """The kept programs of jobs like this one (same algorithm, environment, static
    hyperparameters, budget and layout), or None when no compilation cache is enabled."""
    directory = programs_directory()
    if directory is None:
        return None
    identity = {"algo": run.algo, "env_id": run.env_id,
                "hyperparameters": run.hyperparameters.static_values(),
                "num_updates": run.num_updates, "layout": asdict(layout),
                "eval_episodes": eval_episodes, **builder_identity(make_agent)}
    return ProgramCache(directory, identity)

"""Build the program that trains a job's runs, for the backend of its environment."""

from __future__ import annotations

from collections.abc import Sequence

import jax

from harness.algos import ALGORITHMS
from harness.algos.base import Hyper
from harness.envs.gymnasium_backend import gymnasium_info
from harness.envs.gymnax_backend import gymnax_info
from harness.runs import Run
from harness.training.host_program import GymnasiumProgram
from harness.training.layout import ChunkLayout
from harness.training.program import GymnaxProgram

Program = GymnaxProgram | GymnasiumProgram


def make_program(runs: Sequence[Run], layout: ChunkLayout, keys: jax.Array, hp: Hyper,
                 eval_episodes: int) -> Program:
    """Compile the program that trains `runs` (one algorithm, environment and shape)."""
    first = runs[0]
    module = ALGORITHMS[first.algo].load()
    if first.backend == "gymnax":
        agent = module.make_agent(gymnax_info(first.env_id), first.hyperparameters,
                                  first.num_updates)
        return GymnaxProgram(agent, first.env_id, layout, keys, hp, eval_episodes)
    agent = module.make_agent(gymnasium_info(first.env_id), first.hyperparameters,
                              first.num_updates)
    return GymnasiumProgram(agent, first.env_id, layout, keys, hp,
                            [run.seed for run in runs], eval_episodes)

"""Build the program that trains a job's runs, for the backend of its environment."""

from __future__ import annotations

import jax

from harness.algos import AlgorithmSpec
from harness.algos.base import Hyper
from harness.envs.gymnax_backend import gymnax_info
from harness.runs import Run
from harness.training.layout import ChunkLayout
from harness.training.program import GymnaxProgram


def make_program(spec: AlgorithmSpec, run: Run, layout: ChunkLayout, keys: jax.Array,
                 hp: Hyper, eval_episodes: int) -> GymnaxProgram:
    """Compile the program for `run`'s algorithm and environment (every run of the job)."""
    if run.backend == "gymnax":
        agent = spec.load().make_agent(gymnax_info(run.env_id), run.hyperparameters,
                                       run.num_updates)
        return GymnaxProgram(agent, run.env_id, layout, keys, hp, eval_episodes)
    raise ValueError(f"unknown environment backend {run.backend!r}")

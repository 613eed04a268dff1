"""The rollout inside the compiled program (gymnax): a `lax.scan` of act and step."""

from __future__ import annotations

from typing import Any

import jax

from harness.algos.base import Agent, Hyper, Transition
from harness.algos.packing import packed_scan
from harness.envs.episodes import FinishedEpisodes
from harness.envs.gymnax_backend import GymnaxVecEnv, VecEnvState


def rollout(env: GymnaxVecEnv, agent: Agent, agent_state: Any, env_state: VecEnvState,
            key: jax.Array, hp: Hyper, first_step: jax.Array
            ) -> tuple[Any, VecEnvState, Transition, FinishedEpisodes]:
    """Act `agent.rollout_steps` times in every environment copy.

    Returns transitions and finished episodes shaped `[steps, envs, ...]`.
    """

    def step(carry: tuple, inputs: tuple) -> tuple[tuple, tuple]:
        agent_state, env_state = carry
        key, t = inputs
        act_key, env_key = jax.random.split(key)
        global_step = first_step + t * agent.num_envs
        agent_state, action, extras = agent.act(agent_state, act_key, env_state.obs, hp,
                                                global_step)
        next_state, out = env.step(env_key, env_state, action)
        transition = Transition(env_state.obs, action, out.reward, out.terminated, out.done,
                                out.next_obs, extras)
        return (agent_state, next_state), (transition, out.finished)

    steps = agent.rollout_steps
    (agent_state, env_state), (transitions, finished) = packed_scan(
        step, (agent_state, env_state), (jax.random.split(key, steps), jax.numpy.arange(steps)),
        pack_carry=(False, True))
    return agent_state, env_state, transitions, finished

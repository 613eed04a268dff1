"""The interface between an algorithm and the shared training core.

An algorithm is four pure functions of one run: `init`, `act` (explore), `learn` (consume
`rollout_steps` steps of every environment copy) and `greedy` (evaluate). The core owns
everything else: environment stepping (inside the compiled program for gymnax, on the host
for Gymnasium), episode statistics, batching runs with `vmap`, chunks, metrics and storage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

Hyper = dict[str, jax.Array]
"""Traced hyperparameters of one run (one array per name)."""
Metrics = dict[str, jax.Array]
"""Scalar metrics of one update, named as in CleanRL (`losses/value_loss`, ...)."""


class Transition(NamedTuple):
    """Environment steps, leaves shaped `[steps, envs, ...]` when given to `learn`."""

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    terminated: jax.Array
    """The episode ended in a terminal state: do not bootstrap."""
    done: jax.Array
    """The episode ended (terminated or truncated): the next step starts a new one."""
    next_obs: jax.Array
    """The true next observation (the final one where an episode ended)."""
    extras: Any
    """Whatever `act` returned beside the action (log-probabilities, values, ...)."""


class Agent(NamedTuple):
    """An algorithm, as the shared core sees it."""

    num_envs: int
    """Environment copies per run."""
    rollout_steps: int
    """Steps of every environment copy collected before each `learn`."""
    init: Callable[[jax.Array, Hyper], Any]
    """`init(key, hp) -> state`."""
    act: Callable[[Any, jax.Array, jax.Array, Hyper, jax.Array], tuple[Any, jax.Array, Any]]
    """`act(state, key, obs, hp, global_step) -> (state, action, extras)`: exploring actions for
    `obs` `[envs, ...]`; `global_step` counts the run's environment steps so far."""
    learn: Callable[[Any, jax.Array, Transition, Hyper, jax.Array], tuple[Any, Metrics]]
    """`learn(state, key, transitions, hp, update_index) -> (state, metrics)`; metrics that
    were not computed in an update (before learning starts) are NaN."""
    greedy: Callable[[Any, jax.Array], jax.Array]
    """`greedy(state, obs) -> action`: the deterministic policy used for evaluation."""

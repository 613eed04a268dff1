"""The environment catalog (kept as data for fast validation) agrees with gymnax."""

from __future__ import annotations

import gymnax
from gymnax.environments import spaces

from harness.envs.catalog import ENVIRONMENTS

LEFT_OUT = {"MNISTBandit-bsuite", "FrozenLake-misc"}


def test_every_gymnax_env_is_catalogued_or_deliberately_left_out() -> None:
    gymnax_ids = {env_id for env_id, spec in ENVIRONMENTS.items() if spec.backend == "gymnax"}
    assert gymnax_ids | LEFT_OUT == set(gymnax.registered_envs)
    assert not gymnax_ids & LEFT_OUT


def test_catalog_action_kinds_match_gymnax_spaces() -> None:
    for env_id, spec in ENVIRONMENTS.items():
        env, params = gymnax.make(env_id)
        discrete = isinstance(env.action_space(params), spaces.Discrete)
        assert spec.action_kind == ("discrete" if discrete else "continuous"), env_id

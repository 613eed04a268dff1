"""The environment ids the harness can train on, with their backend and action kind.

Kept as data so that suite validation needs no JAX import; a test checks it against gymnax.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvSpec:
    """An environment id and what is needed to run it."""

    env_id: str
    backend: str
    """"gymnax" (JAX-native, stepped inside the compiled program)."""
    action_kind: str
    """"discrete" or "continuous"."""
    package: str
    """The Python distribution that provides it."""


def _gymnax(action_kind: str, *env_ids: str) -> list[EnvSpec]:
    return [EnvSpec(env_id, "gymnax", action_kind, "gymnax") for env_id in env_ids]


ENVIRONMENTS: dict[str, EnvSpec] = {
    spec.env_id: spec
    for spec in [
        *_gymnax(
            "discrete",
            "CartPole-v1",
            "Acrobot-v1",
            "MountainCar-v0",
            "Asterix-MinAtar",
            "Breakout-MinAtar",
            "Freeway-MinAtar",
            "Seaquest-MinAtar",
            "SpaceInvaders-MinAtar",
            "Catch-bsuite",
            "DeepSea-bsuite",
            "MemoryChain-bsuite",
            "UmbrellaChain-bsuite",
            "DiscountingChain-bsuite",
            "SimpleBandit-bsuite",
            "FourRooms-misc",
            "MetaMaze-misc",
            "BernoulliBandit-misc",
            "GaussianBandit-misc",
            "Pong-misc",
        ),
        *_gymnax(
            "continuous",
            "Pendulum-v1",
            "MountainCarContinuous-v0",
            "PointRobot-misc",
            "Reacher-misc",
            "Swimmer-misc",
        ),
    ]
}
"""Every supported id. gymnax's MNISTBandit-bsuite (downloads data at reset) and
FrozenLake-misc (integer observations) are left out."""


class UnknownEnvironmentError(ValueError):
    """An environment id the harness does not know."""


def lookup(env_id: str) -> EnvSpec:
    """The spec of `env_id`, or an error that suggests the closest known ids."""
    try:
        return ENVIRONMENTS[env_id]
    except KeyError:
        close = difflib.get_close_matches(env_id, list(ENVIRONMENTS), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "see `harness envs`"
        raise UnknownEnvironmentError(f"unknown environment id {env_id!r} ({hint})") from None

"""The environment ids the harness can train on, with their backend and action kind.

gymnax ids are kept as data so that suite validation needs no JAX import (a test checks the
table against gymnax); any other id is looked up in Gymnasium's registry and built once.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class EnvSpec:
    """An environment id and what is needed to run it."""

    env_id: str
    backend: str
    """"gymnax" (JAX-native, stepped inside the compiled program) or "gymnasium" (stepped on
    the host between calls to the compiled act and learn functions)."""
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
    """An environment id the harness cannot run, with what to do about it."""


BACKENDS = ("auto", "gymnax", "gymnasium")


def lookup(env_id: str, backend: str = "auto") -> EnvSpec:
    """The spec of `env_id` on `backend` ("auto": gymnax when it has the id, else Gymnasium)."""
    if backend != "gymnasium" and env_id in ENVIRONMENTS:
        return ENVIRONMENTS[env_id]
    if backend == "gymnax":
        raise UnknownEnvironmentError(
            f"{env_id!r} is not a gymnax environment ({_hint(env_id, list(ENVIRONMENTS))})")
    return gymnasium_spec(env_id)


def _hint(env_id: str, known: list[str]) -> str:
    close = difflib.get_close_matches(env_id, known, n=3, cutoff=0.5)
    return f"did you mean {', '.join(close)}?" if close else "see `harness envs`"


@functools.cache
def gymnasium_spec(env_id: str) -> EnvSpec:
    """Check that Gymnasium can build `env_id` here, and read its action kind."""
    import gymnasium
    from gymnasium import error, spaces

    try:
        gymnasium.spec(env_id)
    except error.NamespaceNotFound:
        namespace = env_id.split("/")[0]
        raise UnknownEnvironmentError(
            f"{env_id!r} needs the package that registers the {namespace!r} namespace "
            f"(for ALE/...: pip install ale-py), which the harness does not install") from None
    except error.Error:
        known = list(ENVIRONMENTS) + list(gymnasium.envs.registry)
        raise UnknownEnvironmentError(
            f"unknown environment id {env_id!r} ({_hint(env_id, known)})") from None
    try:
        env = gymnasium.make(env_id)
    except error.DependencyNotInstalled as err:
        raise UnknownEnvironmentError(f"{env_id} cannot be built here: {err}") from None
    try:
        discrete = isinstance(env.action_space, spaces.Discrete)
        if not discrete and not isinstance(env.action_space, spaces.Box):
            raise UnknownEnvironmentError(
                f"{env_id} has a {type(env.action_space).__name__} action space; "
                "the harness supports Discrete and Box")
        if not isinstance(env.observation_space, spaces.Box):
            raise UnknownEnvironmentError(
                f"{env_id} has a {type(env.observation_space).__name__} observation space; "
                "the harness supports Box observations")
    finally:
        env.close()
    package = env.spec.entry_point.split(":")[0].split(".")[0] if env.spec else "gymnasium"
    return EnvSpec(env_id, "gymnasium", "discrete" if discrete else "continuous", package)

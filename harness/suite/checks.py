"""Checks that need the algorithm registry and environment catalog, each at a key path."""

from __future__ import annotations

import difflib

from pydantic import ValidationError

from harness.algos import ALGORITHMS
from harness.envs.catalog import EnvSpec, UnknownEnvironmentError, lookup
from harness.suite.adaptive_seeds import AdaptiveSeeds
from harness.suite.errors import LocatedError
from harness.suite.messages import describe_error
from harness.suite.schema import AlgorithmEntry, EnvironmentEntry, Suite


def check_suite(suite: Suite) -> None:
    """Raise LocatedError at the first key path where the suite cannot run."""
    specs = _check_environments(suite.environments)
    names: dict[str, int] = {}
    for i, entry in enumerate(suite.algorithms):
        loc = ("algorithms", i)
        _check_algorithm(entry, loc)
        if isinstance(suite.seeds, AdaptiveSeeds) and entry.sweep and entry.sweep.confirm:
            raise LocatedError((*loc, "sweep", "confirm"), "a confirmation stage trains a fixed "
                               "number of seeds; it cannot follow adaptive seeds")
        if entry.name in names:
            raise LocatedError((*loc, "exp_name"), (
                f"exp_name {entry.name!r} is used by algorithms[{names[entry.name]}] too; "
                "give each entry a distinct exp_name"))
        names[entry.name] = i
        for env_id in entry.env_overrides:
            if env_id not in specs:
                raise LocatedError((*loc, "env_overrides", env_id),
                                   f"override for {env_id!r}, which is not in environments")
        for env_id, spec in specs.items():
            _check_pairing(entry, spec, loc)
            _check_budget(entry.total_timesteps or suite.total_timesteps, entry, env_id, loc)


def _check_environments(entries: list[EnvironmentEntry]) -> dict[str, EnvSpec]:
    specs: dict[str, EnvSpec] = {}
    for j, entry in enumerate(entries):
        if entry.id in specs:
            raise LocatedError(("environments", j), f"{entry.id!r} is listed twice")
        try:
            specs[entry.id] = lookup(entry.id, entry.backend)
        except UnknownEnvironmentError as err:
            raise LocatedError(("environments", j), str(err)) from None
    return specs


def _check_algorithm(entry: AlgorithmEntry, loc: tuple) -> None:
    if entry.algo not in ALGORITHMS:
        close = difflib.get_close_matches(entry.algo, list(ALGORITHMS), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(ALGORITHMS)}"
        raise LocatedError((*loc, "algo"), f"unknown algorithm {entry.algo!r} ({hint})")
    config = ALGORITHMS[entry.algo].config
    sources = [((*loc, "hyperparameters"), entry.hyperparameters)] + [
        ((*loc, "env_overrides", env_id), values) for env_id, values in entry.env_overrides.items()
    ]
    for where, values in sources:
        for key in values:
            if key not in config.model_fields:
                raise LocatedError((*where, key), _unknown_hyperparameter(entry.algo, key))
    if entry.sweep is not None:
        _check_sweep(entry, loc)


def _check_sweep(entry: AlgorithmEntry, loc: tuple) -> None:
    """Swept names are hyperparameters set nowhere else; every configuration validates."""
    config = ALGORITHMS[entry.algo].config
    where = (*loc, "sweep", "parameters")
    for key in entry.sweep.parameters:  # type: ignore[union-attr]
        if key not in config.model_fields:
            raise LocatedError((*where, key), _unknown_hyperparameter(entry.algo, key))
        fixed = [f"env_overrides.{env}" for env, values in entry.env_overrides.items()
                 if key in values]
        if key in entry.hyperparameters or fixed:
            place = "hyperparameters" if key in entry.hyperparameters else fixed[0]
            raise LocatedError((*where, key), f"{key} is swept and also set in {place}; "
                                              "set it in one place")
    for name, values in entry.configurations():
        try:
            config.model_validate({**entry.hyperparameters, **values})
        except ValidationError as err:
            first = err.errors()[0]
            raise LocatedError((*where, *first["loc"]),
                               f"configuration {name}: {describe_error(first)}") from None


def _unknown_hyperparameter(algo: str, key: str) -> str:
    fields = ALGORITHMS[algo].config.model_fields
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    valid = ", ".join(f"{name}={field.default!r}" for name, field in fields.items())
    return f"unknown hyperparameter {key!r} for {algo}{hint}; valid: {valid}"


def _check_pairing(entry: AlgorithmEntry, env: EnvSpec, loc: tuple) -> None:
    kinds = ALGORITHMS[entry.algo].action_kinds
    if env.action_kind not in kinds:
        raise LocatedError((*loc, "algo"), (
            f"{entry.algo} supports {'/'.join(sorted(kinds))} actions, "
            f"but {env.env_id} has {env.action_kind} actions"))


def _check_budget(total_timesteps: int, entry: AlgorithmEntry, env_id: str, loc: tuple) -> None:
    try:
        config = entry.resolve(env_id, entry.configurations()[0][1])
    except ValidationError as err:
        first = err.errors()[0]
        where = (*loc, "env_overrides", env_id) if env_id in entry.env_overrides else (
            *loc, "hyperparameters")
        raise LocatedError((*where, *first["loc"]), describe_error(first)) from None
    if total_timesteps < config.steps_per_update:
        where = (*loc, "total_timesteps") if entry.total_timesteps else ("total_timesteps",)
        raise LocatedError(where, (
            f"{total_timesteps} is less than one {entry.algo} update on {env_id} "
            f"({config.steps_per_update} steps per update)"))

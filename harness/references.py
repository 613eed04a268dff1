"""Published reference scores (CleanRL and others) to set beside the harness's results, and the
declared random and reference scores that normalise them (`suites/references/*.yaml`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, PositiveInt, ValidationError, model_validator
from ruamel.yaml import YAML

REFERENCES_DIR = Path("suites/references")


class ReferenceScore(BaseModel):
    """One published final return, with where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    algo: str
    env_id: str
    mean: float
    std: float
    seeds: PositiveInt
    total_timesteps: PositiveInt
    source: str
    comparable: bool = True
    """False where the reference used other hyperparameters, budget or scoring."""


class NormalizationScore(BaseModel):
    """The two returns that map an environment's scores onto [0, 1]: `(score - random) /
    (reference - random)`, each with where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env_id: str
    random: float
    """Mean return of a uniform-random policy."""
    reference: float
    """The return that counts as 1: a solved threshold, or the best attainable return."""
    random_source: str
    reference_source: str

    @model_validator(mode="after")
    def _distinct(self) -> NormalizationScore:
        if self.reference == self.random:
            raise ValueError(f"{self.env_id}: reference and random scores are equal")
        return self


class _ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: list[ReferenceScore] = []
    normalization: list[NormalizationScore] = []


def _files(directory: Path) -> list[tuple[Path, _ReferenceFile]]:
    found = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            content = _ReferenceFile.model_validate(YAML(typ="safe").load(path.read_text()))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{path}: {where}: {first['msg']}") from None
        found.append((path, content))
    return found


def load_references(directory: Path = REFERENCES_DIR) -> pd.DataFrame:
    """Every reference score under `directory` (*.yaml), one row each."""
    rows = [{**score.model_dump(), "file": str(path)}
            for path, content in _files(directory) for score in content.scores]
    return pd.DataFrame(rows, columns=[*ReferenceScore.model_fields, "file"])


def load_normalization(directory: Path = REFERENCES_DIR) -> pd.DataFrame:
    """Every declared normalisation under `directory` (*.yaml), one row per env_id; an env_id
    declared twice is an error."""
    rows = [{**entry.model_dump(), "file": str(path)}
            for path, content in _files(directory) for entry in content.normalization]
    table = pd.DataFrame(rows, columns=[*NormalizationScore.model_fields, "file"])
    twice = table["env_id"][table["env_id"].duplicated()]
    if not twice.empty:
        raise ValueError(f"{twice.iloc[0]} has more than one normalisation in {directory}")
    return table


def _family(env_id: str) -> str:
    """The id without its version: `HalfCheetah-v5` -> `HalfCheetah`."""
    name, _, version = env_id.rpartition("-v")
    return name if name and version.isdigit() else env_id


def reference_for(references: pd.DataFrame, algo: str, env_id: str) -> str:
    """A short description of the published score for `algo` on `env_id` (or its other
    versions), or "" when there is none; `*` marks references that are not comparable."""
    if references.empty:
        return ""
    same_algo = references[references["algo"] == algo]
    match = same_algo[same_algo["env_id"] == env_id]
    if match.empty:
        match = same_algo[same_algo["env_id"].map(_family) == _family(env_id)]
    if match.empty:
        return ""
    row = match.iloc[0].to_dict()
    where = "" if row["env_id"] == env_id else f"{row['env_id']}, "
    mark = "" if row["comparable"] else "*"
    return (f"{row['mean']:.1f} ± {row['std']:.1f}{mark} ({where}{row['seeds']} seeds, "
            f"{row['total_timesteps']:,} steps)")

"""Published reference scores (CleanRL and others) to set beside the harness's results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, PositiveInt
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


class _ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: list[ReferenceScore]


def load_references(directory: Path = REFERENCES_DIR) -> pd.DataFrame:
    """Every reference score under `directory` (*.yaml), one row each."""
    rows = []
    for path in sorted(directory.glob("*.yaml")):
        content = _ReferenceFile.model_validate(YAML(typ="safe").load(path.read_text()))
        rows += [{**score.model_dump(), "file": str(path)} for score in content.scores]
    columns = [*ReferenceScore.model_fields, "file"]
    return pd.DataFrame(rows, columns=columns)


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

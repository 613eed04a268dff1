"""Final scores of the runs of one or more suites, as a tidy frame and as score arrays.

Every run is one row with fixed columns (`suite`, `run_id`, `exp_name`, `env_id`, `seed`,
`algo`, `score`, `episodes`, and `normalized` once normalised). Runs of several suites are told
apart by `exp_name`: where one experiment name occurs in more than one suite (our `ppo` beside
Open RL Benchmark's pulled `ppo`), it becomes `SUITE/EXP_NAME`, in every table and plot.

A run without a score (no episode its reduction counts) is left out of every table; the count
of such runs is kept in `ScoreArrays.unscored`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness import results
from harness.analysis.errors import AnalysisError
from harness.references import load_normalization
from harness.scores import DEFAULT_REDUCTION, Reduction

Suites = str | Path | Sequence[str | Path]
Names = str | Sequence[str] | None
SCORE_COLUMNS = ["suite", "run_id", "exp_name", "env_id", "seed", "algo", "score", "episodes"]


def suite_list(suites: Suites) -> list[str | Path]:
    """`suites` as a non-empty list (one name, path, or several)."""
    chosen = [suites] if isinstance(suites, (str, Path)) else list(suites)
    if not chosen:
        raise AnalysisError("no suite given")
    return chosen


def _check_names(kind: str, wanted: Names, present: pd.Series) -> list[str] | None:
    if wanted is None:
        return None
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    known = set(present)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise AnalysisError(f"unknown {kind} {unknown[0]!r} (finished runs have: "
                            f"{', '.join(sorted(known))})")
    return names


def label_experiments(frame: pd.DataFrame) -> pd.DataFrame:
    """`exp_name` made unique across suites: `SUITE/EXP_NAME` where it occurs in several."""
    suites_per_name = frame.groupby("exp_name")["suite"].nunique()
    shared = frame["exp_name"].map(suites_per_name) > 1
    label = frame["exp_name"].where(~shared, frame["suite"] + "/" + frame["exp_name"])
    return frame.assign(exp_name=label)


def run_scores(suites: Suites, *, root: str | Path | None = None,
               reduction: Reduction | str = DEFAULT_REDUCTION, exp_name: Names = None,
               env_id: Names = None) -> pd.DataFrame:
    """One row per finished, scored run of `suites` under `reduction` (`SCORE_COLUMNS`);
    `exp_name` and `env_id` select (after labelling; unknown names are an error)."""
    frames = []
    for suite in suite_list(suites):
        try:
            frames.append(results.final_scores(suite, root=root, reduction=reduction))
        except FileNotFoundError as err:
            raise AnalysisError(str(err)) from None
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    names = ", ".join(str(s) for s in suite_list(suites))
    if frame.empty:
        raise AnalysisError(f"no finished runs in {names}")
    frame = label_experiments(frame.astype({"suite": str, "exp_name": str, "env_id": str}))
    keep = pd.Series(True, index=frame.index)
    for column, wanted, kind in (("exp_name", exp_name, "algorithm"),
                                 ("env_id", env_id, "environment")):
        chosen = _check_names(kind, wanted, frame[column])
        if chosen is not None:
            keep &= frame[column].isin(chosen)
    frame = frame[keep & frame["score"].notna()]
    if frame.empty:
        raise AnalysisError(f"no finished run of the selection in {names} has a final score")
    return frame[SCORE_COLUMNS].sort_values(["exp_name", "env_id", "seed", "suite"],
                                            ignore_index=True)


def normalize(scores: pd.DataFrame, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """`scores` with a `normalized` column, `(score - random) / (reference - random)` from the
    declared table (`suites/references/*.yaml`, `normalization:`; never the data's own range);
    an environment without a declared normalisation is an error naming it."""
    table = load_normalization() if table is None else table
    declared = table.set_index("env_id")
    missing = sorted(set(scores["env_id"]) - set(declared.index))
    if missing:
        raise AnalysisError(f"no declared random and reference score for {missing[0]} (add it "
                            "under `normalization:` in suites/references/normalization.yaml)")
    random = scores["env_id"].map(declared["random"])
    reference = scores["env_id"].map(declared["reference"])
    return scores.assign(normalized=(scores["score"] - random) / (reference - random))


@dataclass(frozen=True)
class ScoreArrays:
    """Per algorithm, a `[runs, tasks]` array of one score column (NaN pads a task that has
    fewer runs than the algorithm's most-seeded task), over the tasks every algorithm ran."""

    arrays: dict[str, np.ndarray]
    tasks: list[str]
    dropped: list[str]
    """Environments left out because some algorithm has no scored run on them."""
    column: str

    @property
    def single_run(self) -> list[str]:
        """Algorithms with at most one run on every task: no interval can be computed."""
        return [name for name, array in self.arrays.items()
                if int((~np.isnan(array)).sum(axis=0).max()) < 2]


def score_arrays(scores: pd.DataFrame, column: str = "normalized") -> ScoreArrays:
    """`scores` (one row per run) as `ScoreArrays`, runs in seed order within each task."""
    if column not in scores:
        raise AnalysisError(f"no {column!r} column in the scores (normalize them first?)")
    names = sorted(scores["exp_name"].unique())
    per_name = {name: set(scores.loc[scores["exp_name"] == name, "env_id"]) for name in names}
    tasks = sorted(set.intersection(*per_name.values()))
    dropped = sorted(set.union(*per_name.values()) - set(tasks))
    if not tasks:
        raise AnalysisError(f"the algorithms {', '.join(names)} share no environment")
    arrays = {}
    for name in names:
        rows = scores[(scores["exp_name"] == name) & scores["env_id"].isin(tasks)]
        counts = rows.groupby("env_id").size()
        array = np.full((int(counts.max()), len(tasks)), np.nan)
        for t, task in enumerate(tasks):
            values = rows.loc[rows["env_id"] == task].sort_values(["seed", "suite"])[column]
            array[:len(values), t] = values.to_numpy(np.float64)
        arrays[name] = array
    return ScoreArrays(arrays, tasks, dropped, column)

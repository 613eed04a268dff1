"""Rank the configurations of hyperparameter sweeps by their final scores.

A configuration's score is the IQM over its runs (seeds) and environments of the suite's
final-score reduction, normalised by the declared random and reference scores when the sweep
spans several environments (raw scores on one), with a stratified-bootstrap interval. The runs
of a sweep are those whose stored config carries a `sweep` block (`harness/suite/sweep.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import results
from harness.analysis.aggregates import iqm
from harness.analysis.bootstrap import interval_estimates
from harness.analysis.errors import AnalysisError
from harness.analysis.scores import Suites, normalize, score_arrays, suite_list
from harness.store import RunRecord

SWEEP_COLUMNS = ["sweep", "rank", "exp_name", "iqm", "lower", "upper", "runs", "tasks"]


def sweep_runs(scores: pd.DataFrame, suites: Suites, root: str | Path | None = None
               ) -> pd.DataFrame:
    """The rows of `scores` (one per run, `run_scores`) that belong to a sweep, with `sweep`
    (the entry's name) and one column per swept hyperparameter."""
    rows: list[dict[str, Any]] = []
    for suite in suite_list(suites):
        paths = results.suite_paths(suite, root)
        chosen = scores[scores["suite"] == paths.suite]
        for index, run_id in zip(chosen.index, chosen["run_id"], strict=True):
            config = RunRecord(paths.run(run_id)).config() or {}
            if "sweep" in config:
                rows.append({"index": index, "sweep": config["sweep"]["name"],
                             **config["sweep"]["values"]})
    if not rows:
        return scores.iloc[:0].assign(sweep=pd.Series(dtype=str))
    swept = pd.DataFrame(rows).set_index("index")
    return scores.loc[swept.index].join(swept)


def sweep_table(scores: pd.DataFrame, suites: Suites, *, root: str | Path | None = None,
                normalization: pd.DataFrame | None = None, reps: int = 2_000,
                confidence: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Per sweep and configuration, best first: the IQM of the final scores over seeds and
    environments (normalised when the sweep has several), its interval, and the swept values
    (columns after `SWEEP_COLUMNS`). Empty when no run belongs to a sweep."""
    swept = sweep_runs(scores, suites, root)
    if swept.empty:
        return pd.DataFrame(columns=SWEEP_COLUMNS)
    tables = []
    for name, runs in swept.groupby("sweep", sort=True):
        parameters = [c for c in runs.columns if c not in scores.columns and c != "sweep"
                      and runs[c].notna().any()]
        several = runs["env_id"].nunique() > 1
        column = "normalized" if several else "score"
        if several:
            try:
                runs = normalize(runs, normalization)
            except AnalysisError as err:
                raise AnalysisError(f"sweep {name} spans several environments: {err}") from None
        arrays = score_arrays(runs, column)
        intervals = interval_estimates(arrays.arrays, {"IQM": iqm}, reps=reps,
                                       confidence=confidence, seed=seed)
        values = runs.groupby("exp_name")[parameters].first()
        table = pd.DataFrame([
            {"sweep": name, "exp_name": label, "iqm": found["IQM"].estimate,
             "lower": found["IQM"].lower, "upper": found["IQM"].upper,
             "runs": int((~np.isnan(arrays.arrays[label])).sum()), "tasks": len(arrays.tasks),
             **values.loc[label].to_dict()}
            for label, found in intervals.items()])
        table = table.sort_values("iqm", ascending=False, ignore_index=True)
        table.insert(1, "rank", np.arange(1, len(table) + 1))
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def swept_parameters(table: pd.DataFrame, sweep: str) -> list[str]:
    """The hyperparameters `sweep` varies, in the order of `table`'s columns."""
    rows = table[table["sweep"] == sweep]
    return [c for c in rows.columns if c not in SWEEP_COLUMNS and rows[c].notna().any()]

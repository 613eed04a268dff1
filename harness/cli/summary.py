"""The table `harness run` ends with: final scores beside published references."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness import results
from harness.execute import Plan
from harness.references import reference_for
from harness.scores import DEFAULT_REDUCTION


def print_summary(console: Console, plan: Plan, references: pd.DataFrame) -> None:
    """Final scores per algorithm and environment beside the published `references`
    (`harness.references.load_references`)."""
    frame = results.summary(plan.paths.dir, run_id=[run.run_id for run in plan.runs])
    table = Table(title=f"suite {plan.suite.name}: final score ({DEFAULT_REDUCTION.describe()}),"
                  " mean ± std over seeds", title_justify="left",
                  caption="* reference with other hyperparameters or scoring (see "
                          "suites/references/)" if not references.empty else None)
    for column in ("exp_name", "env_id", "steps", "done", "failed", "final score",
                   "published reference"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        spread = 0.0 if pd.isna(row.final_score_std) else row.final_score_std
        mean = row.final_score_mean
        score = "" if pd.isna(mean) else f"{mean:.1f} ± {spread:.1f}"
        table.add_row(escape(row.exp_name), row.env_id, f"{row.total_timesteps:,}",
                      f"{row.done}/{row.runs}", str(row.failed), score,
                      reference_for(references, row.algo, row.env_id))
    console.print(table)

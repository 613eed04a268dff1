"""What the `harness` command prints: plans, status, summaries and the catalog, as tables."""

from __future__ import annotations

from collections import Counter

import pandas as pd
from rich.console import Console
from rich.table import Table

from harness import results
from harness.algos import ALGORITHMS
from harness.envs.catalog import ENVIRONMENTS
from harness.execute import Plan
from harness.references import load_references, reference_for
from harness.store.record import is_interrupted


def print_plan(console: Console, plan: Plan) -> None:
    """The plan's runs, their ids and status, and the jobs still to train."""
    table = Table(title=f"suite {plan.suite.name}", title_justify="left")
    for column in ("exp_name", "algo", "env_id", "seed", "run_id", "status"):
        table.add_column(column)
    for run in plan.runs:
        table.add_row(run.exp_name, run.algo, run.env_id, str(run.seed), run.run_id,
                      plan.status_of(run))
    console.print(table)
    todo = plan.todo
    console.print(f"{len(plan.runs)} runs: {len(plan.runs) - len(todo)} done, {len(todo)} to "
                  f"train in {len(plan.jobs)} jobs of up to {plan.suite.runs_per_job} runs; "
                  f"results in {plan.paths.dir}", highlight=False)


def print_status(console: Console, plan: Plan) -> None:
    """Run counts by status per algorithm and environment, with the last error.

    A run marked running whose worker on this host is gone counts as interrupted.
    """
    counts: Counter[tuple[str, str, str]] = Counter()
    last_error: dict[tuple[str, str], str] = {}
    for run in plan.runs:
        state = plan.statuses[run.run_id]
        status = "interrupted" if is_interrupted(state) else state["status"]
        counts[(run.exp_name, run.env_id, status)] += 1
        if state.get("reason"):
            last_error[(run.exp_name, run.env_id)] = f"seed {run.seed}: {state['reason']}"
    table = Table(title=f"suite {plan.suite.name}", title_justify="left")
    statuses = ("pending", "running", "interrupted", "done", "failed")
    for column in ("exp_name", "env_id", *statuses, "last error"):
        table.add_column(column)
    pairs = dict.fromkeys((run.exp_name, run.env_id) for run in plan.runs)
    for exp_name, env_id in pairs:
        table.add_row(exp_name, env_id, *(str(counts[(exp_name, env_id, s)]) for s in statuses),
                      last_error.get((exp_name, env_id), ""))
    console.print(table)
    if any(status == "interrupted" for _, _, status in counts):
        console.print("interrupted runs resume from their last chunk with `harness run "
                      f"{plan.suite.name}`", highlight=False)


def print_summary(console: Console, plan: Plan) -> None:
    """Final returns per algorithm and environment beside published references."""
    frame = results.summary(plan.paths.dir, run_id=[run.run_id for run in plan.runs])
    references = load_references()
    table = Table(title=f"suite {plan.suite.name}: final episodic return (last 10% of steps), "
                  "mean ± std over seeds", title_justify="left",
                  caption="* reference with other hyperparameters or scoring (see "
                          "suites/references/)" if not references.empty else None)
    for column in ("exp_name", "env_id", "steps", "done", "failed", "final return",
                   "published reference"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        spread = 0.0 if pd.isna(row.final_return_std) else row.final_return_std
        mean = row.final_return_mean
        score = "" if pd.isna(mean) else f"{mean:.1f} ± {spread:.1f}"
        table.add_row(row.exp_name, row.env_id, f"{row.total_timesteps:,}",
                      f"{row.done}/{row.runs}", str(row.failed), score,
                      reference_for(references, row.algo, row.env_id))
    console.print(table)


def print_catalog(console: Console) -> None:
    """The algorithms and the environment ids the harness knows."""
    for name, spec in ALGORITHMS.items():
        console.print(f"algorithm {name}: {'/'.join(sorted(spec.action_kinds))} actions",
                      highlight=False)
    table = Table()
    for column in ("env_id", "backend", "actions", "package"):
        table.add_column(column)
    for spec in ENVIRONMENTS.values():
        table.add_row(spec.env_id, spec.backend, spec.action_kind, spec.package)
    console.print(table)
    console.print("Any other id registered with Gymnasium (e.g. HalfCheetah-v5, Hopper-v5) runs "
                  "on the gymnasium backend; `harness plan` checks that it can be built here.",
                  highlight=False)

"""The confirmation stage of sweeps (`sweep.confirm: {top, seeds}`): once every configuration
of a sweep is trained on the suite's seeds, its `top` best configurations are trained again on
`seeds` more seeds (numbered after the suite's largest).

The best are chosen by `harness.analysis.sweeps.sweep_table` over the runs of the suite's own
seeds only, so the choice is the same in every `harness run`: a rerun after a kill picks the
same configurations and trains only their runs not done yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.execute import Plan, run_plan
from harness.runs import Run
from harness.store.state import RunState
from harness.suite.schema import AlgorithmEntry
from runners.base import Runner


def confirming(plan: Plan) -> list[AlgorithmEntry]:
    """The suite's algorithm entries whose sweep has a confirmation stage."""
    return [entry for entry in plan.suite.algorithms
            if entry.sweep is not None and entry.sweep.confirm is not None]


def _stage_runs(plan: Plan, entry: AlgorithmEntry) -> list[Run]:
    return [run for run in plan.runs if run.sweep and run.sweep["name"] == entry.name]


def confirmation_runs(plan: Plan) -> dict[str, list[Run]]:
    """Per confirming sweep whose first stage is done: the runs of its best configurations on
    the extra seeds (empty for a sweep still training its first stage)."""
    from harness.analysis.scores import run_scores
    from harness.analysis.sweeps import sweep_table

    found: dict[str, list[Run]] = {}
    first_extra = max(plan.suite.seed_list) + 1
    for entry in confirming(plan):
        stage = _stage_runs(plan, entry)
        if any(plan.state_of(run) != RunState.DONE for run in stage):
            continue
        ids = {run.run_id for run in stage}
        scores = run_scores(plan.paths.dir)
        table = sweep_table(scores[scores["run_id"].isin(ids)], plan.paths.dir)
        confirm = entry.sweep.confirm  # type: ignore[union-attr]
        best = set(table.loc[table["sweep"] == entry.name, "exp_name"].head(confirm.top))
        found[entry.name] = [
            replace(run, seed=seed) for run in stage
            if run.exp_name in best and run.seed == plan.suite.seed_list[0]
            for seed in range(first_extra, first_extra + confirm.seeds)]
    return found


def run_confirmation(plan: Plan, runner: Runner, report: Callable[[str], None]) -> Plan:
    """Train the confirmation runs of every sweep whose first stage is done (`report` says
    which); the plan over the suite's runs and those."""
    staged = confirmation_runs(plan)
    extra = [run for runs in staged.values() for run in runs]
    for name, runs in staged.items():
        seeds = sorted({run.seed for run in runs})
        names = sorted({run.exp_name for run in runs})
        report(f"sweep {name}: confirming its {len(names)} best configurations on seeds "
               f"{seeds[0]}-{seeds[-1]} ({len(runs)} runs): {', '.join(names)}")
    if extra:
        run_plan(plan.with_runs(extra), runner)
    return plan.with_runs([*plan.runs, *extra])

"""What `harness plan`, `status` and `envs` print (no pandas, no JAX: these start fast)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.adaptive import status_lines
from harness.algos import ALGORITHMS
from harness.envs.catalog import ENVIRONMENTS
from harness.execute import Plan
from harness.jobs import batch_key
from harness.store.state import RUN_STATES, RunState
from harness.suite.adaptive_seeds import AdaptiveSeeds


def state_counts(plan: Plan) -> str:
    """`12 done, 3 failed, 1 running`: the plan's runs counted by state, in lifecycle order."""
    counts = Counter(plan.state_of(run).value for run in plan.runs)
    return ", ".join(f"{counts[state]} {state}" for state in RUN_STATES if counts[state])


def print_plan(console: Console, plan: Plan, every_run: bool = False) -> None:
    """The plan in brief (runs per experiment and environment, states, jobs still to train);
    every run with its id and state when `every_run`."""
    table = Table(title=f"suite {plan.suite.name}", title_justify="left")
    for column in ("exp_name", "algo", "env_id", "seeds", "total_timesteps", "states"):
        table.add_column(column)
    groups: dict[tuple[str, str], list] = {}
    for run in plan.runs:
        groups.setdefault((run.exp_name, run.env_id), []).append(run)
    for (exp_name, env_id), runs in groups.items():
        counts = Counter(plan.state_of(run).value for run in runs)
        states = ", ".join(f"{counts[s]} {s}" for s in RUN_STATES if counts[s])
        table.add_row(escape(exp_name), runs[0].algo, env_id, str(len(runs)),
                      f"{runs[0].total_timesteps:,}", states)
    console.print(table)
    if every_run:
        widths = {"exp_name": 8, "algo": 4, "env_id": 6}
        for run in plan.runs:
            for column in widths:
                widths[column] = max(widths[column], len(getattr(run, column)))
        header = "  ".join(name.ljust(width) for name, width in widths.items())
        lines = [f"{header}  {'seed':>10}  {'run_id':12}  status"]
        lines += [f"{run.exp_name:{widths['exp_name']}}  {run.algo:{widths['algo']}}  "
                  f"{run.env_id:{widths['env_id']}}  {run.seed:>10}  {run.run_id:12}  "
                  f"{plan.state_of(run).value}" for run in plan.runs]
        console.print(escape("\n".join(lines)), highlight=False, soft_wrap=True)
    for line in sweep_lines(plan):
        console.print(escape(line), highlight=False)
    adaptive = isinstance(plan.suite.seeds, AdaptiveSeeds)
    if adaptive:
        for line in status_lines(plan.paths, plan.suite.seeds):
            console.print(escape(line), highlight=False)
    todo = plan.todo
    programs = len({batch_key(run) for job in plan.jobs for run in job.runs})
    console.print(f"{len(plan.runs)} runs: {state_counts(plan)}; {len(todo)} to train in "
                  f"{len(plan.jobs)} jobs of up to {plan.suite.runs_per_job} runs "
                  f"({programs} compiled program{'s' if programs != 1 else ''})"
                  + (", at most: AdaStop stops early where it decides" if adaptive else "")
                  + "; results in "
                  f"{plan.paths.dir}" + ("" if every_run else " (--runs lists every run)"),
                  highlight=False)


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def sweep_lines(plan: Plan) -> list[str]:
    """One line per sweep: its method, parameters, configurations and runs."""
    lines = []
    seeds = len(plan.suite.seed_list)
    for entry in plan.suite.algorithms:
        if entry.sweep is None:
            continue
        sweep, count = entry.sweep, len(entry.configurations())
        method = "grid" if sweep.method == "grid" else \
            f"random ({sweep.samples} samples, seed {sweep.seed})"
        envs = len(plan.suite.environments)
        lines.append(f"sweep {entry.name}: {method} over {', '.join(sweep.parameters)}: "
                     f"{_count(count, 'configuration')} x {_count(envs, 'environment')} x "
                     f"{_count(seeds, 'seed')} = {_count(count * envs * seeds, 'run')}")
        if sweep.confirm is not None:
            top, more = sweep.confirm.top, sweep.confirm.seeds
            lines.append(f"  then its {top} best configurations on {_count(more, 'more seed')}"
                         f" ({_count(top * envs * more, 'run')}), chosen once these are done")
    return lines


HINTS = {
    RunState.INTERRUPTED: "interrupted runs resume from their last chunk with `harness run {}`",
    RunState.STALE: "stale runs (no heartbeat within their timeout) are taken over by the next "
                    "`harness run {}`",
    RunState.DAMAGED: "damaged runs are repaired by `harness run {}`: the damaged files move to "
                      "the run's damaged/ directory and the run trains again",
}


def print_status(console: Console, plan: Plan) -> None:
    """Run counts by state per algorithm and environment, with the last error; for adaptive
    seeds the interim and the open comparisons."""
    counts: Counter[tuple[str, str, str]] = Counter()
    last_error: dict[tuple[str, str], str] = {}
    for run in plan.runs:
        view = plan.views[run.run_id]
        counts[(run.exp_name, run.env_id, view.state.value)] += 1
        if view.reason:
            last_error[(run.exp_name, run.env_id)] = f"seed {run.seed} ({run.run_id}): " \
                                                     f"{view.reason}"
    table = Table(title=f"suite {plan.suite.name}", title_justify="left")
    for column in ("exp_name", "env_id", *RUN_STATES, "last error"):
        table.add_column(column)
    pairs = dict.fromkeys((run.exp_name, run.env_id) for run in plan.runs)
    for exp_name, env_id in pairs:
        table.add_row(escape(exp_name), env_id,
                      *(str(counts[(exp_name, env_id, s)]) for s in RUN_STATES),
                      escape(last_error.get((exp_name, env_id), "")))
    console.print(table)
    present = {state for _, _, state in counts}
    for state, hint in HINTS.items():
        if state.value in present:
            console.print(hint.format(plan.suite.name), highlight=False)
    if isinstance(plan.suite.seeds, AdaptiveSeeds):
        for line in status_lines(plan.paths, plan.suite.seeds):
            console.print(escape(line), highlight=False)


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

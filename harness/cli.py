"""The `harness` command: run, plan and inspect suites."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from harness import results
from harness.algos import ALGORITHMS
from harness.envs.catalog import ENVIRONMENTS
from harness.execute import Plan, make_plan, run_plan
from harness.references import load_references, reference_for
from harness.suite import SuiteError, find_suite, load_suite

EXIT_FAILED_RUNS = 1
EXIT_BAD_INPUT = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def suite_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("suite", help="suite name (suites/NAME.yaml) or path to a YAML file")
        command.add_argument("--results-dir", type=Path, default=None,
                             help="results root (default: the suite's results_dir)")
        return command

    run = suite_command("run", "train every run of a suite that is not done yet")
    run.add_argument("--workers", type=_positive_int, default=None,
                     help="jobs trained at once (default: the suite's runner.workers, "
                          "else one per CPU core)")
    suite_command("plan", "list a suite's runs, their ids and status, without training")
    suite_command("status", "count a suite's runs by status per algorithm and environment")
    commands.add_parser("envs", help="list the known algorithms and environment ids")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `harness` command; returns the process exit code."""
    args = _parser().parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    if args.command == "envs":
        _print_catalog(console)
        return 0
    try:
        plan = make_plan(load_suite(find_suite(args.suite)), args.results_dir)
    except SuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "plan":
        _print_plan(console, plan)
        return 0
    if args.command == "status":
        _print_status(console, plan)
        return 0
    return _run(console, plan, args.workers)


def _run(console: Console, plan: Plan, workers: int | None) -> int:
    todo, jobs = plan.todo, plan.jobs
    console.print(f"suite {plan.suite.name}: {len(plan.runs)} runs, "
                  f"{len(plan.runs) - len(todo)} already done, {len(todo)} to train "
                  f"in {len(jobs)} jobs; results in {plan.paths.dir}", highlight=False)
    try:
        outcomes = run_plan(plan, workers)
    except KeyboardInterrupt:
        console.print("interrupted: finished chunks are kept; run the suite again to resume")
        return 130
    _print_summary(console, plan)
    return EXIT_FAILED_RUNS if any(not outcome.ok for outcome in outcomes) else 0


def _print_plan(console: Console, plan: Plan) -> None:
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


def _print_status(console: Console, plan: Plan) -> None:
    counts: Counter[tuple[str, str, str]] = Counter()
    last_error: dict[tuple[str, str], str] = {}
    for run in plan.runs:
        state = plan.statuses[run.run_id]
        counts[(run.exp_name, run.env_id, state["status"])] += 1
        if state.get("reason"):
            last_error[(run.exp_name, run.env_id)] = f"seed {run.seed}: {state['reason']}"
    table = Table(title=f"suite {plan.suite.name}", title_justify="left")
    statuses = ("pending", "running", "done", "failed")
    for column in ("exp_name", "env_id", *statuses, "last error"):
        table.add_column(column)
    pairs = dict.fromkeys((run.exp_name, run.env_id) for run in plan.runs)
    for exp_name, env_id in pairs:
        table.add_row(exp_name, env_id, *(str(counts[(exp_name, env_id, s)]) for s in statuses),
                      last_error.get((exp_name, env_id), ""))
    console.print(table)


def _print_summary(console: Console, plan: Plan) -> None:
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


def _print_catalog(console: Console) -> None:
    for name, spec in ALGORITHMS.items():
        console.print(f"algorithm {name}: {'/'.join(sorted(spec.action_kinds))} actions",
                      highlight=False)
    table = Table()
    for column in ("env_id", "backend", "actions", "package"):
        table.add_column(column)
    for spec in ENVIRONMENTS.values():
        table.add_row(spec.env_id, spec.backend, spec.action_kind, spec.package)
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())

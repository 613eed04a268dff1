"""The `harness` command: run, plan and inspect suites."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from harness import results
from harness.algos import ALGORITHMS
from harness.envs.catalog import ENVIRONMENTS
from harness.execute import Plan, make_plan, run_plan
from harness.references import load_references, reference_for
from harness.store import RunStatus
from harness.suite import Suite, SuiteError, find_suite, load_suite
from harness.suite.messages import describe_error
from harness.suite.runner_settings import ENGINES, RunnerSettings
from runners.base import RunnerSetupError, make_runner

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


def _non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _devices(text: str) -> int | list[str]:
    if text.isdigit():
        return _positive_int(text)
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"expected a count or comma-separated ids, got {text!r}")
    return ids


def _sbatch_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.removeprefix("--"), value


RUNNER_FLAGS = {
    "runner": "engine", "workers": "workers", "devices": "devices",
    "jobs_per_device": "jobs_per_device", "retries": "retries",
    "partition": "slurm.partition", "time_min": "slurm.time_min", "mem_gb": "slurm.mem_gb",
    "cpus_per_task": "slurm.cpus_per_task", "gpus_per_task": "slurm.gpus_per_task",
    "array_parallelism": "slurm.array_parallelism", "jobs_per_task": "slurm.jobs_per_task",
    "ray_address": "ray.address",
}
"""`harness run` flags that override keys of the suite's `runner:` block."""


def _add_runner_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument("--runner", choices=ENGINES, default=None,
                     help="execution engine (default: the suite's runner.engine, else local)")
    run.add_argument("--workers", type=_positive_int, default=None,
                     help="local: jobs trained at once (default: one per CPU core)")
    run.add_argument("--devices", type=_devices, default=None,
                     help="devices: accelerator ids (0,1,3) or a count (default: detected)")
    run.add_argument("--jobs-per-device", type=_positive_int, default=None,
                     help="devices: jobs sharing one accelerator")
    run.add_argument("--retries", type=_non_negative_int, default=None,
                     help="times a failed run is trained again (default: 2)")
    run.add_argument("--retry-failed", action="store_true",
                     help="train failed runs again even when their retries are used up")
    slurm = run.add_argument_group("slurm engine (runner.slurm.*)")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--time-min", type=_positive_int, default=None,
                       help="wall-time limit of one array task, in minutes")
    slurm.add_argument("--mem-gb", type=_positive_float, default=None)
    slurm.add_argument("--cpus-per-task", type=_positive_int, default=None)
    slurm.add_argument("--gpus-per-task", type=_non_negative_int, default=None)
    slurm.add_argument("--array-parallelism", type=_positive_int, default=None,
                       help="array tasks running at once")
    slurm.add_argument("--jobs-per-task", type=_positive_int, default=None,
                       help="jobs one array task works through")
    slurm.add_argument("--sbatch", type=_sbatch_option, action="append", default=[],
                       metavar="KEY=VALUE", help="extra sbatch option (repeatable)")
    run.add_argument("--ray-address", default=None, help="ray: cluster address (default: local)")


def _runner_settings(args: argparse.Namespace, suite: Suite) -> RunnerSettings:
    """The suite's runner settings with the command line's flags applied."""
    overrides = {key: getattr(args, flag) for flag, key in RUNNER_FLAGS.items()
                 if getattr(args, flag) is not None}
    overrides.update({f"slurm.sbatch.{key}": value for key, value in args.sbatch})
    try:
        return suite.runner.with_overrides(overrides)
    except ValidationError as err:
        first = err.errors()[0]
        dotted = ".".join(str(part) for part in first["loc"])
        flags = {key: "--" + flag.replace("_", "-") for flag, key in RUNNER_FLAGS.items()}
        raise SuiteError(f"{flags.get(dotted, 'runner.' + dotted)}: "
                         f"{describe_error(first)}") from None


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
    _add_runner_flags(run)
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
        suite = load_suite(find_suite(args.suite))
        settings = _runner_settings(args, suite) if args.command == "run" else None
        plan = make_plan(suite, args.results_dir, settings,
                         retry_failed=getattr(args, "retry_failed", False))
    except SuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "plan":
        _print_plan(console, plan)
        return 0
    if args.command == "status":
        _print_status(console, plan)
        return 0
    return _run(console, plan)


def _run(console: Console, plan: Plan) -> int:
    todo, jobs = plan.todo, plan.jobs
    try:
        runner = make_runner(plan.settings)
    except RunnerSetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    given_up = sum(plan.gave_up(run) for run in plan.runs)
    console.print(f"suite {plan.suite.name}: {len(plan.runs)} runs, "
                  f"{len(plan.runs) - len(todo) - given_up} already done, {len(todo)} to train "
                  f"in {len(jobs)} jobs on the {plan.settings.engine} runner; results in "
                  f"{plan.paths.dir}", highlight=False)
    if given_up:
        console.print(f"{given_up} failed runs are not retried (diverged, or out of retries); "
                      "`harness status` shows why, --retry-failed trains them again",
                      highlight=False)
    try:
        plan = run_plan(plan, runner)
    except RunnerSetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        console.print(f"interrupted: finished chunks are kept; `harness run {plan.suite.name}` "
                      "resumes")
        return 130
    _print_summary(console, plan)
    unfinished = [run for run in plan.runs if plan.status_of(run) != RunStatus.DONE]
    return EXIT_FAILED_RUNS if unfinished else 0


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
    console.print("Any other id registered with Gymnasium (e.g. HalfCheetah-v5, Hopper-v5) runs "
                  "on the gymnasium backend; `harness plan` checks that it can be built here.",
                  highlight=False)


if __name__ == "__main__":
    sys.exit(main())

"""The `harness` command's subcommands: parse the command line and run one of them."""

from __future__ import annotations

import argparse
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from harness.analysis.errors import AnalysisError
from harness.cli.compare_command import add_compare_command
from harness.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED_RUNS
from harness.cli.pull_command import add_pull_command
from harness.cli.report_command import add_report_command
from harness.cli.run_flags import add_run_flags, runner_settings, wandb_spec
from harness.cli.tables import print_catalog, print_plan, print_status
from harness.confirm import confirming, run_confirmation
from harness.execute import Plan, ResultsDirError, make_plan, run_plan
from harness.store.state import RunState
from harness.suite import SuiteError, find_suite, load_suite
from harness.suite.adaptive_seeds import AdaptiveSeeds
from harness.suite.sweep import MAX_CONFIGURATIONS
from runners.base import RunnerSetupError, make_runner
from runners.spare import SpareWorker

if TYPE_CHECKING:
    import pandas as pd

DESCRIPTION = "The `harness` command: train, inspect, compare and report on benchmark suites."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def suite_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("suite", help="suite name (suites/NAME.yaml) or path to a YAML file")
        command.add_argument("--results-dir", type=Path, default=None,
                             help="results root (default: the suite's results_dir)")
        return command

    run = suite_command("run", "train every run of a suite that is not done yet")
    add_run_flags(run)
    plan = suite_command("plan", "summarise a suite's runs and jobs, without training")
    plan.add_argument("--runs", action="store_true",
                      help="also list every run (exp_name, algo, env_id, seed, run_id, status)")
    for command in (run, plan):
        command.add_argument("--yes", action="store_true",
                             help=f"accept sweeps of more than {MAX_CONFIGURATIONS} "
                             "configurations")
    suite_command("status", "count a suite's runs by state per algorithm and environment")
    commands.add_parser("envs", help="list the known algorithms and environment ids")
    again = commands.add_parser("reproduce", help="re-train a stored run and check that its "
                                "metrics match exactly (and which versions differ)")
    again.add_argument("run_id")
    again.add_argument("--results-dir", type=Path, default=None,
                       help="results root (default: $HARNESS_RESULTS_DIR, else results)")
    again.add_argument("--suite", default=None, help="the run's suite, if several hold its id")
    add_pull_command(commands)
    add_compare_command(commands)
    add_report_command(commands)
    return parser


def run_command(argv: list[str], spare: SpareWorker | None = None) -> int:
    """Run the command `argv` (the arguments after `harness`), `harness run` with `spare` as
    the local runner's spare worker; the process exit code."""
    args = _parser().parse_args(argv)
    console = Console() if sys.stdout.isatty() else Console(width=160)
    if args.command == "envs":
        print_catalog(console)
        return 0
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "pull":
        from harness.cli.pull_command import pull_command

        return pull_command(args)
    if args.command == "compare":
        from harness.cli.compare_command import compare_command

        return compare_command(args)
    if args.command == "report":
        from harness.cli.report_command import report_command

        return report_command(args)
    try:
        suite = load_suite(find_suite(args.suite))
        oversized = suite.oversized_sweeps() if args.command in ("run", "plan") else []
        if oversized and not args.yes:
            raise SuiteError(oversized[0])
        running = args.command == "run"
        settings = runner_settings(args, suite) if running else None
        plan = make_plan(suite, args.results_dir, settings,
                         retry_failed=running and args.retry_failed,
                         wandb=wandb_spec(args, suite) if running else None)
    except SuiteError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.command == "plan":
        print_plan(console, plan, every_run=args.runs)
        return 0
    if args.command == "status":
        print_status(console, plan)
        return 0
    return _run(console, plan, spare)


def _reproduce(args: argparse.Namespace) -> int:
    from harness.reproduce import ReproduceError, reproduce
    from harness.store.paths import results_root
    from harness.training.compile_cache import enable_compilation_cache

    enable_compilation_cache()
    try:
        report = reproduce(args.run_id, results_root(args.results_dir), suite=args.suite)
    except ReproduceError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n".join(report.lines()))
    return 0 if report.matched else EXIT_FAILED_RUNS


def _references_meanwhile() -> Future[pd.DataFrame]:
    """The published references the summary shows, read on a daemon thread (with the
    summary's imports, pandas among them): while the workers train, this process mostly
    waits, so they cost no time at the end."""
    references: Future[pd.DataFrame] = Future()

    def read() -> None:
        try:
            import harness.cli.summary  # noqa: F401 - imported here, used at the end
            from harness.references import load_references

            references.set_result(load_references())
        except BaseException as err:  # noqa: BLE001 - raised again by `result()`
            references.set_exception(err)

    threading.Thread(target=read, daemon=True).start()
    return references


def _run(console: Console, plan: Plan, spare: SpareWorker | None) -> int:
    todo, jobs, elsewhere = plan.todo, plan.jobs, plan.elsewhere
    try:
        runner = make_runner(plan.settings, spare)
    except RunnerSetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    given_up = sum(plan.gave_up(run) for run in plan.runs)
    done = sum(plan.state_of(run) == RunState.DONE for run in plan.runs)
    adaptive = isinstance(plan.suite.seeds, AdaptiveSeeds)
    to_train = "seeds trained interim by interim until AdaStop decides" if adaptive else \
        f"{len(todo)} to train in {len(jobs)} jobs"
    console.print(f"suite {plan.suite.name}: {len(plan.runs)} runs, {done} already done, "
                  f"{to_train} on the {plan.settings.engine} runner; results in "
                  f"{plan.paths.dir}", highlight=False)
    if elsewhere:
        console.print(f"{len(elsewhere)} runs are being trained by other processes; this "
                      "command follows them until they end", highlight=False)
    if given_up:
        console.print(f"{given_up} failed runs are not retried (diverged, or out of retries); "
                      "`harness status` shows why, --retry-failed trains them again",
                      highlight=False)
    references = _references_meanwhile()
    try:
        if adaptive:
            from harness.adaptive import run_adaptive, status_lines

            outcome = run_adaptive(plan, runner, lambda line: console.print(escape(line),
                                                                            highlight=False))
            plan = outcome.plan
        else:
            plan = run_plan(plan, runner)
            if confirming(plan):
                plan = run_confirmation(plan, runner, lambda line: console.print(
                    escape(line), highlight=False))
    except (RunnerSetupError, ResultsDirError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AnalysisError as err:
        print(f"error: sweep confirmation: {err}", file=sys.stderr)
        return EXIT_FAILED_RUNS
    except KeyboardInterrupt:
        console.print(f"interrupted: finished chunks are kept; `harness run {plan.suite.name}` "
                      "resumes")
        return 130
    from harness.cli.summary import print_summary

    print_summary(console, plan, references.result())
    if adaptive:
        for line in status_lines(plan.paths, plan.suite.seeds):
            console.print(escape(line), highlight=False)
        return EXIT_FAILED_RUNS if outcome.stopped else 0
    unfinished = [run for run in plan.runs if plan.state_of(run) != RunState.DONE]
    return EXIT_FAILED_RUNS if unfinished else 0

"""`harness pull ENTITY/PROJECT`: W&B runs into the results store, with their full history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED_RUNS
from harness.store.paths import results_root


def add_pull_command(commands: Any) -> None:
    """Add the `pull` command and its filters to the `harness` subcommands."""
    pull = commands.add_parser(
        "pull", help="import the runs of a W&B project (e.g. openrlbenchmark/cleanrl) into "
        "the results store", description="Import the runs of a W&B project into the results "
        "store with their full history; runs already pulled and unchanged are not fetched.")
    pull.add_argument("project", metavar="ENTITY/PROJECT")
    pull.add_argument("--suite", default=None,
                      help="suite name in the store (default: wandb-ENTITY-PROJECT)")
    pull.add_argument("--results-dir", type=Path, default=None,
                      help="results root (default: $HARNESS_RESULTS_DIR, else results)")
    pull.add_argument("--env-id", action="append", default=[], help="repeatable")
    pull.add_argument("--exp-name", action="append", default=[], help="repeatable")
    pull.add_argument("--tag", action="append", default=[],
                      help="the run must carry every tag given (repeatable)")
    pull.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                      help="config equality, VALUE read as JSON when it parses (repeatable)")
    pull.add_argument("--state", action="append", default=[],
                      help="run state (default: finished; `any` for every state)")
    pull.add_argument("--workers", type=int, default=4, help="runs fetched at once")


def _show(outcome: Any) -> None:
    """One line on stderr per run fetched or failed, as the pull goes."""
    if outcome.outcome == "fetched":
        print(f"fetched {outcome.wandb_id} ({outcome.rows:,} rows)", file=sys.stderr, flush=True)
    elif outcome.outcome == "failed":
        print(f"failed {outcome.wandb_id}: {outcome.reason}", file=sys.stderr, flush=True)


def pull_command(args: argparse.Namespace) -> int:
    """Run `harness pull`; print its report; the exit code."""
    from harness.tracking.pull import PullError, PullFilters, parse_config_filter, pull_project

    root = results_root(args.results_dir)
    try:
        filters = PullFilters(
            env_id=args.env_id, exp_name=args.exp_name, tags=args.tag,
            config=dict(parse_config_filter(text) for text in args.config),
            states=() if args.state == ["any"] else tuple(args.state or ("finished",)))
        report = pull_project(args.project, root, args.suite, filters=filters,
                              workers=args.workers, progress=_show)
    except PullError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print("\n".join(report.lines()))
    return 0 if report.ok else EXIT_FAILED_RUNS

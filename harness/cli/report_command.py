"""`harness report SUITE [SUITE ...]`: a Markdown and a self-contained HTML report of finished
runs (tables also as CSV and LaTeX), for our suites and suites pulled from W&B alike."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.exit_codes import EXIT_BAD_INPUT


def add_report_command(commands: Any) -> None:
    """Add the `report` command and its options to the `harness` subcommands."""
    report = commands.add_parser(
        "report", help="write a Markdown and an HTML report of one or more suites' runs",
        description="Per-task and aggregate tables with bootstrap intervals, learning curves, "
        "AdaStop decisions, runtimes and each run's config and provenance, as report.md and "
        "one self-contained report.html (tables also as CSV and LaTeX).")
    report.add_argument("suites", nargs="+", metavar="SUITE",
                        help="suite names under the results root (pulled W&B projects too), "
                        "their results directories or YAML files")
    report.add_argument("--results-dir", type=Path, default=None,
                        help="results root (default: $HARNESS_RESULTS_DIR, else results)")
    report.add_argument("--out", type=Path, default=None,
                        help="report directory (default: RESULTS/reports/SUITE[+SUITE...])")
    report.add_argument("--algos", nargs="+", default=None, metavar="EXP_NAME",
                        help="only these algorithms (SUITE/EXP_NAME where suites share one)")
    report.add_argument("--env", nargs="+", default=None, metavar="ENV_ID",
                        help="only these environments")
    report.add_argument("--reduction", default="last_episodes:100",
                        help="final score of a run: last_episodes:N, last_fraction:F or eval")
    report.add_argument("--reps", type=int, default=50_000,
                        help="bootstrap replicates of the aggregate intervals (default 50000)")
    report.add_argument("--confidence", type=float, default=0.95)
    report.add_argument("--method", choices=("percentile", "bca"), default="percentile",
                        help="interval of the aggregates (default percentile)")
    report.add_argument("--seed", type=int, default=0,
                        help="seed of every bootstrap and of AdaStop's permutations")
    report.add_argument("--x", choices=("global_step", "wall_time"), default="global_step",
                        help="x axis of the learning curves")
    report.add_argument("--metric", default="charts/episodic_return",
                        help="metric of the learning curves (default charts/episodic_return)")


def report_command(args: argparse.Namespace) -> int:
    """Run `harness report`; print where the report went; the exit code."""
    from harness.analysis.errors import AnalysisError
    from harness.report.build import ReportSettings, write_report
    from harness.scores import Reduction

    try:
        settings = ReportSettings(
            reduction=Reduction.parse(args.reduction),
            exp_name=tuple(args.algos) if args.algos else None,
            env_id=tuple(args.env) if args.env else None, reps=args.reps,
            confidence=args.confidence, method=args.method, seed=args.seed, x=args.x,
            metric=args.metric)
        files = write_report(args.suites, root=args.results_dir, directory=args.out,
                             settings=settings)
    except (AnalysisError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {files.markdown}\nwrote {files.html}\n"
          f"tables (CSV, LaTeX) in {files.directory / 'tables'}")
    return 0

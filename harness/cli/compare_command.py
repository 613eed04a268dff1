"""`harness compare SUITE`: AdaStop sequential comparisons of a suite's algorithms per
environment, on the finished runs' final scores; the decisions are printed and stored."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.cli.exit_codes import EXIT_BAD_INPUT

SIGNS = {"larger": ">", "smaller": "<", "equal": "=", "continue": "?"}
"""How each decision reads between the two algorithm names."""


def add_compare_command(commands: Any) -> None:
    """Add the `compare` command and its AdaStop parameters to the `harness` subcommands."""
    compare = commands.add_parser(
        "compare", help="compare a suite's algorithms per environment with AdaStop, a "
        "sequential test that says which seeds to train next",
        description="Run AdaStop (Mathieu et al. 2023) on the final scores of a suite's "
        "finished runs, one comparison per environment: each pair of algorithms is decided "
        "larger, smaller or equal, or left undecided with the seeds the next interim needs. "
        "The decisions are stored in SUITE/analysis/adastop-HASH.json and .csv.")
    compare.add_argument("suite", help="suite name under the results root, its results "
                         "directory, or its YAML file (then only the runs it defines now)")
    compare.add_argument("--algos", nargs="+", default=None, metavar="EXP_NAME",
                         help="the algorithms (exp_names) to compare, in this order "
                         "(default: every one with finished runs)")
    compare.add_argument("--env", nargs="+", default=None, metavar="ENV_ID",
                         help="the environments (default: every one with finished runs)")
    compare.add_argument("--results-dir", type=Path, default=None,
                         help="results root (default: $HARNESS_RESULTS_DIR, else results)")
    compare.add_argument("--reduction", default="last_episodes:100",
                         help="final score of a run: last_episodes:N, last_fraction:F or eval "
                         "(default: last_episodes:100)")
    compare.add_argument("--n", type=int, default=5, help="seeds per algorithm at each interim")
    compare.add_argument("--K", type=int, default=5, help="most interims (at most n*K seeds)")
    compare.add_argument("--alpha", type=float, default=0.05,
                         help="family-wise error over the pairs of one environment")
    compare.add_argument("--B", type=int, default=10_000, help="random permutations")
    compare.add_argument("--seed", type=int, default=0, help="seed of the permutations")


def _print_table(console: Any, comparison: Any, reduction: Any) -> None:
    """The decisions, one row per environment and pair."""
    from rich.markup import escape
    from rich.table import Table

    parameters = comparison.parameters
    table = Table(title=f"suite {comparison.suite}: AdaStop, n={parameters['n']}, "
                  f"K={parameters['K']}, alpha={parameters['alpha']:g}, B={parameters['B']}, "
                  f"seed {parameters['seed']}; score: {reduction.describe()}",
                  title_justify="left")
    for column in ("env_id", "algo_1", "algo_2", "decision", "reading", "mean_1", "mean_2",
                   "seeds_1", "seeds_2", "interims"):
        table.add_column(column, justify="right" if column.startswith(("mean", "seeds", "int"))
                         else "left")
    for row in comparison.table.itertuples():
        table.add_row(row.env_id, escape(row.algo_1), escape(row.algo_2), row.decision,
                      escape(f"{row.algo_1} {SIGNS[row.decision]} {row.algo_2}"),
                      f"{row.mean_1:.4g}", f"{row.mean_2:.4g}",
                      f"{row.seeds_1} ({row.seed_list_1})", f"{row.seeds_2} ({row.seed_list_2})",
                      f"{row.interims}/{row.K}")
    console.print(table)


def _next_steps(comparison: Any) -> list[str]:
    """Per undecided environment, the seeds each algorithm needs for the next interim."""
    lines = []
    for env_id, result in comparison.results.items():
        if result.finished:
            continue
        rows = comparison.table[comparison.table["env_id"] == env_id]
        needs = {}
        for row in rows.itertuples():
            for name, more, seeds in ((row.algo_1, row.more_seeds_1, row.next_seeds_1),
                                      (row.algo_2, row.more_seeds_2, row.next_seeds_2)):
                if more:
                    needs[name] = f"seeds {seeds} of {name}"
        lines.append(f"{env_id}: undecided after {result.interims} of {result.K} interims; "
                     f"train {' and '.join(needs.values())} for the next interim, then run "
                     "`harness compare` again (the interims so far replay unchanged)")
    return lines


def compare_command(args: argparse.Namespace) -> int:
    """Run `harness compare`; print and store the decisions; the exit code."""
    from rich.console import Console
    from rich.markup import escape

    from harness.analysis.adastop import AdaStopInputError, store_comparison, suite_comparison
    from harness.results import suite_paths
    from harness.scores import Reduction
    from harness.suite import SuiteError

    try:
        reduction = Reduction.parse(args.reduction)
    except ValueError as err:
        print(f"error: --reduction: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        comparison = suite_comparison(args.suite, root=args.results_dir, algos=args.algos,
                                      envs=args.env, reduction=reduction, n=args.n, K=args.K,
                                      alpha=args.alpha, B=args.B, seed=args.seed)
    except (AdaStopInputError, FileNotFoundError, SuiteError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    console = Console() if sys.stdout.isatty() else Console(width=160)
    _print_table(console, comparison, reduction)
    for line in _next_steps(comparison):
        console.print(escape(line), highlight=False)
    directory = suite_paths(args.suite, args.results_dir).dir / "analysis"
    json_path, csv_path = store_comparison(comparison, directory)
    console.print(escape(f"stored in {json_path} and {csv_path.name}"), highlight=False,
                  soft_wrap=True)
    return 0

"""Every algorithm's core throughput and compile time, the harness's bare program beside rejax.

For each case of `cases.py` and each tool, one process per repetition trains jobs of 1, 8 and
32 vmapped seeds on the case's short budgets (its `steps`), tools alternating in order (the
harness's jobs in two processes where the local runner would put some on one core and the
others on every core); the harness's program trains each job in one chunk, one `lax.scan` as
rejax's does (what chunks cost is measured on its own, at a full budget, by
`bench_rejax.py`). The first repetition starts from empty persistent compilation caches: its
compile times are the cold ones, those of the later repetitions (cache hits) the warm ones.
Throughput excludes compile and initialisation and is the median over all repetitions.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from tests.benchmarks.cases import CASES
from tests.benchmarks.programs import TOOLS, Timing, harness_cores, run_program, show

SEEDS = (1, 8, 32)
Found = dict[tuple[str, str], list[Timing]]
"""Timings by (case, tool), one per repetition, the first with an empty cache."""


def measure(tmp: Path, repeats: int) -> Found:
    """Every case with both tools, `repeats` times, interleaved."""
    found: Found = {}
    for repeat in range(repeats):
        for index, case in enumerate(CASES):
            tools = TOOLS if (repeat + index) % 2 == 0 else TOOLS[::-1]
            for tool in tools:
                timing = _run(tool, case, tmp / f"cache-throughput-{tool}-{case}")
                found.setdefault((case, tool), []).append(timing)
                show(f"{case} {tool} repetition {repeat}", timing)
    return found


def _run(tool: str, case: str, cache: Path) -> Timing:
    """Every job of `case` with `tool`: rejax's in one process, the harness's in one process
    per cores the local runner would give them (one core for the small jobs, every core for
    the others: `harness_cores`)."""
    if tool == "rejax":
        return run_program(tool, case, CASES[case].steps, cache)
    groups: dict[str, dict[int, int]] = {}
    for seeds, steps in CASES[case].steps.items():
        groups.setdefault(str(harness_cores(case, seeds)), {})[seeds] = steps
    timings = [run_program(tool, case, jobs, cache, "--chunk-updates=all")
               for jobs in groups.values()]
    return {"jobs": [job for timing in timings for job in timing["jobs"]],
            "wall": sum(timing["wall"] for timing in timings)}


def _job(timing: Timing, seeds: int) -> dict[str, float]:
    return next(job for job in timing["jobs"] if job["seeds"] == seeds)


def _steps_per_second(timings: list[Timing], seeds: int) -> float:
    """Median environment steps per second per seed over the repetitions."""
    return statistics.median(_job(t, seeds)["steps"] / _job(t, seeds)["train"] for t in timings)


def _compile(timings: list[Timing], seeds: int, warm: bool) -> float:
    samples = timings[1:] if warm else timings[:1]
    return statistics.median(_job(t, seeds)["compile"] for t in samples)


def throughput_table(found: Found) -> list[str]:
    """Steps per second per seed by case and seeds, with the harness's time / rejax's."""
    rows = ["| algorithm | environment | seeds | steps per seed | harness steps/s per seed | "
            "rejax steps/s per seed | harness / rejax time |", "|---|---|---|---|---|---|---|"]
    for name, case in CASES.items():
        for seeds in SEEDS:
            ours, theirs = (_steps_per_second(found[(name, tool)], seeds) for tool in TOOLS)
            rows.append(f"| {name} | {case.env_id} | {seeds} | {case.steps[seeds]:,} | "
                        f"{ours:,.0f} | {theirs:,.0f} | {theirs / ours:.2f} |")
    return rows


def compile_table(found: Found) -> list[str]:
    """Compile seconds of every job's program, empty cache and cache hit, both tools."""
    rows = ["| algorithm | seeds | harness cold s | rejax cold s | harness / rejax | "
            "harness cached s | rejax cached s | harness / rejax |",
            "|---|---|---|---|---|---|---|---|"]
    for name in CASES:
        for seeds in SEEDS:
            cold = [_compile(found[(name, tool)], seeds, warm=False) for tool in TOOLS]
            warm = [_compile(found[(name, tool)], seeds, warm=True) for tool in TOOLS]
            rows.append(f"| {name} | {seeds} | {cold[0]:.2f} | {cold[1]:.2f} | "
                        f"{cold[0] / cold[1]:.2f} | {warm[0]:.2f} | {warm[1]:.2f} | "
                        f"{warm[0] / warm[1]:.2f} |")
    return rows

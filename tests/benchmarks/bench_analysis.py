"""Speed of the statistics core (`python -m tests.benchmarks.bench_analysis`).

Measures, each in a fresh process and timing only the call (imports and data loading excluded),
medians of `ROUNDS` interleaved repetitions, on 5 algorithms x 10 tasks x 10 seeds:
- `interval_estimates` of the four aggregates (IQM, Median, Mean, Optimality Gap), 50,000
  replicates, percentile and BCa;
- `profile_bands` at 101 thresholds, `improvement_intervals` of all 20 ordered pairs and
  `interval_curves` of the IQM over 50 points, 2,000 replicates each (rliable's defaults).

When the environment variable `RLIABLE_PYTHON` names a python with rliable installed (see
`tests/fixtures/make_rliable_reference.py` for a side virtualenv), rliable's
`get_interval_estimates` of the same four aggregates (one vector-valued function, as rliable's
README passes them; percentile method) on the same data with the same 50,000 replicates is timed
too, interleaved with ours, and the ratio printed. It takes about a minute a round.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

ROUNDS = 3
REPS = 50_000
ALGORITHMS, TASKS, SEEDS = 5, 10, 10

OURS = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from harness.analysis.bootstrap import interval_curves, interval_estimates
    from harness.analysis.improvement import improvement_intervals
    from harness.analysis.profiles import profile_bands
    data = dict(np.load(sys.argv[1]))
    what, reps = sys.argv[2], int(sys.argv[3])
    if what == "curves":
        rng = np.random.default_rng(1)
        data = {k: v[..., None] + rng.normal(0, 0.1, size=v.shape + (50,)) for k, v in data.items()}
    calls = {
        "percentile": lambda: interval_estimates(data, reps=reps),
        "bca": lambda: interval_estimates(data, reps=reps, method="bca"),
        "profiles": lambda: profile_bands(data, np.linspace(0, 3, 101), reps=reps),
        "improvement": lambda: improvement_intervals(data, reps=reps),
        "curves": lambda: interval_curves(data, reps=reps),
    }
    start = time.perf_counter()
    calls[what]()
    print(json.dumps(time.perf_counter() - start))
""")

RLIABLE = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from rliable import library, metrics
    data = dict(np.load(sys.argv[1]))
    reps = int(sys.argv[3])
    def aggregates(x):
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_median(x),
                         metrics.aggregate_mean(x), metrics.aggregate_optimality_gap(x)])
    np.random.seed(0)
    start = time.perf_counter()
    library.get_interval_estimates(data, aggregates, reps=reps)
    print(json.dumps(time.perf_counter() - start))
""")


def _seconds(python: str, script: str, data: Path, what: str, reps: int) -> float:
    done = subprocess.run([python, "-c", script, str(data), what, str(reps)], check=True,
                          capture_output=True, text=True, cwd=Path(__file__).parents[2])
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Time every call and print a Markdown table (and rliable's, when RLIABLE_PYTHON is set)."""
    rng = np.random.default_rng(0)
    scores = {f"algo-{i}": rng.gamma(2.0 + 0.2 * i, 0.5, size=(SEEDS, TASKS))
              for i in range(ALGORITHMS)}
    rliable = os.environ.get("RLIABLE_PYTHON")
    jobs = {  # name: (python, script, what, reps)
        "interval_estimates, percentile": (sys.executable, OURS, "percentile", REPS),
        "interval_estimates, bca": (sys.executable, OURS, "bca", REPS),
        "profile_bands, 101 taus": (sys.executable, OURS, "profiles", 2_000),
        "improvement_intervals, 20 pairs": (sys.executable, OURS, "improvement", 2_000),
        "interval_curves, IQM, 50 points": (sys.executable, OURS, "curves", 2_000),
    }
    if rliable:
        jobs["rliable get_interval_estimates, percentile"] = (rliable, RLIABLE, "percentile",
                                                              REPS)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "scores.npz"
        np.savez(data, **scores)
        for _ in range(ROUNDS):
            for name, (python, script, what, reps) in jobs.items():
                times[name].append(_seconds(python, script, data, what, reps))
    print(f"{ALGORITHMS} algorithms x {TASKS} tasks x {SEEDS} seeds, median of {ROUNDS} "
          f"interleaved rounds, {os.cpu_count()} CPUs\n")
    print("| call | replicates | seconds |")
    print("|---|---:|---:|")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, (_, _, _, reps) in jobs.items():
        print(f"| {name} | {reps:,} | {medians[name]:.2f} |")
    if rliable:
        ratio = (medians["rliable get_interval_estimates, percentile"]
                 / medians["interval_estimates, percentile"])
        print(f"\nrliable / harness (percentile, {REPS:,} replicates, four aggregates): "
              f"x{ratio:.0f}")
    else:
        print("\n(set RLIABLE_PYTHON to a python with rliable installed to compare)")


if __name__ == "__main__":
    main()

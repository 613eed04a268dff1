"""A 16-configuration learning-rate sweep of PPO on CartPole-v1: trained batched (one job, one
compiled program) against one job per configuration.

Run with `make bench`. Each setting runs `harness run --workers 1` in a fresh results
directory, in alternating order, twice; reported is the median wall time of `harness run`
(worker start-up, compilation and training included) and the ratio.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATES = ", ".join(f"{rate:.3g}" for rate in [1e-4 * 1.4**i for i in range(16)])
SUITE = """
name: sweep-bench
algorithms:
  - algo: ppo
    sweep:
      parameters:
        learning_rate: {values: [RATES]}
environments: [CartPole-v1]
seeds: 1
total_timesteps: 100000
runs_per_job: RUNS_PER_JOB
"""
REPEATS = 2
SETTINGS = {"batched": 16, "one job each": 1}


def _run(directory: Path, runs_per_job: int) -> float:
    """Wall seconds of `harness run` on the sweep with `runs_per_job`."""
    suite = directory / "suite.yaml"
    suite.write_text(SUITE.replace("RATES", RATES).replace("RUNS_PER_JOB", str(runs_per_job)))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite), "--results-dir",
                    str(directory / "results"), "--workers", "1"], check=True,
                   capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    """Print the median wall time of each setting and their ratio."""
    timings: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(REPEATS):
            order = list(SETTINGS) if repeat % 2 == 0 else list(SETTINGS)[::-1]
            for name in order:
                directory = Path(tmp) / f"{name.replace(' ', '-')}-{repeat}"
                directory.mkdir()
                timings[name].append(_run(directory, SETTINGS[name]))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{'16-configuration sweep':<24}{'wall s':>9}   (median of {REPEATS})")
    for name, wall in medians.items():
        print(f"{name:<24}{wall:>9.1f}")
    print(f"one job each / batched: x{medians['one job each'] / medians['batched']:.2f}")


if __name__ == "__main__":
    main()

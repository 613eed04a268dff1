"""Throughput of PPO on CartPole-v1 (500k steps): one seed vs eight seeds vmapped in one job.

Run with `make bench`. Each configuration runs `harness run` twice in fresh result
directories: first with an empty compilation cache (cold compile), then with the cache it
filled (warm compile). Figures from one run of this script are comparable with each other;
the machine is shared, so compare ratios, not absolute numbers across runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import results

SUITE = """
name: bench
algorithms: [{{algo: ppo}}]
environments: [CartPole-v1]
seeds: {seeds}
total_timesteps: {steps}
runs_per_job: {seeds}
"""


def run_suite(directory: Path, seeds: int, cache: Path,
              steps: int = 500_000) -> dict[str, float]:
    """`harness run` of PPO on CartPole-v1 (`steps` per seed, `seeds` in one job) in
    `directory` with the compilation cache `cache`: its wall time, and the runs' compile,
    train and SPS."""
    suite = directory / "bench.yaml"
    suite.write_text(SUITE.format(seeds=seeds, steps=steps))
    root = directory / "results"
    env = dict(os.environ, HARNESS_COMPILATION_CACHE=str(cache))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite), "--results-dir",
                    str(root)], check=True, env=env, capture_output=True)
    wall = time.perf_counter() - start
    runs = results.runs("bench", root=root)
    sps = results.load("bench", root=root, metrics="charts/SPS")
    return {"wall": wall, "compile": float(runs["compile_seconds"].mean()),
            "train": float(runs["train_seconds"].mean()),
            "sps_per_run": float(sps.groupby("run_id")["value"].median().mean())}


def main() -> None:
    """Print wall, compile and training time and per-run SPS for 1 and 8 seeds."""
    print(f"{'configuration':<26}{'wall s':>8}{'compile s':>11}{'train s':>9}"
          f"{'SPS/run':>10}{'SPS total':>11}")
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seeds in (1, 8):
            cache = Path(tmp) / f"cache-{seeds}"
            for label in ("cold", "warm"):
                directory = Path(tmp) / f"{seeds}-{label}"
                directory.mkdir()
                row = run_suite(directory, seeds, cache)
                measured[(seeds, label)] = row
                print(f"{f'{seeds} seed(s), {label} cache':<26}{row['wall']:>8.1f}"
                      f"{row['compile']:>11.2f}{row['train']:>9.2f}{row['sps_per_run']:>10,.0f}"
                      f"{row['sps_per_run'] * seeds:>11,.0f}")
    one, eight = measured[(1, "warm")], measured[(8, "warm")]
    ratio = eight["sps_per_run"] / one["sps_per_run"]
    print(f"8 seeds in one job vs 1 seed: total throughput x{ratio * 8:.2f}, "
          f"per-run SPS x{ratio:.2f}")
    cold = measured[(1, "cold")]["compile"]
    print(f"warm vs cold compile (1 seed): x{one['compile'] / cold:.2f}")


if __name__ == "__main__":
    main()

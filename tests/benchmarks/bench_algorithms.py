"""Steps per second of one run (one seed) for every algorithm, on each backend.

Run with `make bench`. Each case trains one seed through `harness run` on a short budget
(learning starts early so that the figure is a training figure) and reports the median of the
per-chunk `charts/SPS` (compile time excluded). Figures from one run of this script are
comparable with each other; the machine is shared, so compare ratios.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from harness import results

CASES = [
    ("ppo", "CartPole-v1", "gymnax", 100_000, {}),
    ("dqn", "CartPole-v1", "gymnax", 100_000, {"learning_starts": 1000}),
    ("ppo_continuous_action", "Pendulum-v1", "gymnax", 102_400, {}),
    ("sac_continuous_action", "Pendulum-v1", "gymnax", 10_000, {"learning_starts": 1000}),
    ("ppo", "CartPole-v1", "gymnasium", 20_480, {}),
    ("ppo_continuous_action", "HalfCheetah-v5", "gymnasium", 20_480, {}),
    ("sac_continuous_action", "HalfCheetah-v5", "gymnasium", 3_000, {"learning_starts": 500}),
]


def _suite(algo: str, env_id: str, backend: str, steps: int, hyper: dict) -> str:
    values = ", ".join(f"{k}: {v}" for k, v in hyper.items())
    return (f"name: sps\nalgorithms: [{{algo: {algo}, hyperparameters: {{{values}}}}}]\n"
            f"environments: [{{id: {env_id}, backend: {backend}}}]\nseeds: 1\n"
            f"total_timesteps: {steps}\n")


def main() -> None:
    """Print SPS per run for every case."""
    print(f"{'algorithm':<24}{'environment':<17}{'backend':<11}{'steps':>8}{'SPS/run':>10}"
          f"{'compile s':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for index, case in enumerate(CASES):
            directory = Path(tmp) / str(index)
            directory.mkdir()
            suite = directory / "sps.yaml"
            suite.write_text(_suite(*case))
            subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite),
                            "--results-dir", str(directory / "results")], check=True,
                           capture_output=True)
            root = directory / "results"
            sps = results.load("sps", root=root, metrics="charts/SPS")["value"].median()
            compile_seconds = results.runs("sps", root=root)["compile_seconds"].iloc[0]
            algo, env_id, backend, steps, _ = case
            print(f"{algo:<24}{env_id:<17}{backend:<11}{steps:>8,}{sps:>10,.0f}"
                  f"{compile_seconds:>11.1f}", flush=True)


if __name__ == "__main__":
    main()

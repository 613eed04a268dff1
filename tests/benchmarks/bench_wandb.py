"""Cost of the W&B mirror (offline): a 4-seed PPO CartPole-v1 job with and without it.

Run with `make bench`. Each setting runs `harness run` in a fresh results directory, in
alternating order, twice; reported are the wall time of `harness run` and the worker's time
from the job's start to its end of training (compile and every W&B call of the chunks
included), and their ratios with / without the mirror.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from harness import results

SUITE = """
name: wandb-bench
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 4
total_timesteps: 500000
"""
REPEATS = 2


def _run(directory: Path, mode: str) -> tuple[float, float]:
    """Wall seconds of `harness run`, and of the job from its start to its end of training."""
    suite = directory / "suite.yaml"
    suite.write_text(SUITE)
    root = directory / "results"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite), "--results-dir",
                    str(root), "--wandb-mode", mode], check=True, capture_output=True)
    wall = time.perf_counter() - start
    run = results.runs("wandb-bench", root=root).iloc[0]
    job = pd.Timestamp(run["finished_at"]) - pd.Timestamp(run["started_at"])
    return wall, job.total_seconds()


def main() -> None:
    """Print wall and training time with the mirror off and offline, and their ratios."""
    timings: dict[str, list[tuple[float, float]]] = {"disabled": [], "offline": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(REPEATS):
            for mode in ("disabled", "offline") if repeat % 2 == 0 else ("offline", "disabled"):
                directory = Path(tmp) / f"{mode}-{repeat}"
                directory.mkdir()
                timings[mode].append(_run(directory, mode))
    print(f"{'W&B mirror':<12}{'wall s':>9}{'job s':>9}   (median of {REPEATS})")
    medians = {mode: (statistics.median(w for w, _ in runs), statistics.median(t for _, t in runs))
               for mode, runs in timings.items()}
    for mode, (wall, train) in medians.items():
        print(f"{mode:<12}{wall:>9.1f}{train:>9.1f}")
    (wall_off, train_off), (wall_on, train_on) = medians["disabled"], medians["offline"]
    print(f"offline / disabled: wall x{wall_on / wall_off:.3f}, job x{train_on / train_off:.3f}")


if __name__ == "__main__":
    main()

"""PPO on CartPole-v1 beside rejax, side by side, written to BENCHMARKS.md.

Run with `make bench` (it builds `.venv-rejax`, rejax 0.1.3 with the gymnax < 1 it needs, apart
from the harness's own virtualenv). Both train CleanRL's PPO setting (4 envs x 128 steps, 4
epochs of 4 minibatches, tanh 64-64 networks, 499,712 steps) for 1 and 8 seeds. Each
repetition runs, in alternating order, the harness (`harness run` in a fresh results
directory, as `bench_ppo.run_suite` runs it) and rejax (a fresh process), each with an empty
persistent compilation cache and again with the cache it filled. Reported are medians over the
repetitions of the training loop (compile excluded), the compile (cold), and the whole process
(warm cache), with our / rejax ratios.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tests.benchmarks.bench_ppo import run_suite

REPEATS = 3
STEPS = 499_712
SEEDS = (1, 8)
HERE = Path(__file__).parent
REJAX_PYTHON = os.environ.get("REJAX_PYTHON", ".venv-rejax/bin/python")
OUTPUT = Path("BENCHMARKS.md")
Timing = dict[str, float]


def _rejax(seeds: int, cache: Path) -> Timing:
    """Loop and compile seconds as rejax's process measured them, and its wall time."""
    env = dict(os.environ, REJAX_COMPILATION_CACHE=str(cache))
    start = time.perf_counter()
    done = subprocess.run([REJAX_PYTHON, str(HERE / "rejax_ppo.py"), str(seeds), str(STEPS)],
                          check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def _measure(tmp: Path) -> dict[tuple[str, int, str], list[Timing]]:
    """Every timing, by (tool, seeds, cold or warm cache)."""
    found: dict[tuple[str, int, str], list[Timing]] = {}
    for repeat in range(REPEATS):
        for seeds in SEEDS:
            tools = ("harness", "rejax") if repeat % 2 == 0 else ("rejax", "harness")
            for tool in tools:
                cache = tmp / f"cache-{tool}-{seeds}-{repeat}"
                for state in ("cold", "warm"):
                    directory = tmp / f"{tool}-{seeds}-{repeat}-{state}"
                    directory.mkdir()
                    timing = run_suite(directory, seeds, cache) if tool == "harness" \
                        else _rejax(seeds, cache)
                    found.setdefault((tool, seeds, state), []).append(timing)
                    print(tool, seeds, state, {k: round(v, 2) for k, v in timing.items()},
                          flush=True)
    return found


def _median(found: dict, tool: str, seeds: int, state: str, key: str) -> float:
    return statistics.median(t[key] for t in found[(tool, seeds, state)])


def _table(found: dict) -> list[str]:
    rows = ["| seeds | measure | harness s | rejax s | harness / rejax |",
            "|---|---|---|---|---|"]
    measures = (("training loop (compile excluded)", "warm", "train"),
                ("compile, empty cache", "cold", "compile"),
                ("whole process, warm cache", "warm", "wall"),
                ("whole process, empty cache", "cold", "wall"))
    for seeds in SEEDS:
        for label, state, key in measures:
            ours, theirs = (_median(found, tool, seeds, state, key)
                            for tool in ("harness", "rejax"))
            rows.append(f"| {seeds} | {label} | {ours:.2f} | {theirs:.2f} | "
                        f"{ours / theirs:.2f} |")
    return rows


def _versions() -> str:
    names = ("jax", "jaxlib", "flax", "optax", "gymnax")
    ours = ", ".join(f"{n} {metadata.version(n)}" for n in names)
    theirs = subprocess.run([REJAX_PYTHON, "-c", "from importlib import metadata; print(', '"
                             ".join(f'{n} {metadata.version(n)}' for n in ('rejax', 'jax', "
                             "'flax', 'gymnax')))"], capture_output=True, text=True,
                            check=True).stdout.strip()
    return f"harness: {ours}; rejax side: {theirs}"


def main() -> None:
    """Measure, print and write BENCHMARKS.md."""
    with tempfile.TemporaryDirectory() as tmp:
        found = _measure(Path(tmp))
    lines = ["# Benchmarks", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
             f"(`python -m tests.benchmarks.bench_rejax`) on {platform.node()}: "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, no GPU "
             "in use. Medians of "
             f"{REPEATS} interleaved repetitions; compare ratios, not absolute seconds (the "
             "machine is shared).", "", _versions(), "",
             "## PPO on CartPole-v1 beside rejax", "",
             "CleanRL's setting, 499,712 steps per seed; 8 seeds are vmapped in one program by "
             "both. The harness's loop and compile come from its stored run metadata, its whole "
             "process is `harness run` (store, progress, summary); rejax's whole process is a "
             "script that imports rejax, compiles and trains.", "", *_table(found), "",
             "The other figures of `make bench` (per-algorithm throughput, the store and the "
             "CLI, the statistics, sweeps) are printed by their scripts and quoted in the "
             "README's Performance section.", ""]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

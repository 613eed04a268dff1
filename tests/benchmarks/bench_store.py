"""Speed of the CLI and of the results store at scale (`make bench`).

Measures, each in fresh processes, medians of several interleaved repetitions:
- start-up: `harness --help`, `harness envs`, `harness plan smoke`, `harness status smoke` and
  `import harness.results` (wall seconds; none may import JAX);
- `harness plan` of a 10,000-run suite;
- a store of 1,000 finished runs holding 10 million metric values (1,000 update rows of 8
  metrics and 1,000 episodes per run): `results.load()` (seconds, and peak memory over the
  returned frame's size), `results.runs()` and `results.summary()` (first call, which builds
  the catalog, and a later one), and `harness run` with nothing left to train;
- Open RL Benchmark's scale, 25,000 finished runs: `results.runs()` and the final scores of
  every run (`results.final_scores()`), first and later calls.

The stores are synthesised: one run is written by the harness's own writer, then copied under
every run id with its own config, so every file is exactly what training would store.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from harness.algos.ppo.config import PPOConfig
from harness.runs import expand
from harness.store import SuitePaths
from harness.store.atomic import write_json
from harness.store.lease import acquire
from harness.store.tables import episode_table
from harness.store.writer import RunWriter
from harness.suite import load_suite

REPEATS = 5
SMOKE = Path("suites/smoke.yaml")
STORE_SUITE = """
name: bench-store
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 1000
total_timesteps: 512000
"""
BIG_PLAN = """
name: bench-plan
algorithms:
{algorithms}
environments: [CartPole-v1, Acrobot-v1, MountainCar-v0, Breakout-MinAtar, Asterix-MinAtar]
seeds: 500
total_timesteps: 500000
"""


def _wall(command: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - start


def _median_walls(commands: dict[str, list[str]], repeats: int = REPEATS) -> dict[str, float]:
    """Median wall seconds of each command, the commands interleaved."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(_wall(command))
    return {name: statistics.median(values) for name, values in times.items()}


def _template(directory: Path, rows: int, episodes: int) -> Path:
    """One finished run written by the harness's writer: `rows` update rows of 8 metrics and
    `episodes` training episodes."""
    rng = np.random.default_rng(0)
    paths = SuitePaths(directory, "template").run("template")
    writer = RunWriter(paths, acquire(paths))
    metrics = pa.table({"global_step": np.arange(1, rows + 1, dtype=np.int64) * 512,
                        **{f"losses/metric_{i}": rng.normal(size=rows) for i in range(7)},
                        "charts/SPS": rng.uniform(1e4, 2e4, rows)})
    ends = np.sort(rng.integers(1, rows * 512, episodes))
    episode_rows = episode_table({"kind": ["train"] * episodes, "global_step": ends,
                                  "episodic_return": rng.uniform(0, 500, episodes),
                                  "episodic_length": rng.integers(8, 500, episodes),
                                  "terminated": rng.random(episodes) < 0.8})
    writer.write_chunk(0, metrics, episode_rows)
    writer.update_metadata(started_at="2026-01-01T00:00:00", finished_at="2026-01-01T00:10:00",
                           compile_seconds=2.0, train_seconds=600.0, attempt=1)
    writer.finish(1, global_step=rows * 512)
    return paths.dir


def _synthesise(root: Path, suite: str, configs: list[dict], template: Path) -> None:
    """A store of finished runs, each a copy of `template` under its own id and config."""
    status = json.loads((template / "status.json").read_text())
    metadata = json.loads((template / "metadata.json").read_text())
    for config in configs:
        run = SuitePaths(root, suite).run(config["run_id"]).dir
        run.mkdir(parents=True)
        for name in ("metrics.arrow", "episodes.arrow"):
            shutil.copy2(template / name, run / name)
        write_json(run / "config.json", {**config, "suite": suite})
        write_json(run / "metadata.json", {**metadata, "run_id": config["run_id"]})
        write_json(run / "status.json", status)  # last, as a finishing run writes it


def _synthetic_configs(count: int) -> list[dict]:
    """Configs of `count` runs over five algorithms, five environments and many seeds."""
    hyperparameters = PPOConfig().model_dump(mode="json")
    algos, envs = [f"ppo-{i}" for i in range(5)], ["CartPole-v1", "Acrobot-v1",
                                                    "MountainCar-v0", "Breakout-MinAtar",
                                                    "Asterix-MinAtar"]
    return [{"run_id": f"{i:012x}", "algo": "ppo", "exp_name": algos[i % 5],
             "env_id": envs[i // 5 % 5], "backend": "gymnax", "seed": i // 25,
             "total_timesteps": 500_000, "hyperparameters": hyperparameters}
            for i in range(count)]


MEASURE = textwrap.dedent("""
    import json, resource, sys, time
    from harness import results
    root, suite, steps = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    out = {}
    for index, step in enumerate(steps):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        start = time.perf_counter()
        value = getattr(results, step)(suite, root=root)
        out[f"{index}:{step}"] = time.perf_counter() - start
        if step == "load":
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
            out["load_peak_bytes"] = peak
            out["frame_bytes"] = int(value.memory_usage(deep=True).sum())
            out["values"] = len(value)
    print(json.dumps(out))
""")


def _measure(root: Path, suite: str, steps: str) -> dict:
    """Seconds of each `harness.results` call of `steps` (comma-separated), in one process."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(root), suite, steps],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fresh_catalog(root: Path, suite: str) -> None:
    SuitePaths(root, suite).catalog.unlink(missing_ok=True)


def _median_of(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)


def main() -> None:
    """Run every measurement and print a Markdown table."""
    harness = [sys.executable, "-m", "harness.cli"]
    startup = _median_walls({
        "harness --help": [*harness, "--help"], "harness envs": [*harness, "envs"],
        "harness plan smoke": [*harness, "plan", str(SMOKE)],
        "harness status smoke": [*harness, "status", str(SMOKE)],
        "import harness.results": [sys.executable, "-c", "import harness.results"]})
    lines = ["| measurement | median | target |", "|---|---|---|"]
    lines += [f"| `{name}` | {seconds:.2f} s | < 1 s |" for name, seconds in startup.items()]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        entries = "\n".join(f"  - {{algo: ppo, exp_name: ppo-{i}}}" for i in range(4))
        big = work / "bench-plan.yaml"
        big.write_text(BIG_PLAN.format(algorithms=entries))
        plan = _median_walls({"plan": [*harness, "plan", str(big), "--results-dir",
                                       str(work / "plan-results")]}, repeats=3)["plan"]
        lines.append(f"| `harness plan` of a 10,000-run suite | {plan:.2f} s | < 2 s |")

        root = work / "results"
        suite_file = work / "bench-store.yaml"
        suite_file.write_text(STORE_SUITE)
        runs = expand(load_suite(suite_file))
        template = _template(work / "template", rows=1000, episodes=1000)
        _synthesise(root, "bench-store", [{**run.config, "run_id": run.run_id} for run in runs],
                    template)
        samples = []
        for _ in range(3):
            _fresh_catalog(root, "bench-store")
            samples.append(_measure(root, "bench-store", "runs,runs,summary,load"))
        values = samples[0]["values"]
        peak = _median_of(samples, "load_peak_bytes") / _median_of(samples, "frame_bytes")
        lines += [
            f"| `results.load()`, 1,000 runs, {values / 1e6:.1f}M values | "
            f"{_median_of(samples, '3:load'):.2f} s, peak memory {peak:.2f}x the frame "
            f"({_median_of(samples, 'frame_bytes') / 2**20:.0f} MiB) | < 2 s, < 2x |",
            f"| `results.runs()`, 1,000 runs (first / later) | "
            f"{_median_of(samples, '0:runs'):.2f} s / {_median_of(samples, '1:runs'):.2f} s"
            " | < 1 s |",
            f"| `results.summary()`, 1,000 runs | {_median_of(samples, '2:summary'):.2f} s |"
            " < 1 s |"]
        nothing = statistics.median(
            _wall([*harness, "run", str(suite_file), "--results-dir", str(root)])
            for _ in range(3))
        lines.append(f"| `harness run` with nothing left to train, 1,000 runs | "
                     f"{nothing:.2f} s | |")

        many = work / "many"
        small = _template(work / "small-template", rows=10, episodes=100)
        _synthesise(many, "orlb", _synthetic_configs(25_000), small)
        scores = _measure(many, "orlb", "final_scores,final_scores")
        listing = _measure(many, "orlb", "runs,runs")
        _fresh_catalog(many, "orlb")
        cold = _measure(many, "orlb", "runs")
        lines += [
            f"| `results.runs()`, 25,000 runs (no catalog yet / later) | {cold['0:runs']:.2f} s"
            f" / {listing['1:runs']:.2f} s | < 5 s |",
            f"| final scores of 25,000 runs (no catalog yet / later) | "
            f"{scores['0:final_scores']:.2f} s / {scores['1:final_scores']:.2f} s | < 10 s |"]
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The harness beside rejax and beside its own bare program: `make bench` writes BENCHMARKS.md.

Run with `make bench` (it builds `.venv-rejax`, rejax 0.1.3 with the gymnax < 1 it needs, apart
from the harness's own virtualenv). Four parts, each interleaving its processes over
repetitions and reporting medians with the ratio to the peer measured in the same run:

- PPO on CartPole-v1 in CleanRL's setting (499,712 steps, 1 seed) as `harness run` (a fresh
  results directory, as `bench_ppo.run_suite` runs it), as rejax's script and as the harness's
  bare jitted program (`bare_program.py`), with compilation caches filled by a first run each;
- every algorithm of `cases.py` at 1, 8 and 32 seeds per job on short budgets, the bare program
  beside rejax's (`throughput.py`);
- the bare program cut into chunks of several sizes, on every core and on one;
- where JAX sees a GPU, PPO CartPole-v1 at 2,048 seeds.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from runners.cpus import CPUS_VARIABLE
from tests.benchmarks import throughput
from tests.benchmarks.bench_ppo import run_suite
from tests.benchmarks.programs import REJAX_PYTHON, Timing, run_program, show

REPEATS = 3
PPO_REPEATS = 5
"""Repetitions of the PPO CartPole-v1 rows, which the targets are set on (the others: REPEATS);
each rejax loop here moves by about 10% from one repetition to the next."""
STEPS = 499_712
CHUNK_STEPS = 249_856
"""Steps of the chunk-size sweep: 488 updates, 25 per chunk in the default layout."""
CHUNK_SIZES = (8, 25, 488)
"""Updates per chunk tried (25 is the default layout's for 488 updates; 488 is one scan)."""
CORES = {"every core": {CPUS_VARIABLE: ",".join(map(str, sorted(os.sched_getaffinity(0))))},
         "one core": {CPUS_VARIABLE: str(min(os.sched_getaffinity(0)))}}
"""Where the chunk-size sweep runs: on every core, named (a bare program of a small job named
none would narrow itself to one), and on one core, as a local worker training a small job, or
one among several, is (`runners/cpus.py`)."""
OUTPUT = Path("BENCHMARKS.md")
Found = dict[str, list[Timing]]
"""Timings by what was run: `harness run`, rejax, the bare program, a bare JAX import."""


def _job(timing: Timing) -> Timing:
    """A program's timing of its one job, with the process's wall time."""
    return {**timing["jobs"][0], "wall": timing["wall"]}


def _ppo(tool: str, tmp: Path, directory: Path) -> Timing:
    """One process training PPO CartPole-v1 for 1 seed with `tool`, on its shared cache."""
    if tool == "harness run":
        directory.mkdir()
        return run_suite(directory, 1, tmp / "cache-ppo-harness", STEPS)
    cache = tmp / f"cache-ppo-{'harness' if tool == 'bare' else 'rejax'}"
    return _job(run_program("harness" if tool == "bare" else "rejax", "ppo", {1: STEPS}, cache))


def _measure_ppo(tmp: Path) -> tuple[Found, Found]:
    """Warm-cache timings of every tool over the repetitions, and the cold first runs."""
    cold: Found = {}
    for tool in ("harness run", "rejax"):
        cold[tool] = [_ppo(tool, tmp, tmp / "ppo-cold")]
        show(f"{tool} empty cache", cold[tool][0])
    warm: Found = {}
    for repeat in range(PPO_REPEATS):
        order = ("harness run", "rejax", "bare") if repeat % 2 == 0 \
            else ("bare", "rejax", "harness run")
        for tool in order:
            timing = _ppo(tool, tmp, tmp / f"ppo-{repeat}")
            warm.setdefault(tool, []).append(timing)
            show(f"{tool} repetition {repeat}", timing)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import jax"], check=True)
        warm.setdefault("import jax", []).append({"wall": time.perf_counter() - start})
    return warm, cold


def _median(timings: list[Timing], measure: Callable[[Timing], float]) -> float:
    return statistics.median(measure(t) for t in timings)


def _ppo_table(warm: Found, cold: Found) -> list[str]:
    rows = ["| measure | harness s | rejax s | harness / rejax |", "|---|---|---|---|"]
    measures = (("training loop (compile excluded)", warm, "train"),
                ("compile, empty cache (first run)", cold, "compile"),
                ("compile, cache hit", warm, "compile"),
                ("whole process, warm cache", warm, "wall"),
                ("whole process, empty cache (first run)", cold, "wall"))
    for label, found, key in measures:
        ours, theirs = (_median(found[tool], lambda t, k=key: t[k])
                        for tool in ("harness run", "rejax"))
        rows.append(f"| {label} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f} |")
    return rows


def _rest(timing: Timing) -> float:
    """The whole process less the loop and the compile."""
    return timing["wall"] - timing["train"] - timing["compile"]


def _overhead_table(warm: Found) -> list[str]:
    rows = ["| measure | `harness run` s | bare program s | harness / bare |",
            "|---|---|---|---|"]
    measures = (("whole process", lambda t: t["wall"]), ("training loop", lambda t: t["train"]),
                ("compile (cache hit)", lambda t: t["compile"]),
                ("rest (start-up, store, exit)", _rest))
    for label, measure in measures:
        ours, bare = (_median(warm[tool], measure) for tool in ("harness run", "bare"))
        rows.append(f"| {label} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f} |")
    jax_import = _median(warm["import jax"], lambda t: t["wall"])
    fixed = _median(warm["harness run"], lambda t: t["wall"] - t["train"])
    rows += ["", f"A process that only imports JAX takes {jax_import:.2f} s here. The fixed "
             f"cost of `harness run` (its whole process less the training loop) is "
             f"{fixed:.2f} s: {fixed - jax_import:.2f} s on top of one JAX import."]
    return rows


def _chunk_sweep(tmp: Path) -> dict[tuple[str, int], list[Timing]]:
    """Bare-program timings of one seed at each chunk size, on every core and on one core as
    a restricted local worker runs (warm caches, interleaved)."""
    found: dict[tuple[str, int], list[Timing]] = {}
    for repeat in range(REPEATS):
        for cores, env in CORES.items():
            for size in CHUNK_SIZES:
                timing = _job(run_program("harness", "ppo", {1: CHUNK_STEPS},
                                          tmp / f"cache-chunks-{size}",
                                          f"--chunk-updates={size}", env=env))
                found.setdefault((cores, size), []).append(timing)
                show(f"chunks of {size}, {cores}, repetition {repeat}", timing)
    return found


def _chunk_table(sweep: dict[tuple[str, int], list[Timing]]) -> list[str]:
    rows = ["| updates per chunk | chunks | " + " | ".join(
        f"{cores}: loop s | {cores}: vs one `lax.scan`" for cores in CORES) + " |",
            "|---|---|" + "---|---|" * len(CORES)]
    single = {cores: _median(sweep[(cores, max(CHUNK_SIZES))], lambda t: t["train"])
              for cores in CORES}
    for size in CHUNK_SIZES:
        cells = []
        for cores in CORES:
            train = _median(sweep[(cores, size)], lambda t: t["train"])
            cells.append(f"{train:.2f} | {train / single[cores]:.2f}")
        chunks = sweep[(next(iter(CORES)), size)][0]["chunks"]
        rows.append(f"| {size} | {chunks} | " + " | ".join(cells) + " |")
    return rows


def _gpu() -> str | None:
    """The name of the GPU JAX sees in the harness's environment, or None."""
    done = subprocess.run([sys.executable, "-c", "import jax; d = jax.devices()[0]; "
                           "print(d.platform, d.device_kind)"], capture_output=True, text=True,
                          check=True)
    platform_name, _, kind = done.stdout.strip().partition(" ")
    return kind if platform_name == "gpu" else None


def _gpu_section(tmp: Path, gpu: str | None) -> list[str]:
    """PPO CartPole-v1 at 2,048 vmapped seeds on the GPU, beside PureJaxRL's anchor."""
    if gpu is None:
        return ["No GPU was available to this run, so there are no GPU figures (none are "
                "estimated)."]
    seeds = 2048
    timing = _job(run_program("harness", "ppo", {seeds: STEPS}, tmp / "cache-gpu"))
    return [f"On {gpu}: PPO CartPole-v1, {seeds:,} seeds vmapped in one program, "
            f"{STEPS:,} steps each: {timing['train']:.1f} s training loop, "
            f"{timing['compile']:.1f} s compile, {seeds / timing['train']:.1f} agents per "
            "GPU-second (PureJaxRL's published anchor: 2,048 agents in about 98 s on an A100, "
            "about 21 agents per GPU-second)."]


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
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        warm, cold = _measure_ppo(tmp)
        algorithms = throughput.measure(tmp, REPEATS)
        sweep = _chunk_sweep(tmp)
        gpu = _gpu()
        gpu_lines = _gpu_section(tmp, gpu)
    lines = ["# Benchmarks", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
             f"(`python -m tests.benchmarks.bench_rejax`) on {platform.node()}: "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
             f"{gpu or 'no GPU'}. Medians of {REPEATS} interleaved repetitions unless a row "
             "says otherwise; compare ratios, not absolute seconds (the machine is shared).",
             "", _versions(), "",
             "## PPO on CartPole-v1 beside rejax", "",
             f"CleanRL's setting, {STEPS:,} steps, 1 seed, medians of {PPO_REPEATS} interleaved "
             "repetitions (here and in the overhead table). The harness's loop and compile come "
             "from its stored run metadata, its whole process is `harness run` (store, "
             "progress, summary); rejax's whole process is a script that imports rejax, "
             "compiles and trains (`tests/benchmarks/rejax_program.py`, rejax's evaluation "
             "off). The harness trains this small job on one core, where its local runner puts "
             "it (`runners/cpus.py`); rejax runs on every core, as it does unless told "
             "otherwise. The empty-cache rows are each tool's first run, one sample.", "",
             *_ppo_table(warm, cold), "",
             "## Every algorithm beside rejax", "",
             "The harness's jitted program alone (`tests/benchmarks/bare_program.py`) and "
             "rejax's, with the matched hyperparameters of `tests/benchmarks/cases.py`, "
             "1, 8 and 32 seeds vmapped per job on short budgets, the harness's jobs on the "
             "cores its local runner gives them (one for a job whose largest matrix product is "
             "small, every core for the others), rejax's on every core. Steps per second per "
             "seed exclude compile and initialisation.", "",
             *throughput.throughput_table(algorithms),
             "", "Compile seconds of the same programs: \"cold\" is the first repetition's, "
             "with an empty persistent cache (one sample); \"cached\" the later ones' median.",
             "", *throughput.compile_table(algorithms), "",
             "## What `harness run` adds to its program", "",
             "The PPO runs above as `harness run` (worker process, leases, store, checkpoints, "
             "progress, summary) and as the bare jitted program, both with a warm compilation "
             "cache. \"Rest\" is the whole process less the loop and the compile: start-up, "
             "imports (JAX once in each), tracing, storing and exit.", "",
             *_overhead_table(warm), "",
             "## Chunk size", "",
             f"The bare program, 1 seed, {CHUNK_STEPS:,} steps, cut into chunks of N updates "
             "(the host stores, checkpoints and reports between chunks); "
             f"{max(CHUNK_SIZES)} updates in one chunk is one uninterrupted `lax.scan`. The "
             "default layout aims at about 20 chunks per run. On every core XLA's CPU thread "
             "pool has a thread per core, whose hand-offs make short calls slow; restricted "
             "to one core, as the local runner restricts a small job like this one (or each of "
             "several workers), the chunks cost little.", "",
             *_chunk_table(sweep), "",
             "## GPU", "", *gpu_lines, "",
             "`make bench` goes on to print the store and CLI figures (`bench_store.py`); "
             "`make bench-more` prints per-algorithm throughput through `harness run`, the W&B "
             "mirror's cost, the statistics and sweeps. The README's Performance section "
             "quotes them.", ""]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

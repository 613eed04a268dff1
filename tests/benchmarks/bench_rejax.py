"""PPO on CartPole-v1 beside rejax and beside the harness's bare program: BENCHMARKS.md.

Run with `make bench` (it builds `.venv-rejax`, rejax 0.1.3 with the gymnax < 1 it needs, apart
from the harness's own virtualenv). All train CleanRL's PPO setting (4 envs x 128 steps, 4
epochs of 4 minibatches, tanh 64-64 networks, 499,712 steps) for 1 and 8 seeds. Each
repetition runs, in alternating order, the harness (`harness run` in a fresh results
directory, as `bench_ppo.run_suite` runs it) and rejax (a fresh process), for 1 seed with an
empty persistent compilation cache and again with the cache it filled, for 8 seeds with a
cache filled beforehand by a compile-only run; then the harness's jitted program alone
(`bare_program.py`, warm cache, 1 seed). A last part trains the bare program at several
chunk sizes. Reported are medians over the repetitions, with the ratios to the peer measured
in the same run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tests.benchmarks.bench_ppo import run_suite

REPEATS = 3
STEPS = 499_712
SEEDS = (1, 8)
COLD_SEEDS = (1,)
"""Seed counts also measured with an empty cache (others only warm, to keep to 15 minutes)."""
BARE_SEEDS = (1,)
"""Seed counts also trained by the bare program (the fixed costs show best at one seed)."""
CHUNK_SIZES = (8, 49, 976)
"""Updates per chunk tried (49 is the default layout's for 976 updates; 976 is one scan)."""
HERE = Path(__file__).parent
REJAX_PYTHON = os.environ.get("REJAX_PYTHON", ".venv-rejax/bin/python")
OUTPUT = Path("BENCHMARKS.md")
Timing = dict[str, float]
JAX_IMPORT = ("python -c 'import jax'", 0, "warm")


def _timed(argv: list[str], cache_variable: str, cache: Path) -> Timing:
    """Run a timing script with its compilation cache at `cache`: the seconds it printed as
    JSON on its last line, and its wall time."""
    env = dict(os.environ, **{cache_variable: str(cache)})
    start = time.perf_counter()
    done = subprocess.run(argv, check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": wall}


def _rejax(seeds: int, cache: Path, *flags: str) -> Timing:
    """Loop and compile seconds as rejax's process measured them, and its wall time."""
    return _timed([REJAX_PYTHON, str(HERE / "rejax_ppo.py"), str(seeds), str(STEPS), *flags],
                  "REJAX_COMPILATION_CACHE", cache)


def _bare(seeds: int, cache: Path, chunk_updates: int | None = None, *flags: str) -> Timing:
    """The harness's program alone in a fresh process (its own seconds, and its wall time)."""
    extra = [str(chunk_updates)] if chunk_updates else []
    return _timed([sys.executable, "-m", "tests.benchmarks.bare_program", str(seeds),
                   str(STEPS), *extra, *flags], "HARNESS_COMPILATION_CACHE", cache)


def _measure(tmp: Path) -> dict[tuple[str, int, str], list[Timing]]:
    """Every timing, by (tool, seeds, cold or warm cache)."""
    found: dict[tuple[str, int, str], list[Timing]] = {}
    for seeds in SEEDS:
        if seeds not in COLD_SEEDS:
            _bare(seeds, tmp / f"cache-harness-{seeds}", None, "--compile-only")
            _rejax(seeds, tmp / f"cache-rejax-{seeds}", "--compile-only")
    for repeat in range(REPEATS):
        for seeds in SEEDS:
            tools = ("harness", "rejax") if repeat % 2 == 0 else ("rejax", "harness")
            for tool in tools:
                cache = _cache(tmp, tool, seeds, repeat)
                for state in ("cold", "warm") if seeds in COLD_SEEDS else ("warm",):
                    directory = tmp / f"{tool}-{seeds}-{repeat}-{state}"
                    directory.mkdir()
                    timing = run_suite(directory, seeds, cache, STEPS) if tool == "harness" \
                        else _rejax(seeds, cache)
                    found.setdefault((tool, seeds, state), []).append(timing)
                    _show(tool, seeds, state, timing)
            if seeds in BARE_SEEDS:
                timing = _bare(seeds, _cache(tmp, "harness", seeds, repeat))
                found.setdefault(("bare", seeds, "warm"), []).append(timing)
                _show("bare", seeds, "warm", timing)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import jax"], check=True)
        found.setdefault(JAX_IMPORT, []).append({"wall": time.perf_counter() - start})
    return found


def _cache(tmp: Path, tool: str, seeds: int, repeat: int) -> Path:
    """A fresh cache per repetition where the cold compile is measured, else a shared one."""
    return tmp / (f"cache-{tool}-{seeds}-{repeat}" if seeds in COLD_SEEDS
                  else f"cache-{tool}-{seeds}")


def _show(tool: str, seeds: int, state: str, timing: Timing) -> None:
    print(tool, seeds, state, {k: round(v, 2) for k, v in timing.items()}, flush=True)


def _chunk_sweep(tmp: Path) -> dict[int, list[Timing]]:
    """Bare-program timings of one seed at each chunk size (warm caches, interleaved)."""
    found: dict[int, list[Timing]] = {}
    for repeat in range(REPEATS):
        for size in CHUNK_SIZES:
            timing = _bare(1, tmp / f"cache-chunks-{size}", size)
            found.setdefault(size, []).append(timing)
            _show(f"chunks of {size}", 1, str(repeat), timing)
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
            if state == "cold" and seeds not in COLD_SEEDS:
                continue
            ours, theirs = (_median(found, tool, seeds, state, key)
                            for tool in ("harness", "rejax"))
            rows.append(f"| {seeds} | {label} | {ours:.2f} | {theirs:.2f} | "
                        f"{ours / theirs:.2f} |")
    return rows


def _rest(timing: Timing) -> float:
    """The whole process less the loop and the compile."""
    return timing["wall"] - timing["train"] - timing["compile"]


def _overhead_table(found: dict) -> list[str]:
    rows = ["| seeds | measure | `harness run` s | bare program s | harness / bare |",
            "|---|---|---|---|---|"]
    measures = (("whole process", lambda t: t["wall"]), ("training loop", lambda t: t["train"]),
                ("compile (cache hit)", lambda t: t["compile"]),
                ("rest (start-up, store, exit)", _rest))
    for seeds in BARE_SEEDS:
        for label, measure in measures:
            ours, bare = (statistics.median(measure(t) for t in found[(tool, seeds, "warm")])
                          for tool in ("harness", "bare"))
            rows.append(f"| {seeds} | {label} | {ours:.2f} | {bare:.2f} | {ours / bare:.2f} |")
    jax_import = statistics.median(t["wall"] for t in found[JAX_IMPORT])
    rows += ["", f"A process that only imports JAX takes {jax_import:.2f} s here."]
    return rows


def _chunk_table(sweep: dict[int, list[Timing]]) -> list[str]:
    single = statistics.median(t["train"] for t in sweep[max(CHUNK_SIZES)])
    rows = ["| updates per chunk | chunks | training loop s | vs one `lax.scan` |",
            "|---|---|---|---|"]
    for size in CHUNK_SIZES:
        train = statistics.median(t["train"] for t in sweep[size])
        chunks = int(sweep[size][0]["chunks"])
        rows.append(f"| {size} | {chunks} | {train:.2f} | {train / single:.2f} |")
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
    timing = _bare(seeds, tmp / "cache-gpu")
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
    with tempfile.TemporaryDirectory() as tmp:
        found = _measure(Path(tmp))
        sweep = _chunk_sweep(Path(tmp))
        gpu = _gpu()
        gpu_lines = _gpu_section(Path(tmp), gpu)
    lines = ["# Benchmarks", "",
             f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
             f"(`python -m tests.benchmarks.bench_rejax`) on {platform.node()}: "
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
             f"{gpu or 'no GPU'}. Medians of "
             f"{REPEATS} interleaved repetitions; compare ratios, not absolute seconds (the "
             "machine is shared).", "", _versions(), "",
             "## PPO on CartPole-v1 beside rejax", "",
             "CleanRL's setting, 499,712 steps per seed; 8 seeds are vmapped in one program by "
             "both. The harness's loop and compile come from its stored run metadata, its whole "
             "process is `harness run` (store, progress, summary); rejax's whole process is a "
             "script that imports rejax, compiles and trains.", "", *_table(found), "",
             "## What `harness run` adds to its program", "",
             "The same runs as `harness run` (worker process, leases, store, checkpoints, "
             "progress, summary) and as the bare jitted program in a script "
             "(`tests/benchmarks/bare_program.py`), both with a warm compilation cache. "
             "\"Rest\" is the whole process less the loop and the compile: start-up, imports "
             "(JAX once in each), tracing, storing and exit.", "",
             *_overhead_table(found), "",
             "## Chunk size", "",
             "The bare program, 1 seed, cut into chunks of N updates (the host stores, "
             "checkpoints and reports between chunks); 976 updates in one chunk is one "
             "uninterrupted `lax.scan`. The default layout aims at about 20 chunks per run.",
             "", *_chunk_table(sweep), "",
             "## GPU", "", *gpu_lines, "",
             "`make bench` goes on to print the store and CLI figures (`bench_store.py`); "
             "`make bench-more` prints per-algorithm throughput, the W&B mirror's cost, the "
             "statistics and sweeps. The README's Performance section quotes them.", ""]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

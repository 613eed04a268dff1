"""Finished runs with chosen final scores, written through the store's own writer (no training),
for tests of the analysis layer and the reports."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from harness.names import GLOBAL_STEP, SPS, TRAIN
from harness.runs import Run, expand
from harness.store import SuitePaths
from harness.store.record import utc_now
from harness.store.tables import episode_table
from harness.store.writer import RunWriter
from harness.suite import load_suite

LAST = 100
"""Episodes the default final score averages (`last_episodes:100`)."""
METRIC_ROWS = 20
STEPS_PER_SECOND = 1000.0


def _suite_text(suite: str, algos: Mapping[str, str], envs: Sequence[str], seeds: int,
                total_timesteps: int) -> str:
    entries = ", ".join(f"{{algo: {algo}, exp_name: {name}}}" for name, algo in algos.items())
    return (f"name: {suite}\nalgorithms: [{entries}]\nenvironments: [{', '.join(envs)}]\n"
            f"seeds: {seeds}\ntotal_timesteps: {total_timesteps}\n")


def _rng(run: Run, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}/{run.run_id}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def synthetic_episodes(score: float, count: int, total_timesteps: int,
                       rng: np.random.Generator) -> pa.Table:
    """`count` training episodes rising towards `score` (from `score - |score| - 10`); the last
    100 average to exactly it."""
    if count < LAST + 2:
        raise ValueError(f"need at least {LAST + 2} episodes, not {count}")
    steps = np.linspace(total_timesteps / count, total_timesteps, count).round().astype(np.int64)
    ramp = np.linspace(0.0, 1.0, count - LAST, endpoint=False)
    scale = 0.1 * abs(score) + 1.0
    early = score - (1.0 - ramp) * (abs(score) + 10.0) + rng.normal(0.0, scale, ramp.size)
    half = rng.normal(0.0, scale, LAST // 2)
    late = score + np.concatenate([half, -half])[rng.permutation(LAST)]
    returns = np.concatenate([early, late])
    lengths = np.maximum(np.diff(steps, prepend=0), 1)
    return episode_table({"kind": np.full(count, TRAIN, dtype=object), GLOBAL_STEP: steps,
                          "episodic_return": returns, "episodic_length": lengths,
                          "terminated": np.ones(count, bool)})


def _metric_rows(total_timesteps: int, rng: np.random.Generator) -> pa.Table:
    steps = np.linspace(total_timesteps / METRIC_ROWS, total_timesteps, METRIC_ROWS)
    return pa.table({GLOBAL_STEP: steps.round().astype(np.int64),
                     "losses/value_loss": np.exp(-steps / total_timesteps)
                     + rng.uniform(0, 0.01, METRIC_ROWS),
                     SPS: np.full(METRIC_ROWS, STEPS_PER_SECOND)})


def write_finished_runs(root: Path, suite: str, scores: Mapping[tuple[str, str], Sequence[float]],
                        *, algos: Mapping[str, str] | None = None, total_timesteps: int = 20_000,
                        episodes: int = 150, seed: int = 0,
                        suite_text: str | None = None) -> list[str]:
    """Write one finished run per score: `scores[(exp_name, env_id)][i]` is the default final
    score (mean of the last 100 training episodes) of seed `i`. `algos` maps exp_names to
    registry algorithms (default: the exp_name itself when it is one, else ppo). The suite file
    (`suite_text`, e.g. one with sweeps, else one made from `scores`) is written as
    `root/../<suite>.yaml`; returns the run ids in the order written."""
    from harness.algos import ALGORITHMS

    names = list(dict.fromkeys(name for name, _ in scores))
    envs = list(dict.fromkeys(env for _, env in scores))
    algos = {name: (algos or {}).get(name, name if name in ALGORITHMS else "ppo")
             for name in names}
    seeds = max(len(values) for values in scores.values())
    suite_file = Path(root).parent / f"{suite}.yaml"
    suite_file.parent.mkdir(parents=True, exist_ok=True)
    suite_file.write_text(suite_text or _suite_text(suite, algos, envs, seeds, total_timesteps))
    paths = SuitePaths(Path(root), suite)
    written = []
    for run in expand(load_suite(suite_file)):
        values = scores.get((run.exp_name, run.env_id), ())
        if run.seed >= len(values):
            continue
        rng = _rng(run, seed)
        writer = RunWriter(paths.run(run.run_id), lease=None)
        writer.paths.dir.mkdir(parents=True, exist_ok=True)
        writer.write_config(run.config, suite)
        now = utc_now()
        writer.update_metadata(run_id=run.run_id, suite=suite, attempt=1, started_at=now,
                               finished_at=now, compile_seconds=1.5,
                               train_seconds=total_timesteps / STEPS_PER_SECOND)
        writer.paths.chunks_dir.mkdir(parents=True, exist_ok=True)
        writer.write_chunk(0, _metric_rows(total_timesteps, rng),
                           synthetic_episodes(float(values[run.seed]), episodes,
                                              total_timesteps, rng))
        writer.finish(1, global_step=total_timesteps)
        written.append(run.run_id)
    return written

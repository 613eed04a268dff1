"""Train one job: restore or start its runs, advance them chunk by chunk, store everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from harness.jobs import Job
from harness.runs import Run
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.store.provenance import device_provenance, host_provenance
from harness.store.record import utc_now
from harness.tracking import MetricSink, NullSink
from harness.training.backends import make_program
from harness.training.layout import ChunkLayout, plan_layout
from harness.training.metrics import EVAL_RETURN, GLOBAL_STEP, chunk_rows, nonfinite_state

Report = Callable[[dict[str, Any]], None]
Checkpoint = tuple[int, list[np.ndarray]]
EVAL_SEED_OFFSET = 1_000_003
"""Evaluation keys come from `fold_in(PRNGKey(seed), EVAL_SEED_OFFSET + chunk)`: training's
random stream is never touched by evaluation."""


def _ignore(event: dict[str, Any]) -> None:
    """A reporter that drops every event."""


def job_layout(run: Run) -> ChunkLayout:
    """Metric rows, evaluation points and chunks of a run (equal for every run of a job)."""
    evaluation = run.evaluation
    eval_every = None
    if evaluation is not None:
        eval_every = max(1, round(evaluation["every"] / run.steps_per_update))
    return plan_layout(run.num_updates, eval_every)


def train_job(job: Job, paths: SuitePaths, report: Report = _ignore,
              submitted_at: float | None = None, sink: MetricSink | None = None) -> list[str]:
    """Train every unfinished run of `job`; return the ids of runs that failed.

    `submitted_at` (seconds since the epoch) is when a runner handed the job over; a run's
    first start records the time since then as `queue_seconds`. `sink` receives every stored
    metric row (a W&B mirror).
    """
    sink = sink or NullSink()
    todo = [(run, RunRecord(paths.run(run.run_id))) for run in job.runs]
    todo = [(run, record) for run, record in todo if not record.is_done()]
    if not todo:
        return []
    runs = [run for run, _ in todo]
    records = [record for _, record in todo]
    checkpoints = [None if r.status().get("retryable") is False else r.load_checkpoint()
                   for r in records]
    first = runs[0]
    layout = job_layout(first)
    _start_records(job, runs, records, layout, submitted_at)
    sink.start(runs)

    keys = jnp.stack([jax.random.PRNGKey(run.seed) for run in runs])
    hp = _traced_batch(runs)
    episodes = first.evaluation["episodes"] if first.evaluation else 0
    program = make_program(runs, layout, keys, hp, episodes)
    report({"event": "compiled", "job_id": job.job_id, "seconds": program.compile_seconds})
    state, chunks_done = _restore(program.init(keys, hp), checkpoints, records)
    for record in records:
        record.update_metadata(compile_seconds=program.compile_seconds,
                               resumed_from_chunk=chunks_done)

    steps_per_update = first.steps_per_update
    total_steps = first.num_updates * steps_per_update
    active = list(range(len(runs)))
    failed: list[str] = []
    train_seconds = 0.0
    for chunk in range(chunks_done, layout.num_chunks):
        start = time.perf_counter()
        state, raw = program.run_chunk(state, hp, chunk)
        elapsed = time.perf_counter() - start
        train_seconds += elapsed
        valid = layout.valid_updates(chunk)
        sps = valid * steps_per_update / elapsed
        scores = None
        if episodes and layout.evaluates_after(chunk):
            eval_keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(run.seed),
                                                      EVAL_SEED_OFFSET + chunk) for run in runs])
            scores = program.evaluate(state, eval_keys)
        leaves = jax.tree.leaves(jax.device_get(state))
        for i in list(active):
            rows = chunk_rows({name: values[i] for name, values in raw.items()},
                              chunk * layout.chunk_updates, valid, layout.log_every,
                              steps_per_update, sps)
            if scores is not None:
                rows[EVAL_RETURN] = np.nan
                rows.loc[rows.index[-1], EVAL_RETURN] = float(scores[i])
            problem = _store_chunk(job, records[i], chunk, layout.num_chunks, rows,
                                   [leaf[i] for leaf in leaves])
            sink.log(runs[i], rows)
            if problem:
                sink.finish(runs[i], ok=False)
                report({"event": "run_failed", "run_id": runs[i].run_id, "reason": problem})
                failed.append(runs[i].run_id)
                active.remove(i)
        report({"event": "progress", "job_id": job.job_id, "chunk": chunk + 1,
                "num_chunks": layout.num_chunks,
                "global_step": (chunk * layout.chunk_updates + valid) * steps_per_update,
                "total_steps": total_steps, "sps": sps})
        if not active:
            break
    for i in active:
        records[i].update_metadata(finished_at=utc_now(), train_seconds=train_seconds)
        records[i].finish(layout.num_chunks, job_id=job.job_id, global_step=total_steps)
        sink.finish(runs[i], ok=True)
    return failed


def _store_chunk(job: Job, record: RunRecord, chunk: int, num_chunks: int, rows: pd.DataFrame,
                 state: list[np.ndarray]) -> str | None:
    """Store one run's chunk and checkpoint; if its state went non-finite, fail it and say why."""
    record.write_chunk(chunk, rows)
    global_step = int(rows[GLOBAL_STEP].iloc[-1])
    if nonfinite_state(state):
        problem = (f"non-finite training state (NaN or inf in parameters or optimiser state) "
                   f"by global_step {global_step}: a loss or gradient diverged")
        record.fail(problem, retryable=False, job_id=job.job_id, global_step=global_step)
        return problem
    record.save_checkpoint(chunk + 1, state)
    record.set_status(RunStatus.RUNNING, job_id=job.job_id, chunks_done=chunk + 1,
                      num_chunks=num_chunks, global_step=global_step)
    return None


def _traced_batch(runs: Sequence[Run]) -> dict[str, jax.Array]:
    """The traced hyperparameters of each run, stacked along the batch axis."""
    values = [run.hyperparameters.traced_values() for run in runs]
    return {name: jnp.asarray([v[name] for v in values], jnp.float32) for name in values[0]}


def _start_records(job: Job, runs: Sequence[Run], records: Sequence[RunRecord],
                   layout: ChunkLayout, submitted_at: float | None) -> None:
    """Write config, provenance and a `running` status for each run about to train."""
    host, devices = host_provenance(), device_provenance()
    for run, record in zip(runs, records, strict=True):
        record.write_config(run.config, run.suite)
        attempt = record.metadata().get("attempt", 0) + 1
        if attempt == 1 and submitted_at is not None:
            record.update_metadata(queue_seconds=round(time.time() - submitted_at, 3))
        record.update_metadata(
            run_id=run.run_id, suite=run.suite, job_id=job.job_id, runs_in_job=len(runs),
            attempt=attempt, started_at=utc_now(), num_updates=run.num_updates,
            steps_per_update=run.steps_per_update,
            trained_timesteps=run.num_updates * run.steps_per_update,
            num_chunks=layout.num_chunks, updates_per_chunk=layout.chunk_updates,
            updates_per_row=layout.log_every, provenance=host, devices=devices)
        record.set_status(RunStatus.RUNNING, job_id=job.job_id, chunks_done=0,
                          num_chunks=layout.num_chunks, global_step=0)


def _restore(fresh: Any, checkpoints: Sequence[Checkpoint | None],
             records: Sequence[RunRecord]) -> tuple[Any, int]:
    """Continue from the runs' checkpoints when all stopped after the same chunk, else restart."""
    expected = [(leaf.shape[1:], leaf.dtype) for leaf in jax.tree.leaves(fresh)]
    done = {c[0] for c in checkpoints if c is not None}
    if None not in checkpoints and len(done) == 1 and all(
        [(leaf.shape, leaf.dtype) for leaf in c[1]] == expected for c in checkpoints
    ):
        columns = zip(*(c[1] for c in checkpoints), strict=True)
        leaves = [jnp.asarray(np.stack(column)) for column in columns]
        return jax.tree.unflatten(jax.tree.structure(fresh), leaves), done.pop()
    for record in records:
        record.clear_progress()
    return fresh, 0

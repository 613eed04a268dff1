"""Train one job: restore or start its runs, advance them chunk by chunk, store everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from harness.algos import ALGORITHMS
from harness.jobs import Job
from harness.runs import Run
from harness.store import RunRecord, RunStatus, SuitePaths
from harness.store.provenance import device_provenance, host_provenance
from harness.store.record import utc_now
from harness.training.metrics import GLOBAL_STEP, chunk_rows, first_nonfinite
from harness.training.program import ChunkedProgram, chunk_count, updates_per_chunk

Report = Callable[[dict[str, Any]], None]
Checkpoint = tuple[int, list[np.ndarray]]


def _ignore(event: dict[str, Any]) -> None:
    """A reporter that drops every event."""


def train_job(job: Job, paths: SuitePaths, report: Report = _ignore) -> list[str]:
    """Train every unfinished run of `job`; return the ids of runs that failed."""
    todo = [(run, RunRecord(paths.run(run.run_id))) for run in job.runs]
    todo = [(run, record) for run, record in todo if not record.is_done()]
    if not todo:
        return []
    runs = [run for run, _ in todo]
    records = [record for _, record in todo]
    checkpoints = [None if r.status()["status"] == RunStatus.FAILED else r.load_checkpoint()
                   for r in records]
    first = runs[0]
    trainer = ALGORITHMS[first.algo].load().make_trainer(
        first.env_id, first.hyperparameters, first.num_updates)
    keys = jnp.stack([jax.random.PRNGKey(run.seed) for run in runs])
    hp = _traced_batch(runs)
    chunk_updates = updates_per_chunk(first.num_updates)
    _start_records(job, runs, records, chunk_count(first.num_updates, chunk_updates),
                   chunk_updates)

    program = ChunkedProgram(trainer, first.num_updates, chunk_updates, keys, hp)
    report({"event": "compiled", "job_id": job.job_id, "seconds": program.compile_seconds})
    state, chunks_done = _restore(program.init(keys, hp), checkpoints, records)
    for record in records:
        record.update_metadata(compile_seconds=program.compile_seconds,
                               resumed_from_chunk=chunks_done)

    steps_per_update = first.hyperparameters.steps_per_update
    total_steps = first.num_updates * steps_per_update
    active = list(range(len(runs)))
    failed: list[str] = []
    train_seconds = 0.0
    for chunk in range(chunks_done, program.num_chunks):
        start = time.perf_counter()
        state, raw = program.run_chunk(state, hp, chunk)
        elapsed = time.perf_counter() - start
        train_seconds += elapsed
        valid = program.valid_updates(chunk)
        leaves = jax.tree.leaves(jax.device_get(state))
        for i in list(active):
            rows = chunk_rows({name: values[i] for name, values in raw.items()},
                              chunk * chunk_updates, valid, steps_per_update,
                              sps=valid * steps_per_update / elapsed)
            problem = _store_chunk(job, records[i], chunk, program.num_chunks, rows,
                                   [leaf[i] for leaf in leaves])
            if problem:
                report({"event": "run_failed", "run_id": runs[i].run_id, "reason": problem})
                failed.append(runs[i].run_id)
                active.remove(i)
        report({"event": "progress", "job_id": job.job_id, "chunk": chunk + 1,
                "num_chunks": program.num_chunks,
                "global_step": (chunk * chunk_updates + valid) * steps_per_update,
                "total_steps": total_steps, "sps": valid * steps_per_update / elapsed})
        if not active:
            break
    for i in active:
        records[i].update_metadata(finished_at=utc_now(), train_seconds=train_seconds)
        records[i].finish(program.num_chunks, job_id=job.job_id, global_step=total_steps)
    return failed


def _store_chunk(job: Job, record: RunRecord, chunk: int, num_chunks: int, rows: Any,
                 state: list[np.ndarray]) -> str | None:
    """Store one run's chunk and checkpoint; on a non-finite loss mark it failed and say why."""
    record.write_chunk(chunk, rows)
    global_step = int(rows[GLOBAL_STEP].iloc[-1])
    problem = first_nonfinite(rows)
    if problem:
        record.set_status(RunStatus.FAILED, job_id=job.job_id, reason=problem,
                          global_step=global_step)
        return problem
    record.save_checkpoint(chunk + 1, state)
    record.set_status(RunStatus.RUNNING, job_id=job.job_id, chunks_done=chunk + 1,
                      num_chunks=num_chunks, global_step=global_step)
    return None


def fail_unfinished(job: Job, paths: SuitePaths, reason: str) -> list[str]:
    """Mark every run of `job` that is not done as failed with `reason`; return their ids."""
    failed = []
    for run in job.runs:
        record = RunRecord(paths.run(run.run_id))
        if not record.is_done():
            record.write_config(run.config, run.suite)
            record.set_status(RunStatus.FAILED, job_id=job.job_id, reason=reason)
            failed.append(run.run_id)
    return failed


def _traced_batch(runs: Sequence[Run]) -> dict[str, jax.Array]:
    """The traced hyperparameters of each run, stacked along the batch axis."""
    values = [run.hyperparameters.traced_values() for run in runs]
    return {name: jnp.asarray([v[name] for v in values], jnp.float32) for name in values[0]}


def _start_records(job: Job, runs: Sequence[Run], records: Sequence[RunRecord],
                   num_chunks: int, chunk_updates: int) -> None:
    """Write config, provenance and a `running` status for each run about to train."""
    host, devices = host_provenance(), device_provenance()
    for run, record in zip(runs, records, strict=True):
        record.write_config(run.config, run.suite)
        attempt = record.metadata().get("attempt", 0) + 1
        record.update_metadata(
            run_id=run.run_id, suite=run.suite, job_id=job.job_id, runs_in_job=len(runs),
            attempt=attempt, started_at=utc_now(), num_updates=run.num_updates,
            steps_per_update=run.hyperparameters.steps_per_update,
            trained_timesteps=run.num_updates * run.hyperparameters.steps_per_update,
            num_chunks=num_chunks, updates_per_chunk=chunk_updates,
            provenance=host, devices=devices)
        record.set_status(RunStatus.RUNNING, job_id=job.job_id, chunks_done=0,
                          num_chunks=num_chunks, global_step=0)


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

"""Train one job: claim its runs, resume each from its own checkpoint, advance them chunk by chunk
and store every metric row and episode under each run's lease."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pyarrow as pa

from harness import __version__
from harness.claim import Claim, claim_runs
from harness.envs.episodes import EpisodeEnds, FinishedEpisodes
from harness.errors import error_line
from harness.jobs import Job
from harness.runs import Run
from harness.store import RunStatus, SuitePaths
from harness.store.checkpoint import Checkpoint
from harness.store.damage import DamagedFile
from harness.store.lease import DEFAULT_STALL_TIMEOUT, LeaseLost, stall_limit
from harness.store.provenance import device_provenance, host_provenance
from harness.store.record import utc_now
from harness.store.repair import resumable_checkpoint
from harness.store.tables import concat_episodes
from harness.tracking.sink import MetricSink, NullSink
from harness.training.backends import make_program
from harness.training.cores import compiling_on_every_core
from harness.training.layout import ChunkLayout, plan_layout
from harness.training.metrics import chunk_rows, episode_rows, eval_rows, nonfinite_state
from harness.training.program import ChunkOutput
from harness.training.storing import ChunkStorer

Report = Callable[[dict[str, Any]], None]
EVAL_SEED_OFFSET = 1_000_003
"""Evaluation keys come from `fold_in(PRNGKey(seed), EVAL_SEED_OFFSET + chunk)`: training's
random stream is never touched by evaluation."""


def _ignore(event: dict[str, Any]) -> None:
    """A reporter that drops every event."""


def job_layout(run: Run, max_rows: int | None = None) -> ChunkLayout:
    """Metric rows, evaluation points and chunks of a run (equal for every run of a job)."""
    evaluation = run.evaluation
    eval_every = None
    if evaluation is not None:
        eval_every = max(1, round(evaluation["every"] / run.steps_per_update))
    return plan_layout(run.num_updates, eval_every, max_rows)


def train_job(job: Job, paths: SuitePaths, report: Report = _ignore,
              submitted_at: float | None = None, sink: MetricSink | None = None,
              claims: Sequence[Claim] | None = None,
              stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> list[str]:
    """Train the runs of `job` this process holds (`claims`; claimed here when None); return
    the ids of runs that failed.

    `submitted_at` (seconds since the epoch) is when a runner handed the job over; a run's
    first start records the time since then as `queue_seconds`. `sink` receives every stored
    metric row and episode (a W&B mirror). Leases are renewed after every chunk with the
    timeout `max(stall_timeout, STALL_FACTOR x slowest chunk)`.
    """
    if claims is None:
        claims, _ = claim_runs(job.runs, paths, job_id=job.job_id, timeout_seconds=stall_timeout)
    if not claims:
        return []
    training = _Training(job, list(claims), report, sink or NullSink(), stall_timeout)
    try:
        return training.train(submitted_at)
    except Exception as err:
        training.abandon(error_line(err), failed=True)
        raise
    except BaseException:
        training.abandon("interrupted", failed=False)
        raise


class _Training:
    """The state of one job's training on the host: which chunk each run is at."""

    def __init__(self, job: Job, claims: list[Claim], report: Report, sink: MetricSink,
                 stall_timeout: float) -> None:
        self.job, self.claims, self.report, self.sink = job, claims, report, sink
        self.runs = [claim.run for claim in claims]
        self.writers = [claim.writer for claim in claims]
        self.layout = job_layout(self.runs[0], job.max_rows)
        self.steps_per_update = self.runs[0].steps_per_update
        self.stall_timeout = stall_timeout
        self.slowest = 0.0
        self.chunks = [0] * len(claims)
        self.active: list[int] = []
        self.lost: set[int] = set()
        self.failed: list[str] = []

    def train(self, submitted_at: float | None) -> list[str]:
        """Compile, restore, then advance every run to its last chunk."""
        runs, layout = self.runs, self.layout
        checkpoints = self._start(submitted_at)
        self.sink.start(runs, self.writers)
        with compiling_on_every_core():
            keys = jnp.stack([jax.random.PRNGKey(run.seed) for run in runs])
            hp = _traced_batch(runs)
            eval_episodes = runs[0].evaluation["episodes"] if runs[0].evaluation else 0
            program = make_program(runs, layout, keys, hp, eval_episodes)
        self.report({"event": "compiled", "job_id": self.job.job_id,
                     "seconds": program.compile_seconds})
        self._heartbeat()
        state = self._restore(program.init(keys, hp), checkpoints, program.compile_seconds)
        train_seconds = 0.0
        step = self._next_chunk(self.chunks)
        if step is not None:
            start = time.perf_counter()
            state, pending = program.start_chunk(state, hp, step[0])
        with ChunkStorer() as storer:
            while step is not None:
                current, advancing = step
                out = pending.result()
                elapsed = time.perf_counter() - start
                due = [i for i in advancing
                       if eval_episodes and layout.evaluates_after(current[i])]
                evaluated = program.evaluate(state, _eval_keys(runs, current)) if due else None
                train_seconds += elapsed
                self.slowest = max(self.slowest, time.perf_counter() - start)
                leaves = jax.tree.leaves(jax.device_get(state))
                storer.wait()  # the previous chunk is stored: which runs go on is known
                step = self._next_chunk([self.chunks[i] + (i in advancing)
                                         for i in range(len(runs))])
                if step is not None:
                    # The next chunk computes while this one is stored.
                    start = time.perf_counter()
                    state, pending = program.start_chunk(state, hp, step[0])
                storer.submit(functools.partial(
                    self._store_chunk, current, advancing, out, evaluated, due, leaves, elapsed,
                    train_seconds))
        return self.failed

    def _store_chunk(self, current: np.ndarray, advancing: list[int], out: ChunkOutput,
                     evaluated: FinishedEpisodes | None, due: list[int],
                     leaves: list[np.ndarray], elapsed: float, train_seconds: float) -> None:
        """Store the chunk each run of `advancing` went through (`current[i]`), then report
        the progress."""
        for i in advancing:
            if i not in self.active:
                continue
            played = FinishedEpisodes(*(part[i] for part in evaluated)) if i in due else None
            self._store(i, int(current[i]), out, played, [leaf[i] for leaf in leaves],
                        elapsed, train_seconds)
        self._report_progress(self.layout.chunk_updates * self.steps_per_update / elapsed)

    def _next_chunk(self, chunks: Sequence[int]) -> tuple[np.ndarray, list[int]] | None:
        """With run `i` at chunk `chunks[i]`, each run's chunk for the next call and the runs it
        advances (None when every run still training is done): the unfinished runs least
        advanced (runs resumed from later checkpoints wait for the others to catch up), every
        other run at `num_chunks`, which leaves it unchanged."""
        unfinished = [i for i in self.active if chunks[i] < self.layout.num_chunks]
        if not unfinished:
            return None
        chunk = min(chunks[i] for i in unfinished)
        advancing = [i for i in unfinished if chunks[i] == chunk]
        current = np.full(len(self.runs), self.layout.num_chunks)
        current[advancing] = chunk
        return current, advancing

    def _start(self, submitted_at: float | None) -> list[Checkpoint | None]:
        """Record a new attempt of each run (config, provenance, a `running` status showing the
        progress it resumes from); the checkpoint each may resume from."""
        host, devices = host_provenance(), device_provenance()
        layout, checkpoints = self.layout, []
        for claim in self.claims:
            run, writer = claim.run, claim.writer
            for note in claim.repair.notes:
                self.report({"event": "repaired", "run_id": run.run_id, "note": note})
            stored = claim.repair.status
            checkpoint = None if stored.get("retryable") is False else resumable_checkpoint(writer)
            checkpoints.append(checkpoint)
            done = checkpoint.chunks_done if checkpoint else 0
            meta = writer.record.metadata()
            attempt = meta.get("attempt", 0) + 1
            if attempt == 1 and submitted_at is not None:
                writer.update_metadata(queue_seconds=round(time.time() - submitted_at, 3))
            lease = writer.lease
            entry = {"attempt": attempt, "started_at": utc_now(), "job_id": self.job.job_id,
                     "runs_in_job": len(self.claims), "lease": lease.number if lease else None,
                     "took_over": lease.took_over if lease else None,
                     "resumes_from_chunk": done, "provenance": host, "devices": devices}
            writer.update_metadata(
                run_id=run.run_id, suite=run.suite, job_id=self.job.job_id,
                runs_in_job=len(self.claims), attempt=attempt,
                attempts=[*meta.get("attempts", []), entry], started_at=entry["started_at"],
                num_updates=run.num_updates, steps_per_update=run.steps_per_update,
                trained_timesteps=run.num_updates * run.steps_per_update,
                num_chunks=layout.num_chunks, updates_per_chunk=layout.chunk_updates,
                updates_per_row=layout.log_every, provenance=host, devices=devices)
            writer.set_status(RunStatus.RUNNING, job_id=self.job.job_id, chunks_done=done,
                              num_chunks=layout.num_chunks,
                              global_step=self._steps_after(done))
        return checkpoints

    def _steps_after(self, chunks_done: int) -> int:
        layout = self.layout
        updates = min(chunks_done * layout.chunk_updates, layout.num_updates)
        return updates * self.steps_per_update

    def _restore(self, fresh: Any, checkpoints: list[Checkpoint | None],
                 compile_seconds: float) -> Any:
        """The job's state: each run from its own checkpoint where it has a usable one, else
        fresh; a checkpoint of another layout or harness version fails its run instead."""
        leaves, treedef = jax.tree.flatten(jax.device_get(fresh))
        columns = [np.array(leaf) for leaf in leaves]
        expected = [(leaf.shape[1:], leaf.dtype) for leaf in columns]
        for i, (writer, checkpoint) in enumerate(zip(self.writers, checkpoints, strict=True)):
            if i in self.lost:
                continue
            if checkpoint is None:
                writer.clear_progress()
            else:
                problem = checkpoint.mismatch(self.layout.to_json(), __version__, expected)
                if problem:
                    self._fail(i, f"{writer.paths.checkpoint.name} cannot resume this run: "
                                  f"{problem}; move {writer.paths.checkpoint} aside to restart "
                                  "the run from scratch (`harness run --retry-failed`)",
                               retryable=False)
                    continue
                for column, leaf in zip(columns, checkpoint.leaves, strict=True):
                    column[i] = leaf
                writer.discard_chunks_from(checkpoint.chunks_done)
                self.chunks[i] = checkpoint.chunks_done
            writer.update_metadata(compile_seconds=compile_seconds,
                                   resumed_from_chunk=self.chunks[i])
            self.active.append(i)
        self._report_progress()
        return jax.tree.unflatten(treedef, jax.device_put(columns))

    def _tables(self, i: int, chunk: int, out: ChunkOutput, played: FinishedEpisodes | None,
                elapsed: float) -> tuple[pa.Table, pa.Table, int]:
        """Run `i`'s metric rows and episodes of its chunk `chunk`, and its step after it."""
        layout, per_update = self.layout, self.steps_per_update
        first_update, valid = chunk * layout.chunk_updates, layout.valid_updates(chunk)
        global_step = (first_update + valid) * per_update
        rows = chunk_rows({name: values[i] for name, values in out.metrics.items()},
                          first_update, valid, layout.log_every, per_update,
                          valid * per_update / elapsed)
        episodes = episode_rows(EpisodeEnds(*(part[i] for part in out.episodes)), first_update,
                                valid)
        if played is not None:
            episodes = concat_episodes([episodes, eval_rows(played, global_step)])
        return rows, episodes, global_step

    def _store(self, i: int, chunk: int, out: ChunkOutput, played: FinishedEpisodes | None,
               state: list[np.ndarray], elapsed: float, train_seconds: float) -> None:
        """Store run `i`'s chunk and checkpoint, finish it after its last chunk, and fail it if
        its state went non-finite; a run whose lease was taken over is dropped."""
        run, writer, layout = self.runs[i], self.writers[i], self.layout
        rows, episodes, global_step = self._tables(i, chunk, out, played, elapsed)
        try:
            writer.write_chunk(chunk, rows, episodes)
            self.sink.log(run, rows, episodes)
            if nonfinite_state(state):
                self._fail(i, f"non-finite training state (NaN or inf in parameters or "
                              f"optimiser state) by global_step {global_step}: a loss or "
                              "gradient diverged", retryable=False, global_step=global_step)
                return
            self.chunks[i] = chunk + 1
            if self.chunks[i] == layout.num_chunks:
                self.sink.finish(run, ok=True)
                writer.update_metadata(finished_at=utc_now(), train_seconds=train_seconds)
                writer.finish(layout.num_chunks, global_step=global_step, job_id=self.job.job_id)
                self.active.remove(i)
                return
            writer.save_checkpoint(Checkpoint(chunk + 1, layout.to_json(), __version__, state))
            writer.set_status(RunStatus.RUNNING, job_id=self.job.job_id, chunks_done=chunk + 1,
                              num_chunks=layout.num_chunks, global_step=global_step)
            writer.heartbeat(stall_limit(self.stall_timeout, self.slowest))
        except LeaseLost as lost:
            self._lose(i, lost)

    def _lose(self, i: int, lost: LeaseLost) -> None:
        """Stop training run `i`: another process took its lease over."""
        self.report({"event": "run_lost", "run_id": self.runs[i].run_id, "reason": str(lost)})
        self.sink.finish(self.runs[i], ok=False)
        self.lost.add(i)
        if i in self.active:
            self.active.remove(i)

    def _fail(self, i: int, reason: str, **fields: Any) -> None:
        run = self.runs[i]
        self.sink.finish(run, ok=False)
        self.writers[i].fail(reason, job_id=self.job.job_id, **fields)
        self.report({"event": "run_failed", "run_id": run.run_id, "reason": reason})
        self.failed.append(run.run_id)
        if i in self.active:
            self.active.remove(i)

    def abandon(self, reason: str, failed: bool) -> None:
        """Give up every run still held after training stopped early: record `reason` as its
        failure when `failed`, else leave it interrupted (it resumes from its checkpoint)."""
        for writer in self.writers:
            if writer.released:
                continue
            with contextlib.suppress(LeaseLost, DamagedFile, OSError):
                if failed:
                    writer.fail(reason, job_id=self.job.job_id)
                else:
                    writer.release("interrupted")

    def _heartbeat(self) -> None:
        """Renew every lease still held (after compiling, before the first chunk)."""
        for i, writer in enumerate(self.writers):
            try:
                writer.heartbeat(stall_limit(self.stall_timeout, self.slowest))
            except LeaseLost as lost:
                self._lose(i, lost)

    def _report_progress(self, sps: float | None = None) -> None:
        """The least advanced unfinished run's progress (all runs done: the budget) and the
        last chunk's steps per second of one run."""
        total = self.layout.num_updates * self.steps_per_update
        steps = [self._steps_after(self.chunks[i]) for i in self.active] or [total]
        self.report({"event": "progress", "job_id": self.job.job_id,
                     "chunk": min([self.chunks[i] for i in self.active] or
                                  [self.layout.num_chunks]),
                     "num_chunks": self.layout.num_chunks, "global_step": min(steps),
                     "total_steps": total, "sps": sps, "slowest_chunk": self.slowest})


def _eval_keys(runs: Sequence[Run], chunks: np.ndarray) -> jax.Array:
    """Each run's evaluation key after its chunk `chunks[i]`."""
    return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(run.seed),
                                         EVAL_SEED_OFFSET + int(chunk))
                      for run, chunk in zip(runs, chunks, strict=True)])


def _traced_batch(runs: Sequence[Run]) -> dict[str, jax.Array]:
    """The traced hyperparameters of each run, stacked along the batch axis."""
    values = [run.hyperparameters.traced_values() for run in runs]
    return {name: jnp.asarray([v[name] for v in values], jnp.float32) for name in values[0]}

"""Mirror every metric row to Weights & Biases, one W&B run per harness run.

Runs look like Open RL Benchmark's: CleanRL's config keys (`env_id`, `exp_name`, `seed` and every
hyperparameter at the top level), CleanRL's metric names, `global_step` as the x-axis, the suite
as the group and the algorithm as the job type. W&B is a mirror: any failure of it is reported
once and recorded in the run's metadata, and training and the local store carry on.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from harness.names import EPISODE_METRICS, GLOBAL_STEP
from harness.runs import Run
from harness.store import SuitePaths
from harness.store.lease import LeaseLost
from harness.store.provenance import git_state, package_versions
from harness.store.writer import RunWriter

INIT_TIMEOUT_SECONDS = 30
"""How long `wandb.init` may wait for the W&B service before the run goes offline instead."""

Warn = Callable[[str], None]


def _stderr(message: str) -> None:
    print(f"wandb sink: {message}", file=sys.stderr, flush=True)


def wandb_run_id(suite: str, run_id: str) -> str:
    """The W&B run id of a harness run: stable, so a resumed run continues its W&B run."""
    return hashlib.sha256(f"{suite}/{run_id}".encode()).hexdigest()[:16]


def wandb_config(run: Run) -> dict[str, Any]:
    """The W&B config of a run: Open RL Benchmark's keys, every hyperparameter at the top."""
    config = {"env_id": run.env_id, "exp_name": run.exp_name, "seed": run.seed,
              "total_timesteps": run.total_timesteps, "algo": run.algo, "backend": run.backend,
              "suite": run.suite, "run_id": run.run_id}
    config.update(run.hyperparameters.model_dump(mode="json"))
    if run.evaluation is not None:
        config["evaluation"] = dict(run.evaluation)
    return config


def standard_tags() -> list[str]:
    """Tags every run carries: the harness version and the git commit of its code."""
    git = git_state()
    tags = [f"harness-{package_versions().get('rl-harness') or 'unknown'}"]
    if git["commit"]:
        tags.append(f"commit-{git['commit'][:12]}{'-dirty' if git['dirty'] else ''}")
    return tags


def history_records(rows: pa.Table, episodes: pa.Table) -> list[dict[str, float]]:
    """What W&B logs for a chunk, in `global_step` order: one record per finished episode
    (`charts/episodic_return` and `_length`, or `eval/...`, as CleanRL logs them) and one per
    metric row (present values only); at equal steps the episodes come first."""
    logged: list[tuple[int, int, dict[str, float]]] = []
    columns = ("kind", GLOBAL_STEP, "episodic_return", "episodic_length")
    for kind, step, ret, length in zip(*(episodes[c].to_pylist() for c in columns),
                                       strict=True):
        return_name, length_name = EPISODE_METRICS[kind]
        logged.append((int(step), 0, {GLOBAL_STEP: int(step), return_name: float(ret),
                                      length_name: float(length)}))
    for row in rows.to_pylist():
        values = {k: float(v) for k, v in row.items()
                  if v is not None and not (isinstance(v, float) and math.isnan(v))}
        values[GLOBAL_STEP] = int(row[GLOBAL_STEP])
        logged.append((values[GLOBAL_STEP], 1, values))
    logged.sort(key=lambda item: item[:2])
    return [values for _, _, values in logged]


class WandbSink:
    """Mirrors the metric rows of a job's runs to W&B, one W&B run each; never raises."""

    def __init__(self, spec: dict[str, Any], paths: SuitePaths, warn: Warn = _stderr) -> None:
        self.spec = spec
        self.paths = paths
        self.warn = warn
        self._runs: dict[str, Any] = {}
        self._writers: dict[str, RunWriter] = {}

    def start(self, runs: list[Run], writers: list[RunWriter]) -> None:
        """Open (or resume) the W&B run of each run about to train."""
        for run, writer in zip(runs, writers, strict=True):
            self._writers[run.run_id] = writer
            self._runs[run.run_id] = self._init(run)

    def log(self, run: Run, rows: pa.Table, episodes: pa.Table) -> None:
        """Log a chunk's metric rows and episodes of `run`."""
        handle = self._runs.get(run.run_id)
        if handle is None:
            return
        try:
            for values in history_records(rows, episodes):
                handle.log(values)
        except Exception as err:  # noqa: BLE001 - W&B must never stop training
            self._give_up(run, f"logging failed: {type(err).__name__}: {err}")

    def finish(self, run: Run, ok: bool) -> None:
        """Close the W&B run of `run`, marking it failed unless `ok`."""
        handle = self._runs.pop(run.run_id, None)
        if handle is None:
            return
        try:
            handle.finish(exit_code=0 if ok else 1)
        except Exception as err:  # noqa: BLE001 - W&B must never stop training
            self._record(run, status=f"finish failed: {type(err).__name__}: {err}")

    def close(self) -> None:
        """Close every W&B run still open (the job ended early) as failed."""
        for handle in self._runs.values():
            if handle is not None:
                with contextlib.suppress(Exception):
                    handle.finish(exit_code=1)
        self._runs.clear()

    def _init(self, run: Run) -> Any:
        mode = self.spec["mode"]
        try:
            return self._open(run, mode)
        except Exception as err:  # noqa: BLE001 - W&B must never stop training
            reason = f"{type(err).__name__}: {err}".splitlines()[0]
        if mode == "online":
            try:
                handle = self._open(run, "offline")
                self.warn(f"run {run.run_id}: W&B online failed ({reason}); mirroring offline "
                          f"under {self.paths.dir / 'wandb'} for `wandb sync`")
                return handle
            except Exception as err:  # noqa: BLE001 - W&B must never stop training
                reason = f"{type(err).__name__}: {err}".splitlines()[0]
        self._give_up(run, f"init failed: {reason}")
        return None

    def _open(self, run: Run, mode: str) -> Any:
        import wandb

        handle = wandb.init(
            project=self.spec["project"], entity=self.spec["entity"], mode=mode,
            id=wandb_run_id(run.suite, run.run_id), resume="allow", reinit="create_new",
            name=f"{run.env_id}__{run.exp_name}__{run.seed}__{int(time.time())}",
            group=self.spec["group"], job_type=run.algo,
            tags=[*self.spec["tags"], *standard_tags()], config=wandb_config(run),
            dir=str(self.paths.dir),
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                    init_timeout=INIT_TIMEOUT_SECONDS))
        handle.define_metric("global_step")
        handle.define_metric("*", step_metric="global_step")
        self._record(run, status="ok", mode=mode, id=handle.id, project=self.spec["project"],
                     entity=self.spec["entity"], dir=str(handle.dir))
        return handle

    def _give_up(self, run: Run, reason: str) -> None:
        """Stop mirroring `run` (closing its W&B run), say so once, and record why."""
        handle = self._runs.get(run.run_id)
        self._runs[run.run_id] = None
        if handle is not None:
            with contextlib.suppress(Exception):
                handle.finish(exit_code=1)
        self.warn(f"run {run.run_id}: W&B {reason}; training and the local store go on")
        self._record(run, status=reason)

    def _record(self, run: Run, **fields: Any) -> None:
        """Keep what the mirror did in the run's metadata (while this process holds it)."""
        writer = self._writers[run.run_id]
        with contextlib.suppress(LeaseLost):
            writer.update_metadata(wandb={**writer.record.metadata().get("wandb", {}), **fields})

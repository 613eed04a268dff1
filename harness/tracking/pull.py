"""Import the runs of a W&B project (e.g. Open RL Benchmark's) into the results store.

`pull_project("openrlbenchmark/cleanrl", root)` lists the project's runs through `wandb.Api`,
keeps those that match the filters (asked of the server, then checked again here), and stores
each as `<root>/<suite>/runs/wandb-<id>/` with the files of our own runs, so `harness.results`
loads them unchanged. A run's full history is read with `scan_history` (never the sampled
`history()`), with `global_step` as the x-axis (`_step` when a run never logged it).

A stored run whose change marker (heartbeat, history length, last step, state, tags, config)
equals the W&B run's is not fetched again. A run directory appears complete or not at all: it is
built beside the store and renamed into place, so a failed fetch leaves an earlier copy intact.
HTTP 429 answers are retried with exponential backoff and jitter; any other error fails that run
only and is recorded in the report.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from harness.names import GLOBAL_STEP
from harness.store import RunPaths, RunRecord, RunStatus, SuitePaths
from harness.store.damage import DamagedFile
from harness.store.frames import split_episodes
from harness.store.record import utc_now
from harness.store.writer import RunWriter
from harness.suite.names import check_safe_name
from harness.tracking.backoff import RetryPolicy, one_line

WANDB_TIMEOUT_SECONDS = 30
RUNS_PER_PAGE = 100
HISTORY_PAGE_SIZE = 5_000
"""Steps per `scan_history` page (wandb's default is 1000): fewer round trips."""
RUN_ID_PREFIX = "wandb-"
FALLBACK_STEP = "_step"
TOP_LEVEL_KEYS = ("algo", "exp_name", "env_id", "seed", "total_timesteps")
"""Config keys stored beside `hyperparameters` rather than in it."""
RESERVED_KEYS = frozenset({"suite", "run_id", "status", "global_step", "reason", "job_id",
                           "started_at", "finished_at", "compile_seconds", "train_seconds"})
"""Config keys that name columns of `results.runs` (which spreads `hyperparameters` over its
rows): kept under `source.reserved_config` instead. Our own W&B mirror logs `suite` and
`run_id`, so pulling our runs back would otherwise rename them in the runs table."""

_PROJECT_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")

Outcome = Literal["fetched", "cached", "skipped", "failed"]


class PullError(ValueError):
    """Bad input, or a project that cannot be listed; the message is one line."""


@dataclass
class PullFilters:
    """Which runs to pull; each field left empty selects everything."""

    env_id: Sequence[str] = ()
    """`config.env_id` is one of these."""
    exp_name: Sequence[str] = ()
    """`config.exp_name` is one of these."""
    tags: Sequence[str] = ()
    """The run has every one of these tags."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """`config.KEY == VALUE` for every item (a dotted KEY also looks into nested dicts)."""
    states: Sequence[str] = ("finished",)
    """The run's state is one of these (empty: any state)."""

    def __post_init__(self) -> None:
        for name in ("env_id", "exp_name", "tags", "states"):
            value = getattr(self, name)
            setattr(self, name, (value,) if isinstance(value, str) else tuple(value))
        self.config = dict(self.config)

    def server_query(self) -> dict[str, Any]:
        """The MongoDB-style `filters` for `wandb.Api.runs` (config keys with dots are left
        out: the server ignores such filters; `matches` still checks them)."""
        clauses = [_one_of(key, values) for key, values in (
            ("state", self.states), ("config.env_id", self.env_id),
            ("config.exp_name", self.exp_name)) if values]
        clauses += [{"tags": {"$in": [tag]}} for tag in self.tags]
        clauses += [{f"config.{key}": value} for key, value in self.config.items()
                    if "." not in key]
        return {"$and": clauses} if clauses else {}

    def matches(self, state: str, tags: Sequence[str], config: Mapping[str, Any]) -> bool:
        """Whether a run with this state, tags and config is selected."""
        return ((not self.states or state in self.states)
                and (not self.env_id or config.get("env_id") in self.env_id)
                and (not self.exp_name or config.get("exp_name") in self.exp_name)
                and set(self.tags) <= set(tags)
                and all(_config_value(config, key) == value
                        for key, value in self.config.items()))


def _one_of(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {key: values[0]} if len(values) == 1 else {key: {"$in": list(values)}}


def _config_value(config: Mapping[str, Any], key: str) -> Any:
    """`config[key]`, else the nested value at the dotted path `key`, else None."""
    if key in config:
        return config[key]
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def parse_config_filter(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` as `(KEY, VALUE)`; VALUE is read as JSON when it is JSON (`0.5`, `true`)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise PullError(f"config filter {text!r} is not KEY=VALUE")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


@dataclass(frozen=True)
class RunOutcome:
    """What happened to one W&B run."""

    wandb_id: str
    run_id: str
    outcome: Outcome
    reason: str | None = None
    rows: int = 0
    """Metric rows stored (fetched runs)."""


@dataclass
class PullReport:
    """Every run's outcome of one pull."""

    project: str
    suite: str
    suite_dir: Path
    outcomes: list[RunOutcome] = field(default_factory=list)

    def of(self, outcome: Outcome) -> list[RunOutcome]:
        """The runs with this outcome."""
        return [o for o in self.outcomes if o.outcome == outcome]

    @property
    def ok(self) -> bool:
        """True when no run failed."""
        return not self.of("failed")

    def lines(self) -> list[str]:
        """A summary line, then one line per failed run."""
        counts = ", ".join(f"{len(self.of(name))} {label}" for name, label in (
            ("fetched", "fetched"), ("cached", "cached"), ("skipped", "skipped by filter"),
            ("failed", "failed")))
        rows = sum(o.rows for o in self.outcomes)
        head = (f"pulled {self.project} into {self.suite_dir}: {counts} "
                f"({rows} metric rows stored)")
        return [head, *(f"  failed {o.wandb_id}: {o.reason}" for o in self.of("failed"))]


@dataclass(frozen=True)
class _Task:
    run: Any
    run_id: str
    marker: dict[str, Any]


def parse_project_path(path: str) -> tuple[str, str]:
    """`entity/project` as `(entity, project)`, or PullError."""
    parts = path.split("/")
    if len(parts) != 2 or not all(_PROJECT_PART.fullmatch(p) and ".." not in p for p in parts):
        raise PullError(f"{path!r} is not a W&B project: use ENTITY/PROJECT (letters, digits, "
                        "'.', '_' or '-'), e.g. openrlbenchmark/cleanrl")
    return parts[0], parts[1]


def default_suite(entity: str, project: str) -> str:
    """The suite that holds a project's runs: `wandb-ENTITY-PROJECT`."""
    return f"wandb-{entity}-{project}"


def run_id_of(wandb_id: str) -> str:
    """A stable, path-safe run id for a W&B run id: `wandb-<id>`, hashed if unsafe."""
    candidate = RUN_ID_PREFIX + wandb_id
    try:
        return check_safe_name(candidate)
    except ValueError:
        return RUN_ID_PREFIX + hashlib.sha256(wandb_id.encode()).hexdigest()[:16]


def change_marker(run: Any) -> dict[str, Any]:
    """What changes when a W&B run does (wandb 0.31 runs have no `updated_at`)."""
    config = json.dumps(run.config, sort_keys=True, default=str)
    return {"heartbeat_at": run.heartbeat_at, "history_line_count": run.history_line_count,
            "last_step": run.summary_metrics.get("_step"), "state": run.state,
            "tags": sorted(run.tags), "config_sha256": hashlib.sha256(config.encode()).hexdigest()}


def metrics_frame(rows: list[Mapping[str, Any]]) -> tuple[pd.DataFrame, str]:
    """History rows as our metrics table: `global_step` plus one float column per metric.

    W&B's own keys (`_step`, `_runtime`, `_timestamp`, ...) and non-numbers (media, tables) are
    dropped, and so are rows without a step or a metric. The x-axis is `global_step`, or
    `_step` when no row has it; returns the table and the key used.
    """
    step_key = GLOBAL_STEP if any(GLOBAL_STEP in row for row in rows) else FALLBACK_STEP
    records = []
    for row in rows:
        values = {key: float(value) for key, value in row.items()
                  if key != GLOBAL_STEP and not key.startswith("_")
                  and isinstance(value, int | float)}
        step = row.get(step_key)
        if values and isinstance(step, int | float) and math.isfinite(step):
            records.append({GLOBAL_STEP: int(step), **values})
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame({GLOBAL_STEP: pd.Series(dtype="int64")}), step_key
    metrics = sorted(c for c in frame.columns if c != GLOBAL_STEP)
    return frame[[GLOBAL_STEP, *metrics]].astype({GLOBAL_STEP: "int64"}), step_key


def stored_config(run: Any, wandb_path: str) -> dict[str, Any]:
    """Our config for a W&B run: CleanRL's keys on top, the rest as hyperparameters."""
    rest = dict(run.config)
    top = {key: rest.pop(key, None) for key in TOP_LEVEL_KEYS}
    top["algo"] = top["algo"] or top["exp_name"]
    reserved = {key: rest.pop(key) for key in sorted(RESERVED_KEYS & rest.keys())}
    source = {"wandb": wandb_path, "url": run.url, "tags": list(run.tags), "name": run.name,
              "reserved_config": reserved}
    return {**top, "hyperparameters": rest, "source": source}


def pull_project(path: str, root: Path | str, suite: str | None = None, *,
                 filters: PullFilters | None = None, api: Any | None = None, workers: int = 4,
                 retry: RetryPolicy | None = None,
                 progress: Callable[[RunOutcome], None] | None = None,
                 page_size: int = HISTORY_PAGE_SIZE) -> PullReport:
    """Pull the runs of W&B project `path` that match `filters` into `root/<suite>`."""
    entity, project = parse_project_path(path)
    suite = _checked_suite(suite or default_suite(entity, project))
    if workers < 1:
        raise PullError(f"workers must be at least 1, not {workers}")
    filters = filters or PullFilters()
    retry = retry or RetryPolicy()
    paths = SuitePaths(Path(root), suite)
    report = PullReport(path, suite, paths.dir)

    def record(outcome: RunOutcome) -> None:
        report.outcomes.append(outcome)
        if progress is not None:
            progress(outcome)

    tasks = []
    for run in _list_runs(api or _default_api(), path, filters, retry):
        run_id = run_id_of(run.id)
        if not filters.matches(run.state, run.tags, run.config):
            record(RunOutcome(run.id, run_id, "skipped"))
            continue
        marker = change_marker(run)
        if _is_current(RunRecord(paths.run(run_id)), marker):
            record(RunOutcome(run.id, run_id, "cached"))
        else:
            tasks.append(_Task(run, run_id, marker))
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(_fetch, task, paths, path, retry, page_size) for task in tasks]
        for future in as_completed(futures):
            record(future.result())
    finally:
        pool.shutdown(cancel_futures=True)
    return report


def _checked_suite(suite: str) -> str:
    try:
        return check_safe_name(suite)
    except ValueError as err:
        raise PullError(f"suite name: {err}") from err


def _default_api() -> Any:
    """A `wandb.Api`, or PullError when W&B cannot be used (no API key, unreachable)."""
    import wandb

    try:
        return wandb.Api(timeout=WANDB_TIMEOUT_SECONDS)
    except wandb.errors.Error as err:
        raise PullError(f"cannot use the W&B API: {one_line(err)}") from err


def _list_runs(api: Any, path: str, filters: PullFilters, retry: RetryPolicy) -> list[Any]:
    """Every run W&B lists for `filters`, once each, retrying rate-limited pages."""
    api.flush()
    try:
        runs = api.runs(path, filters=filters.server_query(), order="+created_at",
                        per_page=RUNS_PER_PAGE, lazy=False)
        # `list` restarts iteration over the pages already fetched, so a retry neither
        # refetches them nor skips a run (as a bare `next` after an error would).
        listed = retry.call(lambda: list(runs))
    except Exception as err:
        raise PullError(f"cannot list the runs of {path}: {one_line(err)}") from err
    return list({run.id: run for run in listed}.values())


def _is_current(record: RunRecord, marker: dict[str, Any]) -> bool:
    """Whether the stored copy of a run is complete, intact and from the same W&B state."""
    try:
        state = record.check().status
        return (state["status"] == RunStatus.DONE
                and record.metadata().get("wandb", {}).get("marker") == marker)
    except DamagedFile:
        return False


def _fetch(task: _Task, paths: SuitePaths, project_path: str, retry: RetryPolicy,
           page_size: int) -> RunOutcome:
    """Fetch one run's history and store it; any error fails this run only."""
    run = task.run
    try:
        rows = retry.call(lambda: list(run.scan_history(page_size=page_size)))
        frame, step_key = metrics_frame(rows)
        _store(paths, task, f"{project_path}/{run.id}", frame, step_key)
    except Exception as err:
        return RunOutcome(run.id, task.run_id, "failed", f"{type(err).__name__}: {one_line(err)}")
    return RunOutcome(run.id, task.run_id, "fetched", rows=len(frame))


def _store(paths: SuitePaths, task: _Task, wandb_path: str, frame: pd.DataFrame,
           step_key: str) -> None:
    """Write the run's directory beside the store, then rename it into place."""
    run = task.run
    staging = paths.pull_staging
    staging.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{task.run_id}.", dir=staging))
    try:
        writer = RunWriter(RunPaths(work / task.run_id), lease=None)
        writer.write_config(stored_config(run, wandb_path), paths.suite)
        summary = run.summary_metrics
        writer.update_metadata(
            source="wandb", pulled_at=utc_now(), started_at=run.created_at,
            finished_at=run.heartbeat_at, train_seconds=summary.get("_runtime"),
            wandb={"path": wandb_path, "step_key": step_key, "marker": task.marker})
        metrics, episodes = split_episodes(frame)
        writer.write_chunk(0, metrics, episodes)
        last_step = int(frame[GLOBAL_STEP].max()) if len(frame) else 0
        writer.finish(1, global_step=last_step)
        _install(writer.paths.dir, paths.run(task.run_id).dir, work / "replaced")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _install(built: Path, target: Path, old: Path) -> None:
    """Rename `built` to `target`, moving an existing `target` to `old` first (and back if
    the rename fails)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    replacing = target.exists()
    if replacing:
        os.rename(target, old)
    try:
        os.rename(built, target)
    except OSError:
        if replacing:
            os.rename(old, target)
        raise

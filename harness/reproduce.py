"""Re-train a stored run from its recorded job and say whether its metrics come out identical.

A run trained batched (vmapped) with other seeds is re-trained in the same batch: the whole
job it was trained in is read from its job spec and trained again into a temporary results
directory, then the run's metric rows are compared exactly (`charts/SPS`, a wall-clock rate,
is ignored). The report also lists what differs between the stored run's recorded provenance
and the re-training's (versions, package state, git commit, devices, XLA settings).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.names import GLOBAL_STEP, SPS
from harness.store import RunPaths, RunRecord, RunStatus, SuitePaths
from harness.store.damage import DamagedFile
from harness.store.frames import episodes_as_frame
from harness.store.tables import run_tables
from harness.training.job import Report, train_job
from runners.protocol import read_job_spec

IGNORED_METRICS = (SPS,)
"""Metrics that measure wall-clock speed, not learning: never compared."""
COMPARED_ENVIRONMENT = ("XLA_FLAGS", "JAX_")
EPISODES = "episodes"
"""How a difference in the episode table (rather than in one metric) is reported."""
"""Recorded environment variables (names or prefixes) that can change a run's numbers."""


class ReproduceError(ValueError):
    """A run cannot be reproduced (unknown, unfinished, or its job spec is missing)."""


@dataclass(frozen=True)
class MetricDifference:
    """Where one metric of the re-trained run departs from the stored one."""

    metric: str
    global_step: int
    """The first step at which the two differ."""
    stored: float
    reproduced: float
    rows: int
    """How many rows differ (a value on one side and none on the other counts)."""
    max_abs_difference: float | None
    """Largest |stored - reproduced| where both have a value (None if none does)."""

    def describe(self) -> str:
        """One line: the metric, its first differing step and values, and how much differs."""
        rows = f"{self.rows} rows differ" if self.rows > 1 else "1 row differs"
        worst = "n/a" if self.max_abs_difference is None else repr(self.max_abs_difference)
        return (f"{self.metric}: first at global_step {self.global_step} (stored {self.stored!r},"
                f" reproduced {self.reproduced!r}); {rows}, max abs difference {worst}")


@dataclass(frozen=True)
class ReproduceReport:
    """The outcome of re-training one stored run."""

    run_id: str
    suite: str
    label: str
    job_id: str
    runs_in_job: int
    rows: int
    metrics: tuple[str, ...]
    differences: tuple[MetricDifference, ...]
    """Differing metrics, earliest first difference first."""
    provenance_differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """`key: (stored, now)` for each recorded version or setting that is not the same now."""
    failure: str | None = None
    """Why the re-trained run failed, if it did."""
    altered: str | None = None
    """How the stored data files differ from what was written (edited or damaged since)."""
    seconds: float = 0.0

    @property
    def matched(self) -> bool:
        """True when every compared metric value is identical."""
        return not self.differences and self.failure is None

    @property
    def max_abs_difference(self) -> float | None:
        """Largest absolute difference over all metrics (None when none is measurable)."""
        found = [d.max_abs_difference for d in self.differences
                 if d.max_abs_difference is not None]
        return max(found) if found else None

    def lines(self) -> list[str]:
        """The report as lines of plain text."""
        head = f"run {self.run_id} ({self.suite}: {self.label})"
        retrained = f"re-trained job {self.job_id} ({self.runs_in_job} runs) in {self.seconds:.1f}s"
        if self.matched:
            lines = [f"{head} reproduced exactly: {self.rows} rows x {len(self.metrics)} "
                     f"metrics identical ({', '.join(IGNORED_METRICS)} ignored); {retrained}"]
        else:
            worst = self.max_abs_difference
            lines = [f"{head} did NOT reproduce: {len(self.differences)} of {len(self.metrics)} "
                     f"metrics differ, max abs difference "
                     f"{'n/a' if worst is None else repr(worst)}; {retrained}"]
            if self.failure:
                lines.append(f"  re-trained run failed: {self.failure}")
            lines += [f"  {difference.describe()}" for difference in self.differences]
        if self.altered:
            lines.append(f"the stored files changed after the run finished: {self.altered}")
        if self.provenance_differences:
            lines.append("differs from the stored run's provenance (stored -> now):")
            lines += [f"  {key}: {_shown(old)} -> {_shown(new)}"
                      for key, (old, new) in self.provenance_differences.items()]
        else:
            lines.append("same recorded versions, package state, git commit, devices and "
                         "XLA settings as the stored run")
        return lines


def _shown(value: Any) -> str:
    """A recorded value as text (`not recorded` for a missing one)."""
    return "not recorded" if value is None else str(value)


def find_run(run_id: str, root: Path, suite: str | None = None) -> tuple[SuitePaths, RunPaths]:
    """The suite and run directories of `run_id` under results root `root`."""
    suites = [SuitePaths(root, suite)] if suite else [
        SuitePaths(root, path.name) for path in sorted(root.glob("*")) if (path / "runs").is_dir()]
    found = [(paths, paths.run(run_id)) for paths in suites if paths.run(run_id).dir.is_dir()]
    if not found:
        where = f"suite {suite!r} under {root}/" if suite else f"{root}/"
        raise ReproduceError(f"no run {run_id!r} in {where}")
    if len(found) > 1:
        names = ", ".join(paths.suite for paths, _ in found)
        raise ReproduceError(f"run {run_id!r} is stored in several suites ({names}): name one")
    return found[0]


def _quiet(event: dict[str, Any]) -> None:
    """A reporter that drops every event."""


def reproduce(run_id: str, root: Path, *, suite: str | None = None, report: Report = _quiet,
              workdir: Path | None = None) -> ReproduceReport:
    """Re-train the job of stored run `run_id` in a temporary directory and compare its metrics."""
    paths, run_paths = find_run(run_id, root, suite)
    stored = RunRecord(run_paths)
    try:
        status = stored.status()
        recorded = stored.metadata()
        stored_tables = _tables(stored, status)
    except DamagedFile as damage:
        raise ReproduceError(f"run {run_id} of suite {paths.suite} is damaged: {damage}") from None
    altered = _altered(stored, status)
    if status["status"] != RunStatus.DONE:
        raise ReproduceError(f"run {run_id} of suite {paths.suite} is not finished "
                             f"(status: {status['status']}); only finished runs "
                             f"can be reproduced")
    job_id = recorded.get("job_id") or status.get("job_id")
    if not job_id:
        raise ReproduceError(f"run {run_id} of suite {paths.suite} has no recorded job id")
    spec_path = paths.job_spec(job_id)
    if not spec_path.is_file():
        raise ReproduceError(f"job spec {spec_path} of run {run_id} is missing")
    job = read_job_spec(spec_path).job
    target = next((run for run in job.runs if run.run_id == run_id), None)
    if target is None:
        raise ReproduceError(f"job spec {spec_path} does not hold run {run_id}")

    start = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="harness-reproduce-", dir=workdir))
    try:
        again_paths = SuitePaths(scratch, paths.suite)
        failed = train_job(job, again_paths, report)
        again = RunRecord(again_paths.run(run_id))
        again_status = again.status()
        failure = again_status.get("reason") if run_id in failed else None
        again_tables = _tables(again, again_status)
        metrics, differences, rows = compare_metrics(stored_tables[0], again_tables[0])
        episode_difference = compare_episodes(stored_tables[1], again_tables[1])
        if episode_difference is not None:
            metrics = (*metrics, EPISODES)
            differences = tuple(sorted((*differences, episode_difference),
                                       key=lambda d: (d.global_step, d.metric)))
        changes = provenance_differences(recorded, again.metadata())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    label = f"{target.exp_name} {target.env_id} seed {target.seed}"
    return ReproduceReport(run_id=run_id, suite=paths.suite, label=label, job_id=job_id,
                           runs_in_job=len(job.runs), rows=rows, metrics=metrics,
                           differences=differences, provenance_differences=changes,
                           failure=failure, altered=altered,
                           seconds=time.perf_counter() - start)


def _tables(record: RunRecord, status: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A run's metric rows and episodes as pandas, as they are on disk now."""
    metrics, episodes = run_tables(record, status, verify=False)
    return metrics.to_pandas(), episodes_as_frame(episodes)


def _altered(record: RunRecord, status: dict[str, Any]) -> str | None:
    """How a finished run's data files differ from what was written, if they do."""
    if status.get("status") != RunStatus.DONE:
        return None
    try:
        record.check_data(status)
    except DamagedFile as damage:
        return str(damage)
    return None


def compare_episodes(stored: pd.DataFrame, reproduced: pd.DataFrame) -> MetricDifference | None:
    """Where two episode tables first differ (kind, step, return, length or how it ended),
    or None when they are identical."""
    shared = min(len(stored), len(reproduced))
    columns = ["kind", GLOBAL_STEP, "episodic_return", "episodic_length", "terminated"]
    old, new = (table[columns].iloc[:shared].reset_index(drop=True)
                for table in (stored, reproduced))
    same = pd.concat([(old[c] == new[c]) | (old[c].isna() & new[c].isna()) for c in columns],
                     axis=1).fillna(False).all(axis=1).to_numpy(bool)
    differing = np.flatnonzero(~same)
    extra = abs(len(stored) - len(reproduced))
    if differing.size == 0 and extra == 0:
        return None
    first = int(differing[0]) if differing.size else shared
    longer = stored if len(stored) > len(reproduced) else reproduced
    step = int((old if differing.size else longer)[GLOBAL_STEP].iloc[first])
    gaps = (old["episodic_return"] - new["episodic_return"]).abs().to_numpy(np.float64)
    return MetricDifference(metric=EPISODES, global_step=step,
                            stored=_return_at(stored, first),
                            reproduced=_return_at(reproduced, first),
                            rows=int(differing.size) + extra,
                            max_abs_difference=float(gaps.max()) if gaps.size else None)


def _return_at(episodes: pd.DataFrame, index: int) -> float:
    """The return of episode `index` (NaN when there are fewer)."""
    return float(episodes["episodic_return"].iloc[index]) if index < len(episodes) \
        else float("nan")


def compare_metrics(stored: pd.DataFrame, reproduced: pd.DataFrame
                    ) -> tuple[tuple[str, ...], tuple[MetricDifference, ...], int]:
    """`(metrics compared, differing metrics, rows)` of two wide metric tables, exactly.

    Rows are matched by `global_step`; a missing row or column counts as absent values.
    Absent (NaN) equals absent.
    """
    tables = [table.drop(columns=[c for c in IGNORED_METRICS if c in table])
              .set_index(GLOBAL_STEP) for table in (stored, reproduced)]
    steps = tables[0].index.union(tables[1].index)
    metrics = tuple(sorted(set(tables[0].columns) | set(tables[1].columns)))
    old, new = (table.reindex(index=steps, columns=list(metrics)).to_numpy(np.float64)
                for table in tables)
    differs = ~((old == new) | (np.isnan(old) & np.isnan(new)))
    found = []
    for j, metric in enumerate(metrics):
        rows = np.flatnonzero(differs[:, j])
        if rows.size == 0:
            continue
        gaps = np.abs(old[rows, j] - new[rows, j])
        gaps = gaps[~np.isnan(gaps)]
        first = rows[0]
        found.append(MetricDifference(
            metric=metric, global_step=int(steps[first]), stored=float(old[first, j]),
            reproduced=float(new[first, j]), rows=int(rows.size),
            max_abs_difference=float(gaps.max()) if gaps.size else None))
    found.sort(key=lambda d: (d.global_step, d.metric))
    return metrics, tuple(found), len(steps)


def provenance_facts(metadata: dict[str, Any]) -> dict[str, Any]:
    """The recorded facts of a run's metadata that can change its numbers, as flat keys."""
    host = metadata.get("provenance") or {}
    devices = metadata.get("devices") or {}
    facts: dict[str, Any] = {"python": host.get("python")}
    facts.update({f"packages.{name}": version
                  for name, version in (host.get("packages") or {}).items()})
    state = host.get("package_state") or {}
    facts["package_state.sha256"] = state.get("sha256")
    facts["package_state.count"] = state.get("count")
    git = host.get("git") or {}
    facts["git.commit"], facts["git.dirty"] = git.get("commit"), git.get("dirty")
    for key in ("backend", "device_kinds", "device_count"):
        facts[f"devices.{key}"] = devices.get(key)
    facts.update({f"environment.{name}": value
                  for name, value in (host.get("environment") or {}).items()
                  if name.startswith(COMPARED_ENVIRONMENT)})
    facts["runs_in_job"] = metadata.get("runs_in_job")
    return facts


def provenance_differences(stored: dict[str, Any], now: dict[str, Any]
                           ) -> dict[str, tuple[Any, Any]]:
    """`key: (stored, now)` for every provenance fact that differs between two metadata."""
    old, new = provenance_facts(stored), provenance_facts(now)
    return {key: (old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key)}

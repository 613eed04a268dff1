"""Resume per run: each run of a job continues from its own checkpoint; adding seeds to a
half-done suite keeps the old seeds' progress; a checkpoint of another layout is refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness import cli
from harness.execute import make_plan
from harness.jobs import Job, plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.suite import load_suite
from harness.training.job import train_job
from tests.conftest import write_suite

SUITE = """
name: resume
algorithms: [{{algo: ppo}}]
environments: [{env}]
seeds: {seeds}
total_timesteps: 20480
"""


def _job(directory: Path, env: str = "CartPole-v1", seeds: int = 2) -> Job:
    suite = load_suite(write_suite(directory, SUITE.format(env=env, seeds=seeds)))
    (job,) = plan_jobs(expand(suite), runs_per_job=8)
    return job


def _stop_after(chunk: int):
    def stop(event: dict) -> None:
        if event["event"] == "progress" and event["chunk"] == chunk:
            raise KeyboardInterrupt

    return stop


def _tables(paths: SuitePaths, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    record = RunRecord(paths.run(run_id))
    metrics, episodes = run_tables(record, record.status())
    return metrics.to_pandas().drop(columns="charts/SPS"), episodes.to_pandas()


def test_runs_of_one_job_resume_each_from_its_own_checkpoint(tmp_path: Path) -> None:
    job = _job(tmp_path)
    reference = SuitePaths(tmp_path / "reference", job.suite)
    assert train_job(job, reference) == []
    paths = SuitePaths(tmp_path / "results", job.suite)
    with pytest.raises(KeyboardInterrupt):
        train_job(job, paths, _stop_after(6))
    first = RunRecord(paths.run(job.runs[1].run_id))
    first.paths.checkpoint.unlink()  # this run lost its checkpoint: it restarts
    shown: list[int] = []

    def watch(event: dict) -> None:
        if event["event"] == "compiled":
            shown.append(RunRecord(paths.run(job.runs[0].run_id)).status()["global_step"])

    assert train_job(job, paths, watch) == []
    assert shown == [6 * 2 * 512], "a resumed run shows its progress before training on"
    resumed = [RunRecord(paths.run(run.run_id)).metadata()["attempts"][-1]["resumes_from_chunk"]
               for run in job.runs]
    assert resumed == [6, 0]
    for run in job.runs:
        for got, want in zip(_tables(paths, run.run_id), _tables(reference, run.run_id),
                             strict=True):
            pd.testing.assert_frame_equal(got, want)


def test_gymnasium_runs_of_one_job_resume_each_from_its_own_checkpoint(tmp_path: Path) -> None:
    job = _job(tmp_path, env="{id: CartPole-v1, backend: gymnasium}")
    paths = SuitePaths(tmp_path / "results", job.suite)
    with pytest.raises(KeyboardInterrupt):
        train_job(job, paths, _stop_after(6))
    RunRecord(paths.run(job.runs[0].run_id)).paths.checkpoint.unlink()
    assert train_job(job, paths) == []
    for run, resumed in zip(job.runs, (0, 6), strict=True):
        metadata = RunRecord(paths.run(run.run_id)).metadata()
        assert metadata["attempts"][-1]["resumes_from_chunk"] == resumed
        metrics, episodes = _tables(paths, run.run_id)
        assert list(metrics["global_step"]) == [512 * (i + 1) for i in range(40)]
        assert episodes["global_step"].is_monotonic_increasing and len(episodes) > 50


@pytest.mark.slow
def test_adding_seeds_to_a_half_done_suite_keeps_the_old_seeds_progress(tmp_path: Path) -> None:
    job = _job(tmp_path)
    root = tmp_path / "results"
    with pytest.raises(KeyboardInterrupt):
        train_job(job, SuitePaths(root, job.suite), _stop_after(5))
    bigger = write_suite(tmp_path, SUITE.format(env="CartPole-v1", seeds=4), "bigger.yaml")
    plan = make_plan(load_suite(bigger), root)
    assert sorted(len(j.runs) for j in plan.jobs) == [2, 2], "runs grouped by progress"
    assert cli.main(["run", str(bigger), "--results-dir", str(root)]) == 0
    for run in expand(load_suite(bigger)):
        attempts = RunRecord(SuitePaths(root, "resume").run(run.run_id)).metadata()["attempts"]
        assert attempts[-1]["resumes_from_chunk"] == (5 if run.seed < 2 else 0), run.seed


def test_a_checkpoint_of_another_layout_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    job = _job(tmp_path, seeds=1)
    paths = SuitePaths(tmp_path / "results", job.suite)
    with pytest.raises(KeyboardInterrupt):
        train_job(job, paths, _stop_after(2))
    again = Job(job.suite, job.runs, max_rows=10)
    assert train_job(again, paths) == [job.runs[0].run_id]
    status = RunRecord(paths.run(job.runs[0].run_id)).status()
    assert status["status"] == "failed" and status["retryable"] is False
    assert "checkpoint.npz cannot resume this run" in status["reason"]
    assert "chunk layout" in status["reason"] and "move" in status["reason"]

"""The job loop: deterministic, resumable per chunk, per-run traced values, NaN fails a run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.jobs import Job, plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.suite import load_suite
from harness.training.job import job_layout, train_job
from tests.conftest import write_suite

SUITE = """
name: train
algorithms:
  - algo: ppo
  - algo: ppo
    exp_name: fast
    hyperparameters: {learning_rate: 1.0e-3}
environments: [CartPole-v1]
seeds: [0, 1]
total_timesteps: 20480
"""


def _tables(paths: SuitePaths, run_id: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    record = RunRecord(paths.run(run_id))
    metrics, episodes = run_tables(record, record.status())
    return metrics.to_pandas().drop(columns=["charts/SPS"]), episodes.to_pandas()


def _metrics(paths: SuitePaths, run_id: str) -> pd.DataFrame:
    return _tables(paths, run_id)[0]


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Job:
    suite = load_suite(write_suite(tmp_path_factory.mktemp("suite"), SUITE))
    (only,) = plan_jobs(expand(suite), runs_per_job=8)
    return only


@pytest.fixture(scope="module")
def reference(job: Job, tmp_path_factory: pytest.TempPathFactory) -> SuitePaths:
    paths = SuitePaths(tmp_path_factory.mktemp("reference"), job.suite)
    assert train_job(job, paths) == []
    return paths


def test_same_seed_gives_identical_metrics_twice(job: Job, reference: SuitePaths,
                                                 tmp_path: Path) -> None:
    again = SuitePaths(tmp_path, job.suite)
    assert train_job(job, again) == []
    for run in job.runs:
        first, second = _tables(reference, run.run_id), _tables(again, run.run_id)
        assert len(first[0]) == run.num_updates == 40
        pd.testing.assert_frame_equal(first[0], second[0])
        pd.testing.assert_frame_equal(first[1], second[1])


def test_each_run_has_its_own_key_and_learning_rate(job: Job, reference: SuitePaths) -> None:
    by_name = {(r.exp_name, r.seed): _tables(reference, r.run_id) for r in job.runs}
    lr = {name: tables[0]["charts/learning_rate"].iloc[0] for name, tables in by_name.items()}
    assert lr[("ppo", 0)] == pytest.approx(2.5e-4) and lr[("fast", 0)] == pytest.approx(1e-3)
    returns = {name: tables[1]["episodic_return"].to_numpy() for name, tables in by_name.items()}
    assert not np.array_equal(returns[("ppo", 0)], returns[("ppo", 1)])


def test_metric_rows_and_episodes_have_steps_names_and_real_episodes(
        job: Job, reference: SuitePaths) -> None:
    frame, episodes = _tables(reference, job.runs[0].run_id)
    assert list(frame["global_step"]) == [512 * (i + 1) for i in range(40)]
    for name in ("charts/learning_rate", "losses/value_loss", "losses/policy_loss",
                 "losses/entropy", "losses/approx_kl", "losses/old_approx_kl", "losses/clipfrac",
                 "losses/explained_variance"):
        assert name in frame.columns, name
    assert "charts/episodic_return" not in frame.columns, "episodes have their own table"
    assert list(episodes.columns) == ["kind", "global_step", "episodic_return",
                                      "episodic_length", "terminated"]
    assert set(episodes["kind"]) == {"train"} and len(episodes) > 100
    assert (episodes["episodic_return"] > 0).all()
    # CartPole pays 1 per step: return == length
    np.testing.assert_array_equal(episodes["episodic_return"],
                                  episodes["episodic_length"].astype(float))
    assert episodes["global_step"].is_monotonic_increasing
    assert (episodes["global_step"] % 4 == 0).all(), "every copy has stepped (4 envs)"
    assert episodes["global_step"].max() <= 20480
    truncated = episodes[~episodes["terminated"]]
    assert (truncated["episodic_length"] == 500).all(), "only the time limit truncates"
    metadata = RunRecord(reference.run(job.runs[0].run_id)).metadata()
    assert metadata["compile_seconds"] > 0 and metadata["train_seconds"] > 0
    assert metadata["provenance"]["packages"]["jax"]
    assert metadata["devices"]["backend"] == "cpu"


class _Crash(Exception):
    pass


def test_interrupted_job_resumes_from_checkpoint_with_identical_metrics(
        job: Job, reference: SuitePaths, tmp_path: Path) -> None:
    paths = SuitePaths(tmp_path, job.suite)

    def crash_after_third_chunk(event: dict) -> None:
        if event["event"] == "progress" and event["chunk"] == 3:
            raise _Crash

    with pytest.raises(_Crash):
        train_job(job, paths, crash_after_third_chunk)
    for run in job.runs:
        record = RunRecord(paths.run(run.run_id))
        assert record.status()["status"] == "failed" and not record.is_done()
        assert record.status()["reason"] == "_Crash"
        assert record.checkpoint().chunks_done == 3
    assert train_job(job, paths) == []
    for run in job.runs:
        metadata = RunRecord(paths.run(run.run_id)).metadata()
        assert metadata["resumed_from_chunk"] == 3
        assert [a["resumes_from_chunk"] for a in metadata["attempts"]] == [0, 3]
        for resumed, clean in zip(_tables(paths, run.run_id), _tables(reference, run.run_id),
                                  strict=True):
            pd.testing.assert_frame_equal(resumed, clean)


def test_done_runs_are_not_trained_again(job: Job, reference: SuitePaths) -> None:
    events: list[dict] = []
    assert train_job(job, reference, events.append) == []
    assert events == []


def test_non_finite_loss_fails_only_that_run(tmp_path: Path) -> None:
    text = SUITE.replace("1.0e-3", "1.0e+30").replace("total_timesteps: 20480",
                                                      "total_timesteps: 4096")
    suite = load_suite(write_suite(tmp_path, text))
    (job,) = plan_jobs(expand(suite), runs_per_job=8)
    paths = SuitePaths(tmp_path / "results", job.suite)
    failed = train_job(job, paths)
    exploded = {r.run_id for r in job.runs if r.exp_name == "fast"}
    assert set(failed) == exploded
    for run in job.runs:
        status = RunRecord(paths.run(run.run_id)).status()
        if run.run_id in exploded:
            assert status["status"] == "failed"
            assert status["reason"].startswith("non-finite training state")
        else:
            assert status["status"] == "done"


def test_each_chunk_is_stored_while_the_next_one_computes(
        job: Job, reference: SuitePaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.store.writer import RunWriter
    from harness.training.program import GymnaxProgram

    order: list[tuple[str, int]] = []
    start_chunk, write_chunk = GymnaxProgram.start_chunk, RunWriter.write_chunk

    def starting(self: GymnaxProgram, state: object, hp: object, chunks: np.ndarray) -> object:
        order.append(("start", int(chunks.min())))
        return start_chunk(self, state, hp, chunks)

    def writing(self: RunWriter, chunk: int, *args: object, **kwargs: object) -> None:
        if ("write", chunk) not in order:
            order.append(("write", chunk))
        write_chunk(self, chunk, *args, **kwargs)

    monkeypatch.setattr(GymnaxProgram, "start_chunk", starting)
    monkeypatch.setattr(RunWriter, "write_chunk", writing)
    paths = SuitePaths(tmp_path, job.suite)
    assert train_job(job, paths) == []
    chunks = job_layout(job.runs[0]).num_chunks
    assert chunks > 2
    assert order == [("start", 0)] + [event for k in range(chunks) for event in
                                      ([("start", k + 1)] if k + 1 < chunks else [])
                                      + [("write", k)]]
    for run in job.runs:
        pd.testing.assert_frame_equal(_metrics(paths, run.run_id),
                                      _metrics(reference, run.run_id))

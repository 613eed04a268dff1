"""Runs on the Gymnasium backend store the same metrics as gymnax runs and resume after a crash."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness import results
from harness.jobs import plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.suite import load_suite
from harness.training.job import train_job
from tests.conftest import write_suite

SUITE = """
name: host
algorithms: [{algo: ppo, hyperparameters: {num_steps: 32}}]
environments: [{id: CartPole-v1, backend: gymnasium}]
seeds: 2
total_timesteps: 5120
evaluation: {every: 2560, episodes: 2}
"""


class _Crash(Exception):
    pass


@pytest.mark.slow
def test_gymnasium_run_stores_gymnax_metrics_and_resumes_after_a_crash(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, SUITE))
    runs = expand(suite)
    assert {run.backend for run in runs} == {"gymnasium"}
    (job,) = plan_jobs(runs, runs_per_job=8)
    paths = SuitePaths(tmp_path / "results", suite.name)

    def crash_after_first_chunk(event: dict) -> None:
        if event["event"] == "progress" and event["chunk"] == 1:
            raise _Crash

    with pytest.raises(_Crash):
        train_job(job, paths, crash_after_first_chunk)
    assert train_job(job, paths) == []
    for run in job.runs:
        assert RunRecord(paths.run(run.run_id)).metadata()["resumed_from_chunk"] == 1

    root = tmp_path / "results"
    updates = results.load(suite.name, root=root, wide=True, metrics="losses/value_loss")
    for _, rows in updates.groupby("run_id"):
        assert list(rows["global_step"]) == [128 * (i + 1) for i in range(40)]
    evaluated = results.episodes(suite.name, root=root, kind="eval")
    assert list(evaluated["global_step"].unique()) == [2560, 5120]
    assert evaluated.groupby(["run_id", "global_step"]).size().eq(2).all()
    assert evaluated["episodic_return"].between(8, 500).all()
    trained = results.episodes(suite.name, root=root, kind="train")
    assert len(trained) > 0 and trained["episodic_return"].between(8, 500).all()
    pd.testing.assert_series_equal(trained["episodic_return"],
                                   trained["episodic_length"].astype(float), check_names=False)
    wide = results.load(suite.name, root=root, wide=True)
    gymnax_metrics = {"global_step", "charts/episodic_return", "charts/episodic_length",
                      "charts/SPS", "charts/learning_rate", "losses/value_loss",
                      "losses/policy_loss", "losses/entropy", "losses/approx_kl",
                      "losses/old_approx_kl", "losses/clipfrac", "losses/explained_variance",
                      "eval/episodic_return", "eval/episodic_length"}
    assert gymnax_metrics <= set(wide.columns)

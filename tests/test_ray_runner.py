"""The ray engine trains each job once in a Ray task; without Ray it says how to install it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness import cli, results
from harness.store import RunRecord
from harness.suite.runner_settings import RaySettings
from runners.base import RunnerSetupError
from runners.ray import RayRunner
from tests.conftest import write_suite

TWO_JOBS = """
name: rayed
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 2
runs_per_job: 1
total_timesteps: 4096
runner: {engine: ray}
"""


def test_missing_ray_is_a_setup_error_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(RunnerSetupError, match=r"pip install 'rl-harness\[ray\]'"):
        RayRunner(RaySettings())


@pytest.mark.slow
def test_each_job_runs_once_in_a_ray_task_on_a_local_instance(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    suite = write_suite(tmp_path, TWO_JOBS)
    root = tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    paths = results.suite_paths("rayed", root)
    run_ids = list(results.runs("rayed", root=root)["run_id"])
    metadata = [RunRecord(paths.run(run_id)).metadata() for run_id in run_ids]
    assert [m["attempt"] for m in metadata] == [1, 1]
    assert len({m["job_id"] for m in metadata}) == 2
    environments = [m["provenance"]["environment"] for m in metadata]
    assert all("RAY_RAYLET_PID" in env for env in environments)  # started under Ray's raylet
    assert [env["CUDA_VISIBLE_DEVICES"] for env in environments] == ["", ""]  # no GPU asked for
    assert set(results.load("rayed", root=root)["run_id"]) == set(run_ids)
    assert len(list(paths.jobs_dir.glob("*.log"))) == 2
    assert not ray.is_initialized()

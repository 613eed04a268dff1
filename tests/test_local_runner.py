"""The local runner records every failure as data and never lets one job stop the others."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness import cli, results
from harness.jobs import plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.suite import load_suite
from harness.training.program import GymnaxProgram
from runners import worker
from runners.local import default_workers
from runners.protocol import write_job_spec
from tests.conftest import live_runs, start_suite, write_suite

TWO_JOBS = """
name: two
algorithms: [{algo: ppo}]
environments: [CartPole-v1, Acrobot-v1]
seeds: 1
total_timesteps: 102400
"""


def _status(root: Path, env_id: str) -> dict:
    table = results.runs("two", root=root, env_id=env_id)
    (run_id,) = table["run_id"]
    return RunRecord(results.suite_paths("two", root).run(run_id)).status()


def test_default_workers_use_cores_but_not_more_than_jobs() -> None:
    assert default_workers(1) == 1
    assert default_workers(1000) == os.cpu_count()


def _kill_a_worker_part_way(root: Path) -> None:
    """SIGKILL the worker training Acrobot-v1 once it has stored a chunk."""
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, "no Acrobot-v1 run got past its first chunk"
        for config, state in live_runs(root, "two"):
            if config["env_id"] == "Acrobot-v1" and state["status"] == "running" \
                    and state["chunks_done"] >= 1:
                os.kill(state["pid"], signal.SIGKILL)
                return
        time.sleep(0.02)


def _assert_every_step_once(root: Path) -> None:
    wide = results.load("two", root=root, wide=True, metrics="losses/value_loss")
    for run_id, rows in wide.groupby("run_id"):
        assert list(rows["global_step"]) == [512 * (i + 1) for i in range(200)], run_id


ENGINES = {"local": ("--workers", "2"), "devices": ("--runner", "devices", "--devices", "0,1")}


@pytest.mark.slow
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_killed_worker_is_retried_and_resumes_from_its_checkpoint(tmp_path: Path,
                                                                  engine: str) -> None:
    suite = write_suite(tmp_path, TWO_JOBS)
    root = tmp_path / "results"
    process = start_suite(suite, root, *ENGINES[engine], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    _kill_a_worker_part_way(root)
    assert process.wait(timeout=300) == 0, process.stderr.read()[-2000:]
    assert "retrying 1 failed run" in process.stderr.read()

    table = results.runs("two", root=root)
    assert set(table["status"]) == {"done"}
    killed = table.set_index("env_id").loc["Acrobot-v1"]
    metadata = RunRecord(results.suite_paths("two", root).run(killed["run_id"])).metadata()
    assert [f["reason"] for f in metadata["failures"]] == ["worker killed by SIGKILL"]
    assert metadata["resumed_from_chunk"] >= 1
    _assert_every_step_once(root)


@pytest.mark.slow
def test_run_out_of_retries_stays_failed_until_asked_to_retry(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, TWO_JOBS)
    root = tmp_path / "results"
    process = start_suite(suite, root, "--workers", "2", "--retries", "0",
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _kill_a_worker_part_way(root)
    assert process.wait(timeout=120) == 1
    assert "failed" in process.stderr.read()
    killed = _status(root, "Acrobot-v1")
    assert killed["status"] == "failed" and killed["reason"] == "worker killed by SIGKILL"
    assert (killed["failures"], killed["retryable"]) == (1, True)
    assert _status(root, "CartPole-v1")["status"] == "done"

    assert cli.main(["run", str(suite), "--results-dir", str(root), "--retries", "0"]) == 1
    assert _status(root, "Acrobot-v1")["status"] == "failed"
    assert cli.main(["run", str(suite), "--results-dir", str(root), "--retry-failed"]) == 0
    assert set(results.runs("two", root=root)["status"]) == {"done"}
    _assert_every_step_once(root)


def test_exception_in_a_worker_is_recorded_on_each_unfinished_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = load_suite(write_suite(tmp_path, TWO_JOBS.replace("102400", "2048")))
    job = plan_jobs(expand(suite), runs_per_job=8)[0]
    paths = SuitePaths(tmp_path / "results", suite.name)
    spec = write_job_spec(job, paths)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("device lost\nsecond line")

    monkeypatch.setattr(GymnaxProgram, "start_chunk", explode)
    assert worker.main([str(spec)]) == 1
    for run in job.runs:
        state = RunRecord(paths.run(run.run_id)).status()
        assert state["status"] == "failed"
        assert state["reason"] == "RuntimeError: device lost"
        assert state["failures"] == 1

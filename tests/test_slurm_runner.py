"""The slurm engine against a real single-node Slurm with four fake GPUs (.ci/slurm-cluster)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from itertools import combinations
from pathlib import Path

import pytest

from harness import cli, results
from harness.store import RunRecord
from runners.slurm import split
from tests.conftest import live_runs, start_suite, write_suite
from tests.slurm_cluster import SlurmCluster, slurm_cluster  # noqa: F401 - a fixture

FIVE_JOBS = """
name: array
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 5
runs_per_job: 1
total_timesteps: 4096
runner:
  engine: slurm
  slurm: {gpus_per_task: 1, array_parallelism: 2, cpus_per_task: 1, time_min: 10}
"""

REQUEUED = """
name: requeued
algorithms: [{algo: ppo}]
environments: [{id: CartPole-v1, backend: gymnasium}]
seeds: 2
runs_per_job: 1
total_timesteps: 40960
runner:
  engine: slurm
  slurm: {jobs_per_task: 2, cpus_per_task: 1, time_min: 10}
"""


def _metadata(root: Path, suite: str) -> list[dict]:
    paths = results.suite_paths(suite, root)
    return [RunRecord(paths.run(run_id)).metadata()
            for run_id in results.runs(suite, root=root)["run_id"]]


def _interval(metadata: dict) -> tuple[float, float]:
    return (datetime.fromisoformat(metadata["started_at"]).timestamp(),
            datetime.fromisoformat(metadata["finished_at"]).timestamp())


def test_split_keeps_order_and_bounds_group_size() -> None:
    assert split(list(range(9)), 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8]]


@pytest.mark.slow
def test_array_larger_than_max_array_size_is_split_throttled_and_pinned_to_gpus(
        tmp_path: Path, slurm_cluster: SlurmCluster) -> None:  # noqa: F811
    assert slurm_cluster.max_array_size < 5, "the test needs an array above MaxArraySize"
    suite = write_suite(tmp_path, FIVE_JOBS)
    root = tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0

    metadata = _metadata(root, "array")
    assert len(metadata) == 5 and set(results.runs("array", root=root)["status"]) == {"done"}
    assert [m["attempt"] for m in metadata] == [1] * 5
    environments = [m["provenance"]["environment"] for m in metadata]
    submissions = {env.get("SLURM_ARRAY_JOB_ID", env["SLURM_JOB_ID"]) for env in environments}
    assert len(submissions) == 2, "five tasks are split in two submissions below MaxArraySize 4"
    intervals = [_interval(m) for m in metadata]
    for (a, env_a), (b, env_b) in combinations(zip(intervals, environments, strict=True), 2):
        if a[0] < b[1] and b[0] < a[1]:
            assert env_a["CUDA_VISIBLE_DEVICES"] != env_b["CUDA_VISIBLE_DEVICES"]
    for start, _ in intervals:
        running = sum(s <= start < e for s, e in intervals)
        assert running <= 2, "array_parallelism 2 was not honoured"
    assert all(m["queue_seconds"] >= 0 for m in metadata)
    assert list((root / "array" / "slurm").glob("*/*.out"))


@pytest.mark.slow
def test_interrupted_task_is_requeued_resumes_and_a_new_harness_run_follows_it(
        tmp_path: Path, slurm_cluster: SlurmCluster) -> None:  # noqa: F811
    suite = write_suite(tmp_path, REQUEUED)
    root = tmp_path / "results"
    driver = start_suite(suite, root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 300
    while not any(state.get("chunks_done", 0) >= 2 for _, state in live_runs(root, "requeued")):
        assert driver.poll() is None, driver.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "no run reached its second chunk"
        time.sleep(0.2)
    driver.kill()
    driver.wait()
    ledger = results.suite_paths("requeued", root).slurm_ledger
    (slurm_id,) = set(json.loads(ledger.read_text()).values())
    subprocess.run(["scancel", "--signal=USR2", slurm_id], check=True)
    interrupted = time.time()

    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert set(json.loads(ledger.read_text()).values()) == {slurm_id}, "submitted again"
    metadata = _metadata(root, "requeued")
    resumed = [m for m in metadata if m["provenance"]["environment"].get("SLURM_RESTART_COUNT")
               == "1" and m.get("resumed_from_chunk", 0) >= 2]
    assert resumed, "no run resumed from its checkpoint after the requeue"
    requeue_seconds = datetime.fromisoformat(resumed[0]["started_at"]).timestamp() - interrupted
    print(f"requeue and resume took {requeue_seconds:.0f}s")
    wide = results.load("requeued", root=root, wide=True, metrics="losses/value_loss")
    for run_id, rows in wide.groupby("run_id"):
        assert list(rows["global_step"]) == [512 * (i + 1) for i in range(80)], run_id

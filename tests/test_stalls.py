"""Workers that stop: a hung worker is stopped by its runner and its run retried; the lease of a
killed worker on another host is taken over once its heartbeat is older than its timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import results
from harness.store import RunRecord, SuitePaths
from tests.conftest import live_runs, start_suite, write_suite

SUITE = """
name: stall
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 1
total_timesteps: 20480
runner: {stall_timeout: 20}
"""


def _steps_once(root: Path) -> None:
    wide = results.load("stall", root=root, wide=True, metrics="losses/value_loss")
    assert list(wide["global_step"]) == [512 * (i + 1) for i in range(40)]


@pytest.mark.slow
def test_a_hung_worker_is_stopped_recorded_as_stalled_and_retried(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, SUITE)
    root = tmp_path / "results"
    marker = tmp_path / "hung-once"
    env = {**os.environ, "HARNESS_TEST_HANG_AFTER_CHUNK": "2",
           "HARNESS_TEST_HANG_MARKER": str(marker)}
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite),
                           "--results-dir", str(root)], env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert marker.exists(), "the first worker hung"
    assert "stalled" in done.stderr and "retrying 1 failed run" in done.stderr
    (run_id,) = results.runs("stall", root=root)["run_id"]
    metadata = RunRecord(SuitePaths(root, "stall").run(run_id)).metadata()
    (failure,) = metadata["failures"]
    assert failure["reason"].startswith("stalled: no chunk stored for")
    assert [a["resumes_from_chunk"] for a in metadata["attempts"]] == [0, 2]
    _steps_once(root)


@pytest.mark.slow
def test_a_killed_workers_lease_from_another_host_is_taken_over_after_its_timeout(
        tmp_path: Path) -> None:
    suite = write_suite(tmp_path, SUITE.replace("stall_timeout: 20", "stall_timeout: 8"))
    root = tmp_path / "results"
    first = start_suite(suite, root, "--workers", "1", start_new_session=True,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not any(state["status"] == "running" and state["chunks_done"] >= 2
                  for _, state in live_runs(root, "stall")):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    (run_paths,) = SuitePaths(root, "stall").runs()
    lease_file = max(run_paths.leases_dir.iterdir())
    lease = json.loads(lease_file.read_text())
    # The worker's node died: its lease names a host this machine cannot check.
    lease_file.write_text(json.dumps({**lease, "host": "node-that-died",
                                      "heartbeat_at": time.time()}))

    started = time.monotonic()
    again = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(suite),
                            "--results-dir", str(root)], capture_output=True, text=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "being trained by other processes" in again.stdout
    assert time.monotonic() - started >= lease["timeout_seconds"], "waited for the timeout"
    attempts = RunRecord(run_paths).metadata()["attempts"]
    assert attempts[-1]["took_over"]["host"] == "node-that-died"
    assert attempts[-1]["took_over"]["state"] == "stale"
    assert attempts[-1]["resumes_from_chunk"] >= 2
    _steps_once(root)

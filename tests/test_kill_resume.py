"""SIGKILL a suite part-way, rerun it: every run completes once, no duplicate or missing rows."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from harness import cli, results
from harness.store import RunRecord
from tests.conftest import live_runs, start_suite, write_suite

SUITE = """
name: killed
algorithms: [{algo: ppo}]
environments: [CartPole-v1, Acrobot-v1]
seeds: 2
total_timesteps: 102400
runs_per_job: 1
"""


@pytest.mark.slow
def test_rerun_after_sigkill_completes_every_run_once(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    suite = write_suite(tmp_path, SUITE)
    root = tmp_path / "results"
    process = start_suite(suite, root, start_new_session=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not any(state["status"] == "running" and state["chunks_done"] >= 3
                  for _, state in live_runs(root, "killed")):
        assert process.poll() is None, "the suite ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    statuses = [RunRecord(p).status()["status"] for p in results.suite_paths("killed", root).runs()]
    assert "running" in statuses, "some run was caught part-way"
    assert statuses.count("done") < 4
    assert cli.main(["status", str(suite), "--results-dir", str(root)]) == 0
    assert "interrupted runs resume from their last chunk" in capsys.readouterr().out

    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    table = results.runs("killed", root=root)
    assert len(table) == 4 and set(table["status"]) == {"done"}
    updates = results.load("killed", root=root, wide=True, metrics="losses/value_loss")
    for run_id, rows in updates.groupby("run_id"):
        steps = list(rows["global_step"])
        assert steps == [512 * (i + 1) for i in range(200)], run_id

    reference = tmp_path / "reference"
    assert cli.main(["run", str(suite), "--results-dir", str(reference)]) == 0
    wide = results.load("killed", root=root, wide=True).drop(columns="charts/SPS")
    clean = results.load("killed", root=reference, wide=True).drop(columns="charts/SPS")
    pd.testing.assert_frame_equal(wide, clean)
    pd.testing.assert_frame_equal(results.episodes("killed", root=root),
                                  results.episodes("killed", root=reference))

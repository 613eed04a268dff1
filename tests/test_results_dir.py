"""A results directory that cannot be written is one line and exit 2; `plan` counts runs that
failed for good as failed."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from harness import cli
from harness.execute import make_plan
from harness.store import SuitePaths
from harness.store.lease import acquire
from harness.store.writer import RunWriter
from harness.suite import load_suite
from tests.conftest import write_suite

SUITE = """
name: where
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 3
total_timesteps: 1024
"""


def test_a_results_dir_that_is_a_file_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = write_suite(tmp_path, SUITE)
    blocker = tmp_path / "results"
    blocker.write_text("not a directory")
    assert cli.main(["run", str(suite), "--results-dir", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write results under" in err and str(blocker) in err
    assert blocker.read_text() == "not a directory"


def test_a_read_only_results_dir_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = write_suite(tmp_path, SUITE)

    def read_only(*args: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("harness.execute.write_tracking", read_only)
    assert cli.main(["run", str(suite), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err


def test_plan_counts_runs_that_failed_for_good_as_failed(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    suite = write_suite(tmp_path, SUITE)
    root = tmp_path / "results"
    plan = make_plan(load_suite(suite), root)
    paths = SuitePaths(root, "where")
    for run in plan.runs[:2]:
        writer = RunWriter(paths.run(run.run_id), acquire(paths.run(run.run_id)))
        writer.write_config(run.config, run.suite)
        writer.fail("diverged", retryable=False)
    assert cli.main(["plan", str(suite), "--results-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert "3 runs: 1 pending, 2 failed; 1 to train in 1 jobs" in out

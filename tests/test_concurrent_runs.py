"""Many `harness run`s on one results directory: every run is trained exactly once, nothing
fails, and no metric row or episode is missing or duplicated."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness import results
from harness.store import RunRecord, SuitePaths
from tests.conftest import write_suite

SUITE = """
name: {name}
algorithms: [{{algo: ppo}}]
environments: [CartPole-v1, Acrobot-v1]
seeds: 2
total_timesteps: 10240
runs_per_job: 1
"""
STEPS = [512 * (i + 1) for i in range(20)]


def _start(suite: Path, root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(suite),
                             "--results-dir", str(root), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _tables(root: Path, suite: str) -> tuple:
    """Every run's metric rows (SPS aside) and episodes, by config rather than run id."""
    metrics = results.load(suite, root=root).astype({"metric": "str"})
    metrics = metrics[metrics["metric"] != "charts/SPS"]
    episodes = results.episodes(suite, root=root)
    key = ["env_id", "seed"]
    return (metrics.drop(columns=["run_id", "suite"]).sort_values([*key, "global_step", "metric"],
                                                                 ignore_index=True),
            episodes.drop(columns=["run_id", "suite"]).reset_index(drop=True))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The suite trained by one `harness run` alone."""
    directory = tmp_path_factory.mktemp("alone")
    suite = write_suite(directory, SUITE.format(name="alone"))
    process = _start(suite, directory / "results")
    assert process.wait(timeout=600) == 0
    return _tables(directory / "results", "alone")


def _assert_all_succeeded(processes: list[subprocess.Popen], outputs: list[str]) -> None:
    failed = [output[-3000:] for process, output in zip(processes, outputs, strict=True)
              if process.returncode != 0]
    assert not failed, "\n---\n".join(failed)


def _assert_trained_once(root: Path, suite: str, reference: tuple) -> None:
    table = results.runs(suite, root=root)
    assert len(table) == 4 and set(table["status"]) == {"done"}
    paths = SuitePaths(root, suite)
    for run_id in table["run_id"]:
        metadata = RunRecord(paths.run(run_id)).metadata()
        assert metadata["attempt"] == 1 and not metadata.get("failures"), run_id
        assert [a["took_over"] for a in metadata["attempts"]] == [None], "never taken over"
    wide = results.load(suite, root=root, wide=True, metrics="losses/value_loss")
    for run_id, rows in wide.groupby("run_id"):
        assert list(rows["global_step"]) == STEPS, run_id
    metrics, episodes = _tables(root, suite)
    pd.testing.assert_frame_equal(metrics, reference[0])
    pd.testing.assert_frame_equal(episodes, reference[1])


@pytest.mark.slow
def test_eight_runs_of_one_suite_at_once_train_every_run_exactly_once(
        tmp_path: Path, reference: tuple) -> None:
    suite = write_suite(tmp_path, SUITE.format(name="crowd"))
    root = tmp_path / "results"
    processes = [_start(suite, root) for _ in range(8)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    _assert_all_succeeded(processes, outputs)
    _assert_trained_once(root, "crowd", reference)


@pytest.mark.slow
def test_two_suites_share_one_results_directory_at_once(tmp_path: Path,
                                                        reference: tuple) -> None:
    root = tmp_path / "results"
    suites = [write_suite(tmp_path, SUITE.format(name=name), f"{name}.yaml")
              for name in ("left", "right")]
    processes = [_start(suite, root) for suite in suites for _ in range(2)]
    outputs = [process.communicate(timeout=600)[0] for process in processes]
    _assert_all_succeeded(processes, outputs)
    for name in ("left", "right"):
        _assert_trained_once(root, name, reference)

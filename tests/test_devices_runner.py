"""The devices engine pins each worker to its own accelerator with CUDA_VISIBLE_DEVICES."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli, results
from harness.store import RunRecord
from runners.base import RunnerSetupError
from runners.devices import detect_devices, device_runner, device_slots
from tests.conftest import write_suite

THREE_JOBS = """
name: gpus
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 3
runs_per_job: 1
total_timesteps: 4096
runner: {engine: devices, devices: [0, 1, 2]}
"""


def test_slots_spread_jobs_over_devices_before_sharing_one() -> None:
    slots = device_slots(["0", "1"], jobs_per_device=2)
    assert [slot.env["CUDA_VISIBLE_DEVICES"] for slot in slots] == ["0", "1", "0", "1"]
    assert {slot.env["XLA_PYTHON_CLIENT_MEM_FRACTION"] for slot in slots} == {"0.450"}
    assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in device_slots(["0"], 1)[0].env


def test_devices_are_detected_from_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    assert detect_devices() == ["2", "5"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(RunnerSetupError, match="no accelerator found"):
        device_runner(None, 1)


def test_devices_engine_without_devices_is_a_one_line_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    suite = write_suite(tmp_path, THREE_JOBS.replace("devices: [0, 1, 2]", "jobs_per_device: 1"))
    assert cli.main(["run", str(suite), "--results-dir", str(tmp_path / "results")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_each_worker_sees_its_own_device_and_every_job_runs_once(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, THREE_JOBS)
    root = tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    paths = results.suite_paths("gpus", root)
    metadata = [RunRecord(paths.run(run_id)).metadata()
                for run_id in results.runs("gpus", root=root)["run_id"]]
    seen = sorted(m["provenance"]["environment"]["CUDA_VISIBLE_DEVICES"] for m in metadata)
    assert seen == ["0", "1", "2"]
    assert [m["attempt"] for m in metadata] == [1, 1, 1]
    assert len({m["job_id"] for m in metadata}) == 3
    assert len(list(paths.jobs_dir.glob("*.log"))) == 3

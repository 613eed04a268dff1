"""The run record: a run is done only after every row is stored; writes are atomic."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.store import RunRecord, RunStatus, SuitePaths
from harness.store.atomic import write_json
from harness.store.record import is_interrupted


def _rows(first_step: int) -> pd.DataFrame:
    return pd.DataFrame({"global_step": [first_step, first_step + 1],
                         "charts/episodic_return": [1.0, np.nan]})


@pytest.fixture
def record(tmp_path: Path) -> RunRecord:
    return RunRecord(SuitePaths(tmp_path, "suite").run("abc123"))


def test_new_run_is_pending(record: RunRecord) -> None:
    assert record.status() == {"status": "pending"}
    assert not record.is_done()
    assert record.read_metrics().empty


def test_run_is_done_only_after_finish_and_then_has_every_row(record: RunRecord) -> None:
    record.set_status(RunStatus.RUNNING)
    record.write_chunk(0, _rows(0))
    record.write_chunk(1, _rows(2))
    record.save_checkpoint(2, [np.arange(3)])
    assert not record.is_done()
    assert list(record.read_metrics()["global_step"]) == [0, 1, 2, 3]
    record.finish(num_chunks=2)
    assert record.is_done()
    assert list(record.read_metrics()["global_step"]) == [0, 1, 2, 3]
    assert not record.paths.chunks_dir.exists() and not record.paths.checkpoint.exists()


def test_rewriting_a_chunk_replaces_it(record: RunRecord) -> None:
    record.write_chunk(0, _rows(0))
    record.write_chunk(0, _rows(0))
    record.finish(num_chunks=1)
    assert len(record.read_metrics()) == 2


def test_checkpoint_round_trip_keeps_arrays_and_order(record: RunRecord) -> None:
    leaves = [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([7, 9], dtype=np.uint32)]
    record.save_checkpoint(5, leaves)
    chunks_done, loaded = record.load_checkpoint()
    assert chunks_done == 5
    assert [leaf.dtype for leaf in loaded] == [np.float32, np.uint32]
    for got, want in zip(loaded, leaves, strict=True):
        np.testing.assert_array_equal(got, want)


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_json(target, {"status": "running"})
    with pytest.raises(ValueError):
        write_json(target, {"status": float("nan")})
    assert target.read_text().strip().startswith("{")
    assert "running" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]


def test_config_is_written_once(record: RunRecord) -> None:
    record.write_config({"seed": 1}, suite="suite")
    record.write_config({"seed": 2}, suite="suite")
    assert record.config() == {"suite": "suite", "run_id": "abc123", "seed": 1}


def test_a_running_status_whose_local_worker_is_gone_is_interrupted() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    here = {"status": "running", "host": socket.gethostname()}
    assert is_interrupted({**here, "pid": gone.pid})
    assert not is_interrupted({**here, "pid": os.getpid()})
    assert not is_interrupted({**here, "pid": gone.pid, "host": "another-node"})
    assert not is_interrupted({**here, "pid": gone.pid, "status": "done"})

"""The run record: a run is done only after every row is stored; writes are atomic and
created with the user's umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from harness.store import RunRecord, RunStatus, SuitePaths
from harness.store.atomic import write_json
from harness.store.checkpoint import Checkpoint
from harness.store.lease import acquire
from harness.store.tables import (
    EPISODE_SCHEMA,
    column_values,
    episode_table,
    numpy_table,
    read_arrow,
    run_tables,
    write_table,
)
from harness.store.writer import RunWriter


def _rows(first_step: int) -> pa.Table:
    return pa.table({"global_step": [first_step, first_step + 1],
                     "losses/value_loss": [1.0, np.nan]})


def _episodes(steps: list[int], returns: list[float]) -> pa.Table:
    return episode_table({"kind": ["train"] * len(steps), "global_step": steps,
                          "episodic_return": returns, "episodic_length": [10] * len(steps),
                          "terminated": [True] * len(steps)})


@pytest.fixture
def writer(tmp_path: Path) -> RunWriter:
    paths = SuitePaths(tmp_path, "suite").run("abc123")
    return RunWriter(paths, acquire(paths))


def test_numpy_tables_are_what_pandas_would_store_and_read_back_unchanged(
        tmp_path: Path) -> None:
    columns = {"step": np.arange(10, dtype=np.int64)[::-2],
               "loss": np.array([0.5, np.nan, -1.0, np.inf, np.nan]),
               "kind": np.array(["train", "eval", "", "éval", "train"], dtype=object),
               "done": np.array([True, False, False, True, True]),
               "length": np.arange(5, dtype=np.int32)}
    table = numpy_table(columns)
    expected = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
    assert table.schema.field("kind").type == pa.string()
    assert table.equals(expected.cast(table.schema).replace_schema_metadata(None))
    assert table["loss"].null_count == 2
    write_table(tmp_path / "t.arrow", table)
    assert read_arrow(tmp_path / "t.arrow").equals(table)
    assert column_values(table, "loss", np.float64).tobytes() == columns["loss"].tobytes()
    assert column_values(table, "kind", object).tolist() == columns["kind"].tolist()
    assert numpy_table({name: values[:0] for name, values in columns.items()}).num_rows == 0


WORKER_EPISODES = """
import sys
import numpy as np
from harness.store.tables import EPISODE_SCHEMA, episode_table
table = episode_table({"kind": np.array(["train", "eval"], dtype=object),
                       "global_step": np.array([4, 8], np.int64),
                       "episodic_return": np.array([1.5, np.nan]),
                       "episodic_length": np.array([3, 5], np.int64),
                       "terminated": np.array([True, False])})
assert table.schema.equals(EPISODE_SCHEMA), table.schema
print(table.to_pylist(), sorted({"pandas", "pyarrow.compute"} & set(sys.modules)))
"""


def test_a_workers_episode_table_is_built_without_pyarrow_compute_or_pandas() -> None:
    """The worker's columns already have the schema's types: no cast, which imports
    pyarrow.compute (0.1 s of the first chunk), and the same table as casting gives."""
    done = subprocess.run([sys.executable, "-c", WORKER_EPISODES], capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == str([
        {"kind": "train", "global_step": 4, "episodic_return": 1.5, "episodic_length": 3,
         "terminated": True},
        {"kind": "eval", "global_step": 8, "episodic_return": None, "episodic_length": 5,
         "terminated": False}]) + " []"
    narrow = episode_table({"kind": np.array(["train"], dtype=object),
                            "global_step": np.array([4], np.int32),
                            "episodic_return": np.array([1.5], np.float32),
                            "episodic_length": np.array([3], np.int32),
                            "terminated": np.array([True])})
    assert narrow.schema.equals(EPISODE_SCHEMA) and narrow["global_step"].to_pylist() == [4]


def test_new_run_is_pending(tmp_path: Path) -> None:
    record = RunRecord(SuitePaths(tmp_path, "suite").run("abc123"))
    assert record.status() == {"status": "pending"}
    assert not record.is_done()


def test_run_is_done_only_after_finish_and_then_has_every_row_and_episode(
        writer: RunWriter) -> None:
    record = writer.record
    writer.set_status(RunStatus.RUNNING)
    writer.write_chunk(0, _rows(0), _episodes([1], [5.0]))
    writer.write_chunk(1, _rows(2), _episodes([2, 3], [7.0, 9.0]))
    writer.save_checkpoint(Checkpoint(2, {"layout": 1}, "0.1.0", [np.arange(3)]))
    assert not record.is_done()
    metrics, episodes = run_tables(record, record.status())
    assert metrics.column("global_step").to_pylist() == [0, 1, 2, 3]
    assert episodes.column("episodic_return").to_pylist() == [5.0, 7.0, 9.0]
    writer.finish(num_chunks=2, global_step=4)
    state = record.status()
    assert record.is_done() and state["global_step"] == 4
    assert state["scores"]["last_episodes:100"] == {"score": 7.0, "episodes": 3}
    assert state["scores"]["eval"] == {"score": None, "episodes": 0}
    assert set(state["files"]) == {"metrics", "episodes"}
    metrics, episodes = run_tables(record, state)
    assert metrics.column("global_step").to_pylist() == [0, 1, 2, 3]
    assert episodes.num_rows == 3
    assert not record.paths.chunks_dir.exists() and not record.paths.checkpoint.exists()
    assert writer.released and record.lease().outcome == "done"


def test_rewriting_a_chunk_replaces_it(writer: RunWriter) -> None:
    writer.write_chunk(0, _rows(0), _episodes([1], [1.0]))
    writer.write_chunk(0, _rows(0), _episodes([1], [1.0]))
    writer.finish(num_chunks=1, global_step=2)
    metrics, episodes = run_tables(writer.record, writer.record.status())
    assert (metrics.num_rows, episodes.num_rows) == (2, 1)


def test_checkpoint_round_trip_keeps_arrays_order_layout_and_version(writer: RunWriter) -> None:
    leaves = [np.arange(12, dtype=np.float32).reshape(3, 4), np.array([7, 9], dtype=np.uint32)]
    writer.save_checkpoint(Checkpoint(5, {"chunk_updates": 4}, "0.1.0", leaves))
    loaded = writer.record.checkpoint()
    assert (loaded.chunks_done, loaded.layout, loaded.harness_version) == (
        5, {"chunk_updates": 4}, "0.1.0")
    assert [leaf.dtype for leaf in loaded.leaves] == [np.float32, np.uint32]
    for got, want in zip(loaded.leaves, leaves, strict=True):
        np.testing.assert_array_equal(got, want)
    shapes = [(leaf.shape, leaf.dtype) for leaf in leaves]
    assert loaded.mismatch({"chunk_updates": 4}, "0.1.0", shapes) is None
    assert "harness 0.1.0, this is harness 0.2.0" in loaded.mismatch(
        {"chunk_updates": 4}, "0.2.0", shapes)
    assert "chunk layout" in loaded.mismatch({"chunk_updates": 8}, "0.1.0", shapes)
    assert "array shapes" in loaded.mismatch({"chunk_updates": 4}, "0.1.0", shapes[:1])


def test_failed_write_leaves_previous_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "status.json"
    write_json(target, {"status": "running"})
    with pytest.raises(ValueError):
        write_json(target, {"status": float("nan")})
    assert "running" in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["status.json"]


def test_config_is_written_once(writer: RunWriter) -> None:
    writer.write_config({"seed": 1, "exp_name": "a", "env_id": "e"}, suite="suite")
    writer.write_config({"seed": 2, "exp_name": "a", "env_id": "e"}, suite="suite")
    assert writer.record.config()["seed"] == 1


def test_store_files_are_created_with_the_users_umask(tmp_path: Path) -> None:
    script = (
        "import os, sys, numpy as np, pyarrow as pa\n"
        "from harness.store import SuitePaths\n"
        "from harness.store.lease import acquire\n"
        "from harness.store.writer import RunWriter\n"
        "from harness.store.checkpoint import Checkpoint\n"
        "os.umask(0o022)\n"
        "from pathlib import Path\n"
        "paths = SuitePaths(Path(sys.argv[1]), 's').run('r')\n"
        "w = RunWriter(paths, acquire(paths))\n"
        "w.update_metadata(a=1)\n"
        "w.save_checkpoint(Checkpoint(1, None, '0', [np.zeros(2)]))\n"
        "w.write_chunk(0, pa.table({'global_step': [1]}), pa.table({}))\n")
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 5
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644, path

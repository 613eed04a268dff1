"""A damaged file hides nothing: `status`, `load` and `run` name the run and the file, every
other run loads as usual, and `harness run` repairs only the damaged run, moving the damaged
file aside (never deleting a finished run's data)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from harness import cli, results
from harness.jobs import plan_jobs
from harness.runs import expand
from harness.store import RunPaths, RunRecord, SuitePaths
from harness.suite import load_suite
from harness.training.job import train_job
from tests.conftest import write_suite

SUITE = """
name: dmg
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 3
total_timesteps: 8192
runs_per_job: 1
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished three-run suite: `(suite file, results root)`."""
    directory = tmp_path_factory.mktemp("dmg")
    suite = write_suite(directory, SUITE)
    assert cli.main(["run", str(suite), "--results-dir", str(directory / "results")]) == 0
    return suite, directory / "results"


def _copy(finished: tuple[Path, Path], directory: Path) -> tuple[Path, Path, list[RunPaths]]:
    suite, root = finished
    shutil.copytree(root, directory / "results")
    paths = SuitePaths(directory / "results", "dmg")
    return suite, directory / "results", list(paths.runs())


def _garble(path: Path) -> None:
    """Overwrite the file with as many bytes of garbage."""
    path.write_bytes((b"\x00garbage" * (path.stat().st_size // 8 + 1))[:path.stat().st_size])


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DONE_CASES: dict[str, tuple[str, Callable[[Path], None], str, bool]] = {
    # case: (file, damage, words in the message, retrained)
    "corrupt metrics": ("metrics.arrow", _garble, "is corrupt", True),
    "truncated metrics": ("metrics.arrow", _truncate, "truncated", True),
    "corrupt episodes": ("episodes.arrow", _garble, "is corrupt", True),
    "corrupt status": ("status.json", lambda p: p.write_text('{"status": "do'), "not valid JSON",
                       True),
    "corrupt config": ("config.json", lambda p: p.write_text("[1, 2"), "not valid JSON", False),
    "missing config": ("config.json", lambda p: p.unlink(), "is missing", False),
    "corrupt metadata": ("metadata.json", _garble, "not valid JSON", False),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(DONE_CASES))
def test_a_damaged_finished_run_is_named_skipped_and_repaired_alone(
        case: str, finished: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    name, damage, words, retrained = DONE_CASES[case]
    suite, root, runs = _copy(finished, tmp_path)
    broken, healthy = runs[0], runs[1:]
    untouched = {p.run_id: p.metrics.stat().st_mtime_ns for p in healthy}
    damage(broken.dir / name)

    assert cli.main(["status", str(suite), "--results-dir", str(root)]) == 0
    shown = capsys.readouterr().out
    assert broken.run_id in shown and name in shown and words in shown
    assert "damaged runs are repaired by `harness run dmg`" in shown

    with pytest.warns(results.DamagedRunWarning, match=f"{broken.run_id}.*{name}"):
        tidy = results.load("dmg", root=root)
    assert set(tidy["run_id"]) == {p.run_id for p in healthy}, "the other runs load"
    table = results.runs("dmg", root=root).set_index("run_id")
    assert table.loc[broken.run_id, "status"] == "damaged"
    assert name in table.loc[broken.run_id, "reason"]

    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert set(results.runs("dmg", root=root)["status"]) == {"done"}
    for paths in healthy:
        assert paths.metrics.stat().st_mtime_ns == untouched[paths.run_id], "not retrained"
    record = RunRecord(broken)
    moved = record.metadata()["damaged"]
    assert moved[0]["file"] == name and words in moved[0]["problem"]
    if case != "missing config":
        assert (broken.dir / moved[0]["moved_to"]).is_file(), "the damaged file is kept"
    assert (record.metadata().get("attempt", 1) > 1) == retrained
    assert len(results.load("dmg", root=root, run_id=broken.run_id)) > 0


@pytest.fixture(scope="module")
def half_done(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same suite with every run stopped after its third chunk (checkpoints kept)."""
    directory = tmp_path_factory.mktemp("half")
    suite = write_suite(directory, SUITE)
    paths = SuitePaths(directory / "results", "dmg")

    def stop(event: dict) -> None:
        if event["event"] == "progress" and event["chunk"] == 3:
            raise KeyboardInterrupt

    for job in plan_jobs(expand(load_suite(suite)), runs_per_job=1):
        with pytest.raises(KeyboardInterrupt):
            train_job(job, paths, stop)
    return suite, directory / "results"


HALF_CASES = {
    "corrupt chunk": (lambda p: p.chunk(1), _garble),
    "corrupt episode chunk": (lambda p: p.episode_chunk(2), _truncate),
    "corrupt checkpoint": (lambda p: p.checkpoint, _garble),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(HALF_CASES))
def test_a_damaged_unfinished_run_restarts_while_the_others_resume(
        case: str, half_done: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    where, damage = HALF_CASES[case]
    suite, root, runs = _copy(half_done, tmp_path)
    broken = runs[0]
    damaged_file = where(broken)
    damage(damaged_file)
    stray = broken.dir / ".status.json.0123456789ab.tmp"
    stray.write_text("left by a kill")
    assert cli.main(["status", str(suite), "--results-dir", str(root)]) == 0
    (row,) = [[cell.strip() for cell in line.split("│")[1:-1]]
              for line in capsys.readouterr().out.splitlines() if "CartPole-v1" in line]
    assert row[2:9] == ["0", "0", "0", "3", "0", "0", "0"], "all three interrupted"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert set(results.runs("dmg", root=root)["status"]) == {"done"}
    for paths in runs:
        attempts = RunRecord(paths).metadata()["attempts"]
        expected = 0 if paths == broken else 3
        assert attempts[-1]["resumes_from_chunk"] == expected, paths.run_id
    moved = RunRecord(broken).metadata()["damaged"]
    assert [entry["file"] for entry in moved] == [damaged_file.name]
    assert not stray.exists(), "temporary files of a killed writer are removed"
    wide = results.load("dmg", root=root, wide=True, metrics="losses/value_loss")
    for _, rows in wide.groupby("run_id"):
        assert list(rows["global_step"]) == [512 * (i + 1) for i in range(16)]

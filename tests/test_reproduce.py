"""`reproduce`: re-training a stored run's job gives identical metrics; tampering is caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness import cli
from harness.reproduce import ReproduceError, ReproduceReport, reproduce
from harness.store import RunRecord, SuitePaths
from harness.training.compile_cache import enable_compilation_cache
from tests.conftest import write_suite

SUITE = """
name: repro
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 2
total_timesteps: 4096
"""


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A finished suite of two seeds trained in one job: `(results root, run ids)`."""
    directory = tmp_path_factory.mktemp("repro")
    root = directory / "results"
    assert cli.main(["run", str(write_suite(directory, SUITE)), "--results-dir", str(root)]) == 0
    run_ids = sorted(p.run_id for p in SuitePaths(root, "repro").runs())
    metadata = [RunRecord(SuitePaths(root, "repro").run(r)).metadata() for r in run_ids]
    assert len({m["job_id"] for m in metadata}) == 1 and metadata[0]["runs_in_job"] == 2
    return root, run_ids


@pytest.fixture(scope="module", autouse=True)
def compilation_cache() -> None:
    """Compile through the persistent cache the workers filled, as `harness reproduce` does."""
    enable_compilation_cache()


def _copy(stored: tuple[Path, list[str]], directory: Path) -> tuple[Path, RunRecord]:
    """A private copy of the stored results (to tamper with) and its first run's record."""
    root, run_ids = stored
    shutil.copytree(root, directory / "results")
    return directory / "results", RunRecord(SuitePaths(directory / "results", "repro")
                                            .run(run_ids[0]))


@pytest.fixture(scope="module")
def tampered(stored: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[ReproduceReport, pd.DataFrame, str]:
    """The report on a run whose stored value loss at row 3 and jax version were changed:
    `(report, tampered metrics, jax version now)`."""
    root, record = _copy(stored, tmp_path_factory.mktemp("tampered"))
    metrics = pd.read_feather(record.paths.metrics)
    metrics.loc[3, "losses/value_loss"] += 0.25
    metrics.to_feather(record.paths.metrics)
    metadata = record.metadata()
    now = metadata["provenance"]["packages"]["jax"]
    metadata["provenance"]["packages"]["jax"] = "0.4.1"
    record.paths.metadata.write_text(json.dumps(metadata), encoding="utf-8")
    return reproduce(record.run_id, root), metrics, now


def test_a_batched_run_reproduces_exactly_from_its_job(stored: tuple[Path, list[str]],
                                                        tmp_path: Path) -> None:
    root, run_ids = stored
    report = reproduce(run_ids[1], root, workdir=tmp_path)
    assert report.matched and report.differences == () and report.max_abs_difference is None
    assert report.rows == 8 and "losses/value_loss" in report.metrics
    assert "charts/SPS" not in report.metrics
    assert report.runs_in_job == 2 and report.provenance_differences == {}
    assert "reproduced exactly" in report.lines()[0]
    assert list(tmp_path.iterdir()) == [], "the temporary results directory is deleted"


def test_a_tampered_metric_is_named_with_its_step(
        tampered: tuple[ReproduceReport, pd.DataFrame, str]) -> None:
    report, metrics, _ = tampered
    assert not report.matched
    (difference,) = report.differences
    assert difference.metric == "losses/value_loss"
    assert difference.global_step == int(metrics.loc[3, "global_step"]) == 2048
    assert difference.rows == 1 and difference.stored == metrics.loc[3, "losses/value_loss"]
    assert difference.max_abs_difference == pytest.approx(0.25)
    assert report.max_abs_difference == difference.max_abs_difference
    text = "\n".join(report.lines())
    assert "did NOT reproduce" in text and "losses/value_loss: first at global_step 2048" in text


def test_a_changed_recorded_version_is_named(
        tampered: tuple[ReproduceReport, pd.DataFrame, str]) -> None:
    report, _, now = tampered
    assert report.provenance_differences == {"packages.jax": ("0.4.1", now)}
    assert f"  packages.jax: 0.4.1 -> {now}" in report.lines()


def test_an_unknown_or_unfinished_run_or_missing_job_is_a_one_line_error(
        stored: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, record = _copy(stored, tmp_path)
    with pytest.raises(ReproduceError, match="no run 'feedfacecafe'") as unknown:
        reproduce("feedfacecafe", root)
    assert isinstance(unknown.value, ValueError) and "\n" not in str(unknown.value)

    shutil.copytree(root / "repro", root / "repro-copy")
    with pytest.raises(ReproduceError, match="several suites .repro, repro-copy."):
        reproduce(record.run_id, root)
    shutil.rmtree(root / "repro-copy")

    spec = root / "repro" / "jobs" / f"{record.metadata()['job_id']}.json"
    spec.unlink()
    with pytest.raises(ReproduceError, match="job spec .* is missing"):
        reproduce(record.run_id, root)

    record.paths.status.write_text(json.dumps({"status": "running"}), encoding="utf-8")
    with pytest.raises(ReproduceError, match="is not finished"):
        reproduce(record.run_id, root)


def test_harness_reproduce_command_prints_the_report_and_exits_by_it(
        stored: tuple[Path, list[str]], tmp_path: Path,
        capsys: pytest.CaptureFixture) -> None:
    root, run_ids = stored
    assert cli.main(["reproduce", run_ids[0], "--results-dir", str(root)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out
    tampered_root, record = _copy(stored, tmp_path)
    metrics = pd.read_feather(record.paths.metrics)
    metrics.loc[0, "losses/entropy"] += 1.0
    metrics.to_feather(record.paths.metrics)
    assert cli.main(["reproduce", run_ids[0], "--results-dir", str(tampered_root)]) == 1
    assert "losses/entropy: first at global_step" in capsys.readouterr().out
    assert cli.main(["reproduce", "unknown", "--results-dir", str(root)]) == 2

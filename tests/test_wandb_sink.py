"""The W&B mirror: offline run files read back with W&B's own reader, failures, secrets."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness import cli, results
from harness.jobs import plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.suite import load_suite
from harness.suite.tracking_settings import WandbSettings
from harness.tracking.settings import resolve_wandb
from harness.tracking.wandb_sink import WandbSink, wandb_run_id
from harness.training.job import train_job
from tests.conftest import write_suite

TRACKED = """
name: tracked
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 2
total_timesteps: 10240
tracking:
  wandb: {project: harness-tests, mode: offline, tags: [nightly]}
"""
SECRET = "sk-marker-5f1c9e0b7d"
WANDB = Path(sys.executable).with_name("wandb")


def read_offline_run(run_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The run record and history rows of an offline W&B run, read by `wandb leet inspect`."""
    shown = subprocess.run([str(WANDB), "leet", "inspect", "--json", str(run_dir)],
                           capture_output=True, text=True, check=True, timeout=60)
    records = [json.loads(line) for line in shown.stdout.splitlines() if line.strip()]
    (run,) = [r["run"] for r in records if r.get("type") == "run"]
    history = [r["history"]["item"] for r in records if r.get("type") == "history"]
    return run, history


def offline_runs(root: Path, suite: str) -> dict[str, Path]:
    """W&B run id → offline run directory, for the suite's mirror."""
    return {path.name.rsplit("-", 1)[-1]: path
            for path in (root / suite / "wandb").glob("offline-run-*")}


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished two-seed suite (one batched job) mirrored offline: (suite file, root)."""
    directory = tmp_path_factory.mktemp("tracked")
    suite = write_suite(directory, TRACKED)
    root = directory / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    return suite, root


@pytest.mark.slow
def test_each_batched_seed_is_its_own_wandb_run_with_open_rl_benchmark_config(
        tracked: tuple[Path, Path]) -> None:
    _, root = tracked
    table = results.runs("tracked", root=root)
    assert len(set(table["job_id"])) == 1, "the two seeds trained in one job"
    mirrored = offline_runs(root, "tracked")
    assert len(mirrored) == 2
    for row in table.itertuples():
        run, _ = read_offline_run(mirrored[wandb_run_id("tracked", row.run_id)])
        config = run["config"]["update"]
        assert (config["env_id"], config["exp_name"], config["seed"]) == (
            "CartPole-v1", "ppo", row.seed)
        assert (config["suite"], config["run_id"]) == ("tracked", row.run_id)
        assert config["learning_rate"] == 2.5e-4 and config["num_envs"] == 4
        assert (run["project"], run["run_group"], run["job_type"]) == (
            "harness-tests", "tracked", "ppo")
        assert "nightly" in run["tags"]
        assert any(tag.startswith("harness-") for tag in run["tags"])
        assert any(tag.startswith("commit-") for tag in run["tags"])


@pytest.mark.slow
def test_every_metric_row_and_every_episode_is_logged_at_its_global_step(
        tracked: tuple[Path, Path]) -> None:
    _, root = tracked
    wide = results.load("tracked", root=root, wide=True)
    episodes = results.episodes("tracked", root=root)
    mirrored = offline_runs(root, "tracked")
    for run_id, rows in wide.groupby("run_id"):
        _, history = read_offline_run(mirrored[wandb_run_id("tracked", run_id)])
        assert [item["global_step"] for item in history] == list(rows["global_step"])
        for item, row in zip(history, rows.to_dict("records"), strict=True):
            for metric, value in row.items():
                if metric.startswith(("charts/", "losses/")) and not math.isnan(value):
                    assert item[metric] == pytest.approx(value, rel=1e-6), (metric, item)
        logged = [(item["global_step"], item["charts/episodic_return"], item[
            "charts/episodic_length"]) for item in history if "charts/episodic_return" in item]
        mine = episodes[episodes["run_id"] == run_id]
        assert logged == list(zip(mine["global_step"], mine["episodic_return"],
                                  mine["episodic_length"], strict=True)), \
            "one return point per finished episode, at the step it ended"


@pytest.mark.slow
def test_no_secret_reaches_any_stored_file(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    monkeypatch.setenv("HARNESS_TEST_TOKEN", SECRET)
    suite = write_suite(tmp_path, TRACKED.replace("seeds: 2", "seeds: 1"))
    root = tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    files = [path for path in root.rglob("*") if path.is_file()]
    assert any(path.suffix == ".wandb" for path in files)
    leaked = [path for path in files if SECRET.encode() in path.read_bytes()]
    assert not leaked


def _job_and_paths(tmp_path: Path) -> tuple[Any, SuitePaths]:
    suite = load_suite(write_suite(tmp_path, TRACKED.replace("10240", "2048")))
    return plan_jobs(expand(suite), 8)[0], SuitePaths(tmp_path / "results", suite.name)


def _spec(mode: str = "offline") -> dict[str, Any]:
    return {"project": "harness-tests", "entity": None, "mode": mode, "tags": [],
            "group": "tracked"}


def _fail_at_init(monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    def refuse(**kwargs: Any) -> None:
        raise ConnectionError("api.wandb.ai unreachable")

    monkeypatch.setattr(wandb, "init", refuse)


def _fail_at_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from wandb.sdk.wandb_run import Run as WandbRun

    def rate_limited(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("429 Too Many Requests")

    monkeypatch.setattr(WandbRun, "log", rate_limited)


@pytest.mark.parametrize(("inject", "recorded"), [
    (_fail_at_init, "init failed: ConnectionError: api.wandb.ai unreachable"),
    (_fail_at_log, "logging failed: RuntimeError: 429 Too Many Requests"),
])
def test_wandb_failure_leaves_training_and_the_store_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        inject: Callable[[pytest.MonkeyPatch], None], recorded: str) -> None:
    inject(monkeypatch)
    job, paths = _job_and_paths(tmp_path)
    warnings: list[str] = []
    assert train_job(job, paths, sink=WandbSink(_spec(), paths, warnings.append)) == []
    for run in job.runs:
        record = RunRecord(paths.run(run.run_id))
        assert record.is_done() and run_tables(record, record.status())[0].num_rows == 4
        assert record.metadata()["wandb"]["status"] == recorded
    assert len(warnings) == 2, "one warning per run, not one per row"


def test_online_failure_falls_back_to_offline_files(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import wandb

    real_init = wandb.init

    def offline_only(**kwargs: Any) -> Any:
        if kwargs["mode"] == "online":
            raise TimeoutError("init timed out")
        return real_init(**kwargs)

    monkeypatch.setattr(wandb, "init", offline_only)
    job, paths = _job_and_paths(tmp_path)
    warnings: list[str] = []
    assert train_job(job, paths, sink=WandbSink(_spec("online"), paths, warnings.append)) == []
    assert len(offline_runs(paths.root, "tracked")) == 2
    assert all("mirroring offline" in warning for warning in warnings)
    assert RunRecord(paths.run(job.runs[0].run_id)).metadata()["wandb"]["mode"] == "offline"


def test_mode_comes_from_the_flag_then_wandb_mode_then_the_suite(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    settings = WandbSettings(project="p")
    assert resolve_wandb(None, "s") is None
    assert resolve_wandb(settings, "s")["mode"] == "offline"
    assert resolve_wandb(settings, "s")["group"] == "s"
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    assert resolve_wandb(settings, "s")["mode"] == "online"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert resolve_wandb(settings, "s")["mode"] == "offline"
    assert resolve_wandb(settings, "s", "online")["mode"] == "online"
    assert resolve_wandb(settings, "s", "disabled") is None
    assert resolve_wandb(None, "s", "offline")["project"] == "rl-harness"
    assert SECRET not in json.dumps(resolve_wandb(settings, "s"))

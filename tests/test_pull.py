"""`harness pull`: W&B runs land in the store as our own runs do, fetched once, never half-written.

Every test talks to `tests/wandb_standin.Api` (wandb 0.31's public API, no network).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
import requests
import wandb.apis.public
from wandb.errors import CommError
from wandb.proto.wandb_api_pb2 import ApiErrorResponse
from wandb.sdk.lib.service.service_connection import WandbApiFailedError

from harness import cli, results
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.tracking import pull
from harness.tracking.backoff import RateLimitedError, RetryPolicy, is_rate_limited
from harness.tracking.pull import (
    PullError,
    PullFilters,
    RunOutcome,
    parse_config_filter,
    pull_project,
    run_id_of,
)
from tests import wandb_standin

PROJECT = "openrlbenchmark/cleanrl"
SUITE = "wandb-openrlbenchmark-cleanrl"
PAGE_STEPS = 5
FINISHED = {"ppo-cp-1", "ppo-cp-2", "ppo-ab-1", "dqn-cp-1"}


def history(seed: int, updates: int = 12) -> list[dict[str, Any]]:
    """CleanRL-like rows: returns every third update, losses every update, one video."""
    rows: list[dict[str, Any]] = []
    for i in range(updates):
        step = (i + 1) * 128
        if i % 3 == 0:
            rows.append({"global_step": step, "charts/episodic_return": 10.0 * seed + i,
                         "charts/episodic_length": 20 + i})
        rows.append({"global_step": step, "losses/value_loss": 1.0 / (i + 1),
                     "charts/SPS": 1000 + i})
    rows.append({"global_step": updates * 128, "videos": {"_type": "video-file", "path": "x"}})
    return rows


def cleanrl_config(exp_name: str, env_id: str, seed: int, **extra: Any) -> dict[str, Any]:
    """A CleanRL script's W&B config."""
    return {"exp_name": exp_name, "env_id": env_id, "seed": seed, "total_timesteps": 500_000,
            "learning_rate": 2.5e-4, "num_envs": 4, "track": True, "network": {"hidden": 64},
            **extra}


def make_api(honour_filters: bool = True) -> wandb_standin.Api:
    """A project of PPO and DQN runs on CartPole and Acrobot; one DQN run crashed."""
    api = wandb_standin.Api(honour_filters=honour_filters)
    specs = [("ppo-cp-1", "ppo", "CartPole-v1", 1, ["pr-424", "v1"], {}),
             ("ppo-cp-2", "ppo", "CartPole-v1", 2, ["pr-424"], {}),
             ("ppo-ab-1", "ppo", "Acrobot-v1", 1, ["pr-424", "v1"], {}),
             ("dqn-cp-1", "dqn", "CartPole-v1", 1, ["v1"],
              {"learning_rate": 1e-4, "network": {"hidden": 120}})]
    for run_id, exp_name, env_id, seed, tags, extra in specs:
        api.add_run(PROJECT, run_id, cleanrl_config(exp_name, env_id, seed, **extra),
                    history(seed), tags=tags)
    api.add_run(PROJECT, "dqn-ab-1", cleanrl_config("dqn", "Acrobot-v1", 1), history(1)[:4],
                state="crashed")
    return api


class Sleeps(list):
    """Records the waits a `RetryPolicy` asks for instead of sleeping."""

    def policy(self, jitter: float = 0.5, **limits: float) -> RetryPolicy:
        return RetryPolicy(sleep=self.append, jitter=lambda: jitter, **limits)


def run_pull(api: wandb_standin.Api, root: Path, sleeps: Sleeps | None = None,
             **options: Any) -> pull.PullReport:
    """`pull_project(PROJECT, root)` through the stand-in, in pages of PAGE_STEPS steps."""
    policy = (sleeps if sleeps is not None else Sleeps()).policy()
    return pull_project(PROJECT, root, api=api, retry=policy, page_size=PAGE_STEPS, **options)


def ids(outcomes: list[RunOutcome]) -> set[str]:
    return {o.wandb_id for o in outcomes}


def expected_rows(api: wandb_standin.Api, wandb_ids: set[str]) -> pd.DataFrame:
    """Every numeric metric value the stand-in's histories hold, as `results.load` rows."""
    rows = []
    for wandb_id in wandb_ids:
        server = api.server_run(PROJECT, wandb_id)
        for row in server.history:
            rows += [{"run_id": f"wandb-{wandb_id}", "global_step": row["global_step"],
                      "metric": key, "value": float(value)} for key, value in row.items()
                     if key != "global_step" and not key.startswith("_")
                     and isinstance(value, int | float)]
    return pd.DataFrame(rows).sort_values(["run_id", "global_step", "metric"], ignore_index=True)


def loaded_rows(root: Path) -> pd.DataFrame:
    tidy = results.load(SUITE, root=root).astype({"run_id": "str", "metric": "str"})
    return (tidy[["run_id", "global_step", "metric", "value"]]
            .sort_values(["run_id", "global_step", "metric"], ignore_index=True))


def metrics_of(paths: SuitePaths, run_id: str) -> pd.DataFrame:
    """The stored metric rows of a pulled run."""
    record = RunRecord(paths.run(run_id))
    return run_tables(record, record.status())[0].to_pandas()


@pytest.fixture
def api() -> wandb_standin.Api:
    return make_api()


def test_pull_stores_every_history_value_of_each_finished_run(
        api: wandb_standin.Api, tmp_path: Path) -> None:
    seen: list[RunOutcome] = []
    report = run_pull(api, tmp_path, progress=seen.append)
    assert ids(report.of("fetched")) == FINISHED and report.ok
    assert seen == report.outcomes
    assert report.suite == SUITE and report.suite_dir == tmp_path / SUITE
    pd.testing.assert_frame_equal(loaded_rows(tmp_path), expected_rows(api, FINISHED))
    wide = results.load(SUITE, root=tmp_path, wide=True)
    assert set(wide.columns) == {*results.RUN_COLUMNS, "global_step", "charts/episodic_return",
                                 "charts/episodic_length", "losses/value_loss", "charts/SPS"}
    assert sum(o.rows for o in report.outcomes) == len(wide)


def test_runs_table_has_the_wandb_config(api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    table = results.runs(SUITE, root=tmp_path).set_index("run_id")
    assert set(table.index) == {f"wandb-{i}" for i in FINISHED}
    ppo = table.loc["wandb-ppo-cp-2"]
    assert (ppo.exp_name, ppo.algo, ppo.env_id, ppo.seed) == ("ppo", "ppo", "CartPole-v1", 2)
    assert (ppo.status, ppo.global_step, ppo.total_timesteps) == ("done", 12 * 128, 500_000)
    assert table.loc["wandb-dqn-cp-1", "learning_rate"] == 1e-4
    assert set(table["num_envs"]) == {4}
    config = RunRecord(SuitePaths(tmp_path, SUITE).run("wandb-ppo-cp-1")).config()
    assert config["suite"] == SUITE and config["run_id"] == "wandb-ppo-cp-1"
    assert config["source"] == {"wandb": f"{PROJECT}/ppo-cp-1", "name": "ppo-cp-1-name",
                                "url": f"https://wandb.ai/{PROJECT}/runs/ppo-cp-1",
                                "tags": ["pr-424", "v1"], "reserved_config": {}}
    assert config["hyperparameters"] == {"learning_rate": 2.5e-4, "num_envs": 4, "track": True,
                                         "network": {"hidden": 64}}


def test_metadata_records_pull_time_and_the_wandb_change_marker(
        api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    meta = RunRecord(SuitePaths(tmp_path, SUITE).run("wandb-ppo-cp-1")).metadata()
    server = api.server_run(PROJECT, "ppo-cp-1")
    assert meta["source"] == "wandb" and meta["pulled_at"]
    assert meta["wandb"]["step_key"] == "global_step"
    assert meta["wandb"]["marker"]["heartbeat_at"] == server.heartbeat_at
    assert meta["wandb"]["marker"]["history_line_count"] == len(server.history)
    assert meta["wandb"]["marker"]["last_step"] == server.last_step


def test_runs_without_global_step_use_wandb_step(tmp_path: Path) -> None:
    api = wandb_standin.Api()
    api.add_run(PROJECT, "plain", {"exp_name": "a2c", "env_id": "Pendulum-v1"},
                [{"loss": 3.0}, {"reward": 1.0}, {"loss": 1.0, "reward": 2.0}])
    report = run_pull(api, tmp_path)
    assert ids(report.of("fetched")) == {"plain"}
    tidy = results.load(SUITE, root=tmp_path)
    assert list(zip(tidy.global_step, tidy.metric, tidy.value, strict=True)) == [
        (0, "loss", 3.0), (2, "loss", 1.0), (1, "reward", 1.0), (2, "reward", 2.0)]
    table = results.runs(SUITE, root=tmp_path)
    assert table.loc[0, "algo"] == "a2c" and pd.isna(table.loc[0, "seed"])


def test_runs_mirrored_by_the_harness_keep_their_pulled_ids(tmp_path: Path) -> None:
    api = wandb_standin.Api()
    config = cleanrl_config("ppo", "CartPole-v1", 0, suite="classic-control", run_id="0a1b2c3d4e5f",
                            algo="ppo", backend="gymnax")
    api.add_run(PROJECT, "mirror", config, history(0))
    run_pull(api, tmp_path)
    tidy = results.load(SUITE, root=tmp_path)
    assert set(tidy["run_id"]) == {"wandb-mirror"} and set(tidy["suite"]) == {SUITE}
    assert len(tidy) == len(expected_rows(api, {"mirror"}))
    source = RunRecord(SuitePaths(tmp_path, SUITE).run("wandb-mirror")).config()["source"]
    assert source["reserved_config"] == {"run_id": "0a1b2c3d4e5f", "suite": "classic-control"}


def test_the_standin_run_reads_like_a_real_wandb_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    api = make_api()
    [standin] = [run for run in api.runs(PROJECT, lazy=False) if run.id == "ppo-cp-1"]
    server = api.server_run(PROJECT, "ppo-cp-1")
    node = {**server.node(lazy=False), "systemMetrics": "{}",
            "config": json.dumps({k: {"value": v, "desc": None} for k, v in server.config.items()}
                                 | {"_wandb": {"value": {"cli_version": "0.31.0"}}}),
            "summaryMetrics": json.dumps(server.summary())}
    real = wandb.apis.public.Run(SimpleNamespace(app_url=wandb_standin.APP_URL), "openrlbenchmark",
                                 "cleanrl", "ppo-cp-1", node, lazy=False)
    assert pull.change_marker(real) == pull.change_marker(standin)
    assert pull.stored_config(real, "p") == pull.stored_config(standin, "p")
    assert (real.created_at, real.path) == (standin.created_at, standin.path)
    filters = PullFilters(env_id="CartPole-v1", tags="v1", config={"network.hidden": 64})
    assert filters.matches(real.state, real.tags, real.config)
    assert filters.matches(standin.state, standin.tags, standin.config)
    assert not hasattr(real, "updated_at") and not hasattr(standin, "updated_at")


def test_metrics_keep_numbers_at_a_finite_step_and_drop_wandb_keys() -> None:
    rows = [{"global_step": 0, "a": 1, "_runtime": 3.0, "_step": 0},
            {"global_step": float("nan"), "a": 2.0},
            {"global_step": 5, "media": {"_type": "image-file"}, "text": "hello"},
            {"global_step": 6.0, "b": True, "a": None}]
    frame, step_key = pull.metrics_frame(rows)
    assert step_key == "global_step"
    expected = pd.DataFrame({"global_step": [0, 6], "a": [1.0, float("nan")],
                             "b": [float("nan"), 1.0]})
    pd.testing.assert_frame_equal(frame, expected)
    empty, _ = pull.metrics_frame([])
    assert list(empty.columns) == ["global_step"] and empty["global_step"].dtype == "int64"


FILTER_CASES = [
    (PullFilters(env_id="CartPole-v1"), {"ppo-cp-1", "ppo-cp-2", "dqn-cp-1"}),
    (PullFilters(exp_name=["dqn"]), {"dqn-cp-1"}),
    (PullFilters(exp_name="dqn", states=()), {"dqn-cp-1", "dqn-ab-1"}),
    (PullFilters(tags=["pr-424", "v1"]), {"ppo-cp-1", "ppo-ab-1"}),
    (PullFilters(config={"learning_rate": 1e-4}), {"dqn-cp-1"}),
    (PullFilters(config={"network.hidden": 64}, env_id=["Acrobot-v1"]), {"ppo-ab-1"}),
]


@pytest.mark.parametrize("honour_filters", [True, False], ids=["server-filters", "no-server"])
@pytest.mark.parametrize(("filters", "selected"), FILTER_CASES)
def test_filters_select_the_same_runs_whether_or_not_the_server_applies_them(
        filters: PullFilters, selected: set[str], honour_filters: bool, tmp_path: Path) -> None:
    api = make_api(honour_filters)
    report = run_pull(api, tmp_path, filters=filters)
    assert ids(report.of("fetched")) == selected
    assert api.runs_calls[-1]["filters"] == filters.server_query()
    listed = {run.id for run in api.matching(PROJECT, filters.server_query(), "+created_at")}
    assert ids(report.of("skipped")) == listed - selected
    assert set(results.runs(SUITE, root=tmp_path)["run_id"]) == {f"wandb-{i}" for i in selected}


def test_server_query_is_one_mongodb_clause_per_filter() -> None:
    filters = PullFilters(env_id=["CartPole-v1", "Acrobot-v1"], exp_name="ppo",
                          tags=["pr-424", "v1"], config={"num_envs": 4, "network.hidden": 64})
    assert filters.server_query() == {"$and": [
        {"state": "finished"},
        {"config.env_id": {"$in": ["CartPole-v1", "Acrobot-v1"]}},
        {"config.exp_name": "ppo"},
        {"tags": {"$in": ["pr-424"]}},
        {"tags": {"$in": ["v1"]}},
        {"config.num_envs": 4},
    ]}
    assert PullFilters(states=()).server_query() == {}


def test_config_filters_read_json_values() -> None:
    assert parse_config_filter("learning_rate=0.00025") == ("learning_rate", 0.00025)
    assert parse_config_filter("anneal_lr=true") == ("anneal_lr", True)
    assert parse_config_filter("env_id=CartPole-v1") == ("env_id", "CartPole-v1")
    with pytest.raises(PullError, match="not KEY=VALUE"):
        parse_config_filter("learning_rate")


def test_runs_are_listed_in_full_pages_with_their_config(
        api: wandb_standin.Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull, "RUNS_PER_PAGE", 2)
    report = run_pull(api, tmp_path, filters=PullFilters(states=()))
    assert len(report.of("fetched")) == 5
    assert api.count("runs_page") == 3
    assert api.count("run_load") == 0
    steps = api.server_run(PROJECT, "ppo-cp-1").last_step + 1
    assert api.count("history_page", "ppo-cp-1") == -(-steps // PAGE_STEPS)


def test_rate_limited_requests_are_retried_and_every_run_arrives(
        api: wandb_standin.Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pull, "RUNS_PER_PAGE", 2)
    api.fail("runs_page", after=1)
    api.fail("history_page", "ppo-ab-1", after=2)
    api.fail("last_history_step", "dqn-cp-1")
    sleeps = Sleeps()
    report = run_pull(api, tmp_path, sleeps)
    assert ids(report.of("fetched")) == FINISHED and report.ok
    assert sleeps == [1.5, 1.5, 1.5]
    assert api.count("runs_page") == 2 + 1
    pd.testing.assert_frame_equal(loaded_rows(tmp_path), expected_rows(api, FINISHED))


def test_backoff_doubles_with_jitter_and_gives_up_at_the_total_cap() -> None:
    sleeps = Sleeps()
    policy = sleeps.policy(jitter=0.0, first_wait=2, max_wait=8, total_wait=20)
    error = WandbApiFailedError("429", ApiErrorResponse(message="slow down", http_status=429))

    def always_limited() -> None:
        raise error

    with pytest.raises(RateLimitedError, match="gave up after 7 attempts and 19 s"):
        policy.call(always_limited)
    assert sleeps == [1, 2, 4, 4, 4, 4]
    assert Sleeps().policy(jitter=0.999).call(lambda: 7) == 7


def test_a_run_rate_limited_for_too_long_fails_alone(
        api: wandb_standin.Api, tmp_path: Path) -> None:
    api.fail("history_page", "ppo-cp-2", times=None)
    sleeps = Sleeps()
    report = run_pull(api, tmp_path, sleeps)
    assert ids(report.of("fetched")) == FINISHED - {"ppo-cp-2"}
    [failed] = report.of("failed")
    assert failed.wandb_id == "ppo-cp-2" and failed.reason.startswith("RateLimitedError")
    assert sum(sleeps) <= RetryPolicy().total_wait


def test_is_rate_limited_knows_wandb_errors() -> None:
    limited = WandbApiFailedError("x", ApiErrorResponse(message="x", http_status=429))
    assert is_rate_limited(limited)
    assert is_rate_limited(CommError("x", limited))
    response = requests.Response()
    response.status_code = 429
    assert is_rate_limited(CommError("HTTP 429", requests.HTTPError(response=response)))
    server_error = WandbApiFailedError("boom", ApiErrorResponse(message="boom", http_status=500))
    assert not is_rate_limited(CommError("boom", server_error))
    assert not is_rate_limited(ValueError("Could not find project cleanrl"))


def test_second_pull_fetches_no_history(api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    api.requests.clear()
    report = run_pull(api, tmp_path)
    assert ids(report.of("cached")) == FINISHED and not report.of("fetched")
    assert api.count("runs_page") == 1
    for kind in ("scan_init", "history_page", "last_history_step", "run_load"):
        assert api.count(kind) == 0, kind


def test_a_changed_run_is_fetched_again_alone(api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    server = api.server_run(PROJECT, "ppo-cp-1")
    server.log([{"global_step": 99_999, "charts/episodic_return": 500.0}])
    api.requests.clear()
    report = run_pull(api, tmp_path)
    assert ids(report.of("fetched")) == {"ppo-cp-1"}
    assert ids(report.of("cached")) == FINISHED - {"ppo-cp-1"}
    assert api.count("scan_init") == api.count("scan_init", "ppo-cp-1") == 1
    pd.testing.assert_frame_equal(loaded_rows(tmp_path), expected_rows(api, FINISHED))
    assert results.runs(SUITE, root=tmp_path, run_id="wandb-ppo-cp-1")["global_step"][0] == 99_999


def test_retagging_a_run_refreshes_its_config(api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    api.server_run(PROJECT, "ppo-cp-2").tags.append("v1")
    report = run_pull(api, tmp_path)
    assert ids(report.of("fetched")) == {"ppo-cp-2"}
    config = RunRecord(SuitePaths(tmp_path, SUITE).run("wandb-ppo-cp-2")).config()
    assert config["source"]["tags"] == ["pr-424", "v1"]


def test_failed_fetches_keep_the_earlier_copy_and_leave_no_partial_run(
        api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path)
    paths = SuitePaths(tmp_path, SUITE)
    before = metrics_of(paths, "wandb-ppo-cp-1")
    api.server_run(PROJECT, "ppo-cp-1").log([{"global_step": 99_999, "losses/value_loss": 0.1}])
    api.fail("history_page", "ppo-cp-1", status=500, times=None, after=1)
    api.add_run(PROJECT, "new-bad", cleanrl_config("ppo", "CartPole-v1", 3), history(3))
    api.fail("scan_init", "new-bad", status=500, times=None)
    api.add_run(PROJECT, "new-good", cleanrl_config("ppo", "CartPole-v1", 4), history(4))
    report = run_pull(api, tmp_path)
    assert {(o.wandb_id, o.reason) for o in report.of("failed")} == {
        ("ppo-cp-1", "WandbApiFailedError: HTTP 500"), ("new-bad", "CommError: HTTP 500")}
    assert ids(report.of("fetched")) == {"new-good"} and not report.ok
    pd.testing.assert_frame_equal(metrics_of(paths, "wandb-ppo-cp-1"), before)
    assert not paths.run("wandb-new-bad").dir.exists()
    assert list(paths.pull_staging.iterdir()) == []
    assert set(results.runs(SUITE, root=tmp_path)["status"]) == {"done"}
    assert report.lines()[0].endswith(
        "1 fetched, 3 cached, 0 skipped by filter, 2 failed (16 metric rows stored)")
    assert report.lines()[1:] == [f"  failed {o.wandb_id}: {o.reason}" for o in report.of("failed")]


def test_a_failure_while_installing_restores_the_earlier_copy(
        api: wandb_standin.Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_pull(api, tmp_path)
    target = SuitePaths(tmp_path, SUITE).run("wandb-ppo-cp-1").dir
    before = json.loads((target / "metadata.json").read_text())
    api.server_run(PROJECT, "ppo-cp-1").log([{"global_step": 99_999, "losses/value_loss": 0.1}])
    real_rename = pull.os.rename

    def rename(src: Path, dst: Path) -> None:
        if Path(dst) == target and Path(src).name == target.name:
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(pull.os, "rename", rename)
    report = run_pull(api, tmp_path)
    assert [o.reason for o in report.of("failed")] == ["OSError: disk full"]
    assert json.loads((target / "metadata.json").read_text()) == before


@pytest.mark.parametrize("path", ["cleanrl", "a/b/c", "a/", "/b", "../x", "a/..", "a/b c",
                                  "a/.hidden", ""])
def test_a_bad_project_path_is_a_one_line_error(path: str, tmp_path: Path) -> None:
    with pytest.raises(PullError, match="is not a W&B project: use ENTITY/PROJECT") as caught:
        pull_project(path, tmp_path, api=make_api())
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)
    assert not tmp_path.joinpath(SUITE).exists()


def test_unknown_projects_and_bad_suites_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(PullError, match=r"^cannot list the runs of a/b: Could not find project b$"):
        pull_project("a/b", tmp_path, api=make_api())
    with pytest.raises(PullError, match="^suite name: '../up' is not a safe file name"):
        pull_project(PROJECT, tmp_path, "../up", api=make_api())
    with pytest.raises(PullError, match="workers must be at least 1"):
        pull_project(PROJECT, tmp_path, api=make_api(), workers=0)


def test_a_named_suite_holds_the_runs(api: wandb_standin.Api, tmp_path: Path) -> None:
    run_pull(api, tmp_path, suite="orb-cleanrl")
    assert set(results.runs("orb-cleanrl", root=tmp_path)["run_id"]) == {
        f"wandb-{i}" for i in FINISHED}


def test_run_ids_are_stable_and_path_safe() -> None:
    assert run_id_of("1ss5gbww") == "wandb-1ss5gbww"
    odd = run_id_of("my run/../1")
    assert odd == run_id_of("my run/../1") and odd.startswith("wandb-") and "/" not in odd


def test_harness_pull_command_filters_reports_and_exits_zero(
        api: wandb_standin.Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(pull, "_default_api", lambda: api)
    argv = ["pull", PROJECT, "--results-dir", str(tmp_path), "--env-id", "CartPole-v1",
            "--config", "learning_rate=0.00025"]
    assert cli.main(argv) == 0
    shown = capsys.readouterr()
    assert "2 fetched" in shown.out and shown.err.count("fetched ppo-cp-") == 2
    assert set(results.runs(SUITE, root=tmp_path)["run_id"]) == {"wandb-ppo-cp-1",
                                                                 "wandb-ppo-cp-2"}
    assert cli.main(argv) == 0
    assert "2 cached" in capsys.readouterr().out
    assert cli.main(["pull", "no-slash", "--results-dir", str(tmp_path)]) == 2

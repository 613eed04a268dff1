"""The pandas API and the CLI on a finished suite: the right rows, runs and statuses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness import cli, results
from harness.names import EPISODE_RETURN
from harness.store import RunRecord
from harness.store.tables import run_tables


def test_runs_has_one_row_per_run_with_config_and_status(small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    table = results.runs("small", root=root)
    assert len(table) == 8
    assert set(table["status"]) == {"done"}
    assert set(table["exp_name"]) == {"ppo", "ppo-lr"}
    assert set(table["env_id"]) == {"CartPole-v1", "Acrobot-v1"}
    assert sorted(set(table["seed"])) == [0, 1]
    assert set(table.loc[table.exp_name == "ppo-lr", "learning_rate"]) == {1e-3}
    assert (table["global_step"] == 10240).all()
    assert (table["compile_seconds"] > 0).all()


def test_load_returns_every_stored_value_as_a_tidy_row(small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    tidy = results.load("small", root=root)
    assert list(tidy.columns) == ["run_id", "suite", "exp_name", "env_id", "seed", "global_step",
                                  "metric", "value"]
    expected = 0
    for run_id in results.runs("small", root=root)["run_id"]:
        record = RunRecord(results.suite_paths("small", root).run(run_id))
        metrics, episodes = run_tables(record, record.status())
        expected += int(metrics.to_pandas().drop(columns="global_step").notna().sum().sum())
        expected += 2 * episodes.num_rows  # a return and a length row per episode
    assert len(tidy) == expected
    assert not tidy["value"].isna().any()
    updates = tidy[~tidy["metric"].str.startswith("charts/episodic")]
    assert not updates.duplicated(["run_id", "global_step", "metric"]).any()
    assert tidy.groupby("run_id")["global_step"].max().eq(10240).all()


def test_load_filters_by_algorithm_environment_seed_and_metric(
        small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    rows = results.load("small", root=root, exp_name="ppo-lr", env_id="Acrobot-v1", seed=[1],
                        metrics=EPISODE_RETURN)
    assert set(rows["exp_name"]) == {"ppo-lr"} and set(rows["env_id"]) == {"Acrobot-v1"}
    assert set(rows["seed"]) == {1} and set(rows["metric"]) == {EPISODE_RETURN}
    assert len(rows) > 0 and (rows["value"] >= -500).all() and (rows["value"] <= 0).all()


def test_wide_form_has_a_row_per_update_and_per_episode_and_a_column_per_metric(
        small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    wide = results.load(suite, root=root, wide=True)
    episodes = results.episodes(suite, root=root)
    assert len(wide) == 8 * 20 + len(episodes)
    assert {"global_step", EPISODE_RETURN, "losses/value_loss"} <= set(wide.columns)
    updates = results.load(suite, root=root, wide=True, metrics="losses/value_loss")
    assert len(updates) == 8 * 20
    for _, rows in wide.groupby("run_id"):
        assert rows["global_step"].is_monotonic_increasing


def test_suite_file_argument_selects_the_runs_it_defines(small_suite: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    suite, root = small_suite
    narrowed = tmp_path / "small.yaml"
    narrowed.write_text(suite.read_text().replace("seeds: 2", "seeds: 1"))
    assert len(results.runs(narrowed, root=root)) == 4
    assert len(results.runs("small", root=root)) == 8


def test_summary_and_final_scores(small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    finals = results.final_scores("small", root=root)
    counts = results.runs("small", root=root).set_index("run_id")["train_episodes"]
    assert len(finals) == 8
    assert (finals["episodes"] == counts[finals["run_id"]].clip(upper=100).to_numpy()).all()
    table = results.summary("small", root=root)
    assert len(table) == 4 and (table["done"] == 2).all() and (table["failed"] == 0).all()
    cartpole = finals[finals.env_id == "CartPole-v1"]["score"]
    assert ((cartpole > 8) & (cartpole <= 500)).all()


def test_last_100_episode_score_is_the_mean_of_the_last_100_episode_rows(
        small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    episodes = results.episodes("small", root=root, kind="train")
    for reduction in ("last_episodes:100", "last_episodes:7", "last_fraction:0.1", "eval"):
        finals = results.final_scores("small", root=root, reduction=reduction)
        for row in finals.itertuples():
            mine = episodes[episodes.run_id == row.run_id]
            if reduction.startswith("last_episodes"):
                n = int(reduction.split(":")[1])
                expected = mine["episodic_return"].tail(n).mean()
            elif reduction.startswith("last_fraction"):
                expected = mine.loc[mine["global_step"] > 0.9 * 10240, "episodic_return"].mean()
            else:
                expected = float("nan")
            assert row.score == pytest.approx(expected, nan_ok=True), (reduction, row.run_id)


def test_unknown_suite_names_what_exists(small_suite: tuple[Path, Path]) -> None:
    suite, root = small_suite
    with pytest.raises(FileNotFoundError, match="found: small"):
        results.load("nope", root=root)


def test_plan_and_status_report_done_runs_and_rerun_trains_nothing(
        small_suite: tuple[Path, Path], capsys: pytest.CaptureFixture) -> None:
    suite, root = small_suite
    assert cli.main(["plan", str(suite), "--results-dir", str(root), "--runs"]) == 0
    out = capsys.readouterr().out
    for run_id in results.runs("small", root=root)["run_id"]:
        assert run_id in out
    assert "8 runs: 8 done; 0 to train in 0 jobs" in out
    assert cli.main(["status", str(suite), "--results-dir", str(root)]) == 0
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in capsys.readouterr().out.splitlines() if "CartPole-v1" in line]
    assert sorted(rows) == [["ppo", "CartPole-v1", "0", "0", "0", "0", "2", "0", "0", ""],
                            ["ppo-lr", "CartPole-v1", "0", "0", "0", "0", "2", "0", "0", ""]]
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert "8 already done, 0 to train in 0 jobs" in capsys.readouterr().out
    assert pd.Series(results.runs("small", root=root)["status"]).eq("done").all()

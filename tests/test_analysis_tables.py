"""The analysis tables over stored runs: scores of several suites, declared normalisation,
per-task statistics, score arrays with ragged seeds, aggregates, profiles, runtimes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis.errors import AnalysisError
from harness.analysis.scores import normalize, run_scores, score_arrays
from harness.analysis.tables import (
    ONE_SEED,
    aggregate_table,
    improvement_table,
    profile_table,
    runtime_table,
    sample_efficiency_table,
    task_table,
)
from harness.references import load_normalization
from tests.synthetic_runs import write_finished_runs

OURS = {("ppo", "CartPole-v1"): [400.0, 420.0, 440.0], ("dqn", "CartPole-v1"): [300.0, 310.0],
        ("ppo", "Acrobot-v1"): [-100.0, -90.0, -80.0], ("dqn", "Acrobot-v1"): [-150.0, -140.0]}
NORMALIZATION = pd.DataFrame({"env_id": ["CartPole-v1", "Acrobot-v1"], "random": [0.0, -500.0],
                              "reference": [500.0, 0.0]})


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two suites sharing exp_names: `ours` and `theirs` (ppo only, CartPole only)."""
    root = tmp_path_factory.mktemp("tables") / "results"
    write_finished_runs(root, "ours", OURS)
    write_finished_runs(root, "theirs", {("ppo", "CartPole-v1"): [480.0, 490.0]})
    return root


def test_scores_of_two_suites_tell_shared_experiment_names_apart_by_suite(root: Path) -> None:
    scores = run_scores(["ours", "theirs"], root=root)
    assert sorted(scores["exp_name"].unique()) == ["dqn", "ours/ppo", "theirs/ppo"]
    theirs = scores[scores["exp_name"] == "theirs/ppo"]
    assert np.allclose(theirs["score"], [480.0, 490.0])
    assert len(scores) == 12


def test_unknown_names_and_suites_are_one_line_errors(root: Path) -> None:
    with pytest.raises(AnalysisError, match="unknown algorithm 'a2c'.*dqn, ppo"):
        run_scores("ours", root=root, exp_name="a2c")
    with pytest.raises(AnalysisError, match="unknown environment 'Pong'"):
        run_scores("ours", root=root, env_id=["Pong"])
    with pytest.raises(AnalysisError, match="no results for suite 'nosuch'"):
        run_scores("nosuch", root=root)


def test_normalisation_uses_the_declared_scores_not_the_data(root: Path) -> None:
    scores = normalize(run_scores("ours", root=root), NORMALIZATION)
    ppo = scores[(scores["exp_name"] == "ppo") & (scores["env_id"] == "Acrobot-v1")]
    # (score - random) / (reference - random) = (s + 500) / 500
    assert np.allclose(ppo["normalized"], [0.8, 0.82, 0.84])
    alone = normalize(run_scores("ours", root=root, exp_name="dqn"), NORMALIZATION)
    assert np.allclose(alone.loc[alone["env_id"] == "CartPole-v1", "normalized"], [0.6, 0.62])
    with pytest.raises(AnalysisError, match="no declared random and reference score for "
                                            "Acrobot-v1"):
        normalize(run_scores("ours", root=root), NORMALIZATION.iloc[:1])


def test_the_shipped_normalisation_covers_the_shipped_gymnasium_suites() -> None:
    declared = set(load_normalization()["env_id"])
    assert {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1",
            "MountainCarContinuous-v0", "HalfCheetah-v5", "Hopper-v5"} <= declared


def test_task_table_holds_hand_checked_statistics_and_the_published_reference(
        root: Path) -> None:
    table = task_table(normalize(run_scores("ours", root=root), NORMALIZATION))
    row = table[(table["exp_name"] == "ppo") & (table["env_id"] == "CartPole-v1")].iloc[0]
    assert row["runs"] == 3 and row["mean"] == pytest.approx(420.0)
    assert row["std"] == pytest.approx(20.0)  # sample std of 400, 420, 440
    assert np.allclose(row[["median", "min", "max"]].astype(float), [420.0, 400.0, 440.0])
    assert row["iqm"] == pytest.approx(420.0)  # int(0.25 * 3) = 0 cut each side
    assert row["normalized_mean"] == pytest.approx(0.84)
    assert row["reference"].startswith("490.0 ± 6.1")


def test_score_arrays_pad_ragged_seeds_and_keep_only_shared_tasks(root: Path) -> None:
    scores = normalize(run_scores(["ours", "theirs"], root=root), NORMALIZATION)
    arrays = score_arrays(scores)
    assert arrays.tasks == ["CartPole-v1"] and arrays.dropped == ["Acrobot-v1"]
    assert arrays.arrays["dqn"].shape == (2, 1)
    assert np.allclose(arrays.arrays["ours/ppo"][:, 0], [0.8, 0.84, 0.88])
    ours = score_arrays(normalize(run_scores("ours", root=root), NORMALIZATION))
    assert ours.tasks == ["Acrobot-v1", "CartPole-v1"]
    assert ours.arrays["dqn"].shape == (2, 2) and not np.isnan(ours.arrays["dqn"]).any()


def test_aggregates_mark_one_seed_tables_instead_of_inventing_an_interval(root: Path) -> None:
    single = normalize(run_scores("ours", root=root), NORMALIZATION).groupby(
        ["exp_name", "env_id"]).head(1)
    table = aggregate_table(score_arrays(single), reps=200)
    assert set(table["note"]) == {ONE_SEED}
    assert table["lower"].isna().all() and table["estimate"].notna().all()
    ppo_mean = table[(table["exp_name"] == "ppo") & (table["statistic"] == "Mean")]
    assert ppo_mean["estimate"].iloc[0] == pytest.approx((0.8 + 0.8) / 2)


def test_aggregate_intervals_are_repeatable_by_seed_and_cover_the_estimate(root: Path) -> None:
    arrays = score_arrays(normalize(run_scores("ours", root=root), NORMALIZATION))
    first = aggregate_table(arrays, reps=500, seed=3)
    pd.testing.assert_frame_equal(first, aggregate_table(arrays, reps=500, seed=3))
    assert not first.equals(aggregate_table(arrays, reps=500, seed=4))
    assert ((first["lower"] <= first["estimate"]) & (first["estimate"] <= first["upper"])).all()
    assert set(first["statistic"]) == {"IQM", "Median", "Mean", "Optimality Gap"}


def test_profiles_and_improvement_cover_every_algorithm(root: Path) -> None:
    arrays = score_arrays(normalize(run_scores("ours", root=root), NORMALIZATION))
    profile = profile_table(arrays, np.array([0.0, 0.7, 1.0]), reps=100)
    ppo = profile[profile["exp_name"] == "ppo"]
    # ppo's normalised scores: Acrobot 0.8, 0.82, 0.84 and CartPole 0.8, 0.84, 0.88: all > 0.7
    assert list(ppo["fraction"]) == [1.0, 1.0, 0.0]
    improvement = improvement_table(arrays, reps=100)
    row = improvement[improvement["exp_name_x"] == "ppo"].iloc[0]
    assert row["exp_name_y"] == "dqn" and row["estimate"] == 1.0


def test_sample_efficiency_ends_at_the_final_iqm(root: Path) -> None:
    scores = normalize(run_scores("ours", root=root), NORMALIZATION)
    table = sample_efficiency_table(scores, "ours", root=root, normalization=NORMALIZATION,
                                    points=5, reps=100)
    final = aggregate_table(score_arrays(scores), reps=100)
    last = table[table["global_step"] == table["global_step"].max()].set_index("exp_name")
    for name in ("dqn", "ppo"):
        iqm = final[(final["exp_name"] == name) & (final["statistic"] == "IQM")]["estimate"]
        assert last.at[name, "estimate"] == pytest.approx(iqm.iloc[0])
    assert list(table["global_step"].unique()) == [4000, 8000, 12000, 16000, 20000]


def test_runtime_table_averages_recorded_timings(root: Path) -> None:
    table = runtime_table(["ours", "theirs"], root=root)
    row = table[(table["exp_name"] == "ours/ppo") & (table["env_id"] == "CartPole-v1")].iloc[0]
    assert row["runs"] == 3 and row["compile_seconds"] == 1.5
    assert row["wall_seconds"] == pytest.approx(21.5) and row["sps"] == pytest.approx(1000.0)

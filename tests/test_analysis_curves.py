"""Learning curves: interpolation, per-run smoothing, seed counts, wall time, the store layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from harness.analysis import curves
from harness.names import EVAL, GLOBAL_STEP, SPS, TRAIN
from harness.store import SuitePaths
from harness.store.tables import episode_table
from harness.store.writer import RunWriter
from tests.synthetic_runs import write_finished_runs


def write_run(root: Path, suite: str, run_id: str, exp_name: str, seed: int,
              episodes: tuple[list[int], list[float]], sps: tuple[list[int], list[float]],
              pulled: bool = False, rate: str = SPS, kinds: list[str] | None = None) -> None:
    """A finished run with these episodes (steps, returns; training ones unless `kinds` says)
    and SPS rows (steps, SPS) logged as metric `rate`; `pulled` stores it as `harness pull`
    stores a CleanRL run."""
    writer = RunWriter(SuitePaths(root, suite).run(run_id), lease=None)
    writer.paths.dir.mkdir(parents=True, exist_ok=True)
    writer.paths.chunks_dir.mkdir(parents=True, exist_ok=True)
    config = {"algo": "ppo", "exp_name": exp_name, "env_id": "CartPole-v1", "seed": seed,
              "total_timesteps": max(sps[0]), "hyperparameters": {}}
    if pulled:
        config["source"] = {"wandb": f"entity/project/{run_id}", "reserved_config": {}}
    writer.write_config(config, suite)
    writer.update_metadata(**({"source": "wandb"} if pulled else {"attempt": 1}))
    steps, returns = episodes
    frame = episode_table({
        "kind": np.array(kinds or [TRAIN] * len(steps), dtype=object),
        GLOBAL_STEP: np.asarray(steps, np.int64),
        "episodic_return": np.asarray(returns, np.float64),
        "episodic_length": np.ones(len(steps), np.int64),
        "terminated": np.ones(len(steps), bool)})
    rows = pa.table({GLOBAL_STEP: np.asarray(sps[0], np.int64),
                     rate: np.asarray(sps[1], np.float64)})
    writer.write_chunk(0, rows, frame)
    writer.finish(1, global_step=max(sps[0]))


FLAT_SPS = ([10, 20, 30], [10.0, 10.0, 10.0])


def test_align_is_exact_at_logged_points_and_linear_between() -> None:
    steps, values = np.array([0, 10, 30]), np.array([1.0, 3.0, -1.0])
    grid = np.array([0, 5, 10, 20, 30])
    assert curves.align(steps, values, grid) == pytest.approx([1.0, 2.0, 3.0, 1.0, -1.0])


def test_align_is_nan_outside_the_runs_own_range() -> None:
    aligned = curves.align(np.array([10, 20]), np.array([1.0, 2.0]), np.array([0, 10, 20, 25]))
    assert np.isnan(aligned[[0, 3]]).all()
    assert aligned[1:3] == pytest.approx([1.0, 2.0])


def test_align_takes_the_mean_of_values_logged_at_one_step() -> None:
    aligned = curves.align(np.array([0, 10, 10]), np.array([0.0, 2.0, 4.0]), np.array([5, 10]))
    assert aligned == pytest.approx([1.5, 3.0])


def test_align_rejects_decreasing_steps_and_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        curves.align(np.array([10, 0]), np.array([1.0, 2.0]), np.array([5]))
    with pytest.raises(ValueError, match="differ in length"):
        curves.align(np.array([0, 10]), np.array([1.0]), np.array([5]))


def test_smooth_is_a_trailing_mean_over_the_last_window_points() -> None:
    values = np.array([0.0, 2.0, 4.0, 10.0])
    assert curves.smooth(values, 2) == pytest.approx([0.0, 1.0, 3.0, 7.0])
    assert curves.smooth(values, 3) == pytest.approx([0.0, 1.0, 2.0, 16 / 3])
    assert curves.smooth(values, 1) == pytest.approx(values)


@pytest.mark.parametrize("window", [0, -1, 1.5, True])
def test_smooth_rejects_a_window_that_is_not_a_positive_whole_number(window: object) -> None:
    with pytest.raises(ValueError, match="smoothing window"):
        curves.smooth(np.array([1.0, 2.0]), window)  # type: ignore[arg-type]


def test_curve_grid_spans_the_smallest_to_the_largest_x_of_any_run() -> None:
    grid = curves.curve_grid([np.array([10, 20]), np.array([5, 15, 40]), np.array([])], 8)
    assert grid == pytest.approx(np.linspace(5, 40, 8))
    with pytest.raises(ValueError, match="points"):
        curves.curve_grid([np.array([0, 1])], 1)


def test_seeds_count_the_runs_standing_on_each_point_and_one_seed_has_no_band() -> None:
    aligned = np.array([[1.0, 2.0, 3.0], [3.0, 4.0, np.nan], [np.nan, np.nan, np.nan]])
    band = curves.aggregate(aligned, reps=500, seed=0)
    assert band.seeds.tolist() == [2, 2, 1]
    assert band.estimate == pytest.approx([2.0, 3.0, 3.0])
    assert np.isnan(band.lower[2]) and np.isnan(band.upper[2])
    assert (band.lower[:2] <= band.estimate[:2]).all()
    assert (band.estimate[:2] <= band.upper[:2]).all()


def test_aggregate_band_is_fixed_by_its_seed() -> None:
    aligned = np.random.default_rng(3).normal(size=(5, 4))
    first, again = (curves.aggregate(aligned, reps=300, seed=7) for _ in range(2))
    other = curves.aggregate(aligned, reps=300, seed=8)
    assert np.array_equal(first.lower, again.lower)
    assert not np.array_equal(first.lower, other.lower)


def test_chunk_sps_sums_step_increments_over_their_chunk_rate() -> None:
    # two chunks of two rows: 100 steps/s, then 50 steps/s
    elapsed = curves.elapsed_seconds(np.array([100, 200, 300, 400]),
                                     np.array([100.0, 100.0, 50.0, 50.0]), "chunk")
    assert elapsed == pytest.approx([1.0, 2.0, 4.0, 6.0])


def test_cumulative_sps_divides_the_step_by_the_rate_since_start() -> None:
    elapsed = curves.elapsed_seconds(np.array([100, 200, 400]), np.array([100.0, 50.0, 80.0]),
                                     "cumulative")
    assert elapsed == pytest.approx([1.0, 4.0, 5.0])
    # an SPS rounded down can make step / SPS dip; elapsed time never goes back
    dipped = curves.elapsed_seconds(np.array([100, 101]), np.array([10.0, 11.0]), "cumulative")
    assert dipped == pytest.approx([10.0, 10.0])


def test_elapsed_seconds_rejects_a_rate_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        curves.elapsed_seconds(np.array([1, 2]), np.array([1.0, 0.0]), "chunk")


def test_wall_time_is_interpolated_from_step_zero_and_missing_past_the_last_sps_row() -> None:
    at = curves.wall_time_at(np.array([50, 100, 150, 250]), np.array([100, 200]),
                             np.array([1.0, 4.0]))
    assert at[:3] == pytest.approx([0.5, 1.0, 2.5])
    assert np.isnan(at[3])


def test_sps_convention_is_cumulative_only_for_runs_pulled_from_other_loggers() -> None:
    assert curves.sps_convention({"exp_name": "ppo"}, {"attempt": 1}) == "chunk"
    pulled = {"source": {"wandb": "e/p/x", "reserved_config": {}}}
    assert curves.sps_convention(pulled, {"source": "wandb"}) == "cumulative"
    mirrored = {"source": {"wandb": "e/p/x", "reserved_config": {"run_id": "ab12", "suite": "s"}}}
    assert curves.sps_convention(mirrored, {"source": "wandb"}) == "chunk"


def test_learning_curves_smooth_each_run_before_aggregating(tmp_path: Path) -> None:
    # per run (window 2): a = 0, 2 at steps 10, 30; b = 0, 0, 4 at 10, 20, 30 -> mean 3 at 30;
    # smoothing the mean curve instead would give 3.5 there
    write_run(tmp_path, "hand", "a", "ppo", 0, ([10, 30], [0.0, 4.0]), FLAT_SPS)
    write_run(tmp_path, "hand", "b", "ppo", 1, ([10, 20, 30], [0.0, 0.0, 8.0]), FLAT_SPS)
    table = curves.learning_curves("hand", root=tmp_path, points=3, smoothing=2, reps=200)
    assert table["x"].tolist() == pytest.approx([10.0, 20.0, 30.0])
    assert table["estimate"].tolist() == pytest.approx([0.0, 0.5, 3.0])
    assert table["seeds"].tolist() == [2, 2, 2]


def test_learning_curves_leave_out_points_no_run_of_an_algorithm_reaches(tmp_path: Path) -> None:
    write_run(tmp_path, "hand", "a", "ppo", 0, ([10, 20], [1.0, 3.0]), FLAT_SPS)
    write_run(tmp_path, "hand", "b", "dqn", 0, ([10, 30], [5.0, 5.0]), FLAT_SPS)
    table = curves.learning_curves("hand", root=tmp_path, points=3, smoothing=1, reps=200)
    ppo = table[table["exp_name"] == "ppo"]
    assert ppo["x"].tolist() == pytest.approx([10.0, 20.0])
    assert ppo["seeds"].tolist() == [1, 1]
    assert ppo[["lower", "upper"]].isna().all().all()
    assert table[table["exp_name"] == "dqn"]["x"].tolist() == pytest.approx([10.0, 20.0, 30.0])


def test_wall_time_curves_read_each_runs_sps_by_who_logged_it(tmp_path: Path) -> None:
    # the same SPS rows: per chunk they give 1, 2, 4 s; as CleanRL's cumulative rate 1, 2, 6 s
    sps = ([100, 200, 300], [100.0, 100.0, 50.0])
    write_run(tmp_path, "ours", "a", "ppo", 0, ([100, 300], [1.0, 3.0]), sps)
    write_run(tmp_path, "wandb-e-p", "wandb-x", "cleanrl", 0, ([100, 300], [1.0, 3.0]), sps,
              pulled=True)
    table = curves.learning_curves(["ours", "wandb-e-p"], root=tmp_path, x="wall_time",
                                   points=6, smoothing=1, reps=200)
    ours, pulled = (table[table["exp_name"] == name] for name in ("ppo", "cleanrl"))
    assert set(table["x_name"]) == {"wall_time"}
    assert ours["x"].max() == pytest.approx(4.0)
    assert pulled["x"].tolist() == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert pulled["estimate"].tolist() == pytest.approx([1.0, 1.4, 1.8, 2.2, 2.6, 3.0])


def test_eval_return_curves_read_only_evaluation_episodes(tmp_path: Path) -> None:
    write_run(tmp_path, "hand", "a", "ppo", 0, ([10, 20, 20, 30], [1.0, 9.0, 5.0, 9.0]),
              FLAT_SPS, kinds=[TRAIN, EVAL, TRAIN, EVAL])
    table = curves.learning_curves("hand", root=tmp_path, metric="eval/episodic_return",
                                   points=2, smoothing=1, reps=200)
    assert table["x"].tolist() == pytest.approx([20.0, 30.0])
    assert table["estimate"].tolist() == pytest.approx([9.0, 9.0])


def test_wall_time_curves_name_the_runs_that_never_logged_sps(tmp_path: Path) -> None:
    write_run(tmp_path, "hand", "a", "ppo", 0, ([10, 20], [1.0, 3.0]), FLAT_SPS)
    write_run(tmp_path, "hand", "b", "ppo", 1, ([10, 20], [1.0, 3.0]), FLAT_SPS,
              rate="losses/value_loss")
    with pytest.raises(ValueError, match="needs charts/SPS, which runs b never logged"):
        curves.learning_curves("hand", root=tmp_path, x="wall_time")


def test_learning_curves_of_a_finished_store_end_at_the_mean_final_score(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_finished_runs(root, "syn", {("ppo", "CartPole-v1"): [10.0, 20.0, 30.0],
                                      ("dqn", "CartPole-v1"): [5.0, 7.0]})
    table = curves.learning_curves("syn", root=root, points=20, smoothing=100, reps=500)
    assert list(table.columns) == curves.CURVE_COLUMNS
    last = table.groupby("exp_name")[["estimate", "seeds"]].last()
    # the last 100 episodes of each seed average to its final score; the last one ends the run
    assert last.loc["ppo", "estimate"] == pytest.approx(20.0)
    assert last.loc["dqn", "estimate"] == pytest.approx(6.0)
    assert last["seeds"].to_dict() == {"dqn": 2, "ppo": 3}


def test_learning_curves_of_an_unknown_metric_name_it_and_list_the_logged_ones(
        tmp_path: Path) -> None:
    write_run(tmp_path, "hand", "a", "ppo", 0, ([10, 20], [1.0, 3.0]), FLAT_SPS)
    with pytest.raises(ValueError, match=r"'losses/nope'.*charts/SPS, charts/episodic_length"):
        curves.learning_curves("hand", root=tmp_path, metric="losses/nope")


def test_learning_curves_reject_an_unknown_x_axis(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="x must be one of global_step, wall_time"):
        curves.learning_curves("hand", root=tmp_path, x="episodes")

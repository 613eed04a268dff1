"""AdaStop comparisons: decisions on known distributions, upstream's example, the suite table,
the `harness compare` command and its stored JSON/CSV."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import cli, results
from harness.analysis.adastop import (
    TABLE_COLUMNS,
    AdaStopInputError,
    compare_algorithms,
    compare_suite,
    seed_ranges,
    untrained_seeds,
)
from harness.cli.exit_codes import EXIT_BAD_INPUT
from tests.synthetic_runs import write_finished_runs

EXAMPLE = Path(__file__).parent / "fixtures" / "adastop_example.csv"


def _example_scores() -> dict[str, np.ndarray]:
    """Upstream's Walker scores per agent, float [seeds] in seed order."""
    frame = pd.read_csv(EXAMPLE, comment="#")
    return {agent: group.sort_values("seed")["score"].to_numpy()
            for agent, group in frame.groupby("agent", sort=False)}


def test_clearly_different_scores_are_decided_before_the_last_interim() -> None:
    rng = np.random.default_rng(0)
    result = compare_algorithms({"low": rng.normal(0, 1, 25), "high": rng.normal(3, 1, 25)},
                                n=5, K=5, alpha=0.05, B=10_000, seed=0)
    (pair,) = result.pairs
    assert (pair.algo_1, pair.algo_2, pair.decision) == ("low", "high", "smaller")
    assert result.finished and pair.interims < 5 and result.interims < 5
    assert result.used == {"low": 5 * pair.interims, "high": 5 * pair.interims}
    assert pair.mean_1 < pair.mean_2


def test_identical_distributions_end_equal_after_all_interims() -> None:
    rng = np.random.default_rng(1)
    result = compare_algorithms({"a": rng.normal(0, 1, 25), "b": rng.normal(0, 1, 25)},
                                n=5, K=5, alpha=0.05, B=10_000, seed=0)
    (pair,) = result.pairs
    assert pair.decision == "equal" and pair.interims == 5 and pair.seeds == 25
    assert result.finished and result.interims == 5 and len(result.thresholds) == 5


def test_upstream_example_gives_the_decisions_upstream_reports() -> None:
    # docs/tutorials.md of TimotheeMathieu/adastop (see the fixture's header); its tests use
    # seed 1. DDPG vs TRPO is close: it is rejected only at the last interim.
    result = compare_algorithms(_example_scores(), n=5, K=5, alpha=0.05, B=10_000, seed=1)
    decisions = {(p.algo_1, p.algo_2): p.decision for p in result.pairs}
    assert decisions == {("PPO", "DDPG"): "larger", ("PPO", "SAC"): "smaller",
                         ("PPO", "TRPO"): "larger", ("DDPG", "SAC"): "smaller",
                         ("DDPG", "TRPO"): "smaller", ("SAC", "TRPO"): "larger"}
    assert result.used == {"PPO": 10, "DDPG": 25, "SAC": 10, "TRPO": 25}
    assert result.finished


def test_the_seed_controls_the_permutations_and_repeats_exactly() -> None:
    scores = _example_scores()
    first = compare_algorithms(scores, n=5, K=5, alpha=0.05, B=2_000, seed=3)
    again = compare_algorithms(scores, n=5, K=5, alpha=0.05, B=2_000, seed=3)
    other = compare_algorithms(scores, n=5, K=5, alpha=0.05, B=2_000, seed=4)
    assert first == again
    # interim 1 enumerates all C(10, 5) permutations; later interims draw them at random
    assert first.thresholds[0] == other.thresholds[0]
    assert first.thresholds[1:] != other.thresholds[1:]


def test_the_package_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    compare_algorithms(_example_scores(), n=5, K=5, alpha=0.05, B=500, seed=0)
    assert capsys.readouterr().out == ""


def test_algorithms_whose_pairs_are_decided_get_no_more_seeds() -> None:
    rng = np.random.default_rng(3)
    result = compare_algorithms({"a": rng.normal(0, 1, 25), "b": rng.normal(0, 1, 25),
                                 "c": rng.normal(10, 1, 25)}, n=5, K=5, B=2_000, seed=0)
    decisions = {(p.algo_1, p.algo_2): (p.decision, p.interims) for p in result.pairs}
    assert decisions == {("a", "b"): ("equal", 5), ("a", "c"): ("smaller", 1),
                         ("b", "c"): ("smaller", 1)}
    assert result.used == {"a": 25, "b": 25, "c": 5}


def test_undecided_when_seeds_run_out_says_how_many_more_and_replays_with_more() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 25), rng.normal(0.5, 1, 25)
    short = compare_algorithms({"a": a[:12], "b": b[:10]}, n=5, K=5, B=2_000, seed=0)
    (pair,) = short.pairs
    assert (pair.decision, pair.interims, pair.seeds) == ("continue", 2, 10)
    assert not short.finished and short.more == {"a": 3, "b": 5}
    longer = compare_algorithms({"a": a, "b": b}, n=5, K=5, B=2_000, seed=0)
    assert longer.thresholds[:2] == short.thresholds
    assert longer.finished and longer.pairs[0].decision != "continue"


def test_too_few_scores_nan_and_bad_parameters_are_refused() -> None:
    with pytest.raises(AdaStopInputError, match="'b' has 4 scores"):
        compare_algorithms({"a": np.zeros(5), "b": np.zeros(4)}, n=5)
    with pytest.raises(AdaStopInputError, match="scores of 'b' hold NaN"):
        compare_algorithms({"a": np.zeros(5), "b": np.array([0, 1, np.nan, 2, 3])}, n=5)
    with pytest.raises(AdaStopInputError, match="at least 2 algorithms"):
        compare_algorithms({"a": np.zeros(5)}, n=5)
    with pytest.raises(AdaStopInputError, match="alpha must be in"):
        compare_algorithms({"a": np.zeros(5), "b": np.zeros(5)}, alpha=1.5)


def test_seeds_read_as_ranges_and_suggestions_fill_gaps_first() -> None:
    assert seed_ranges([5, 0, 1, 2, 7, 8]) == "0-2, 5, 7-8"
    assert untrained_seeds([0, 1, 2, 4], 3) == [3, 5, 6]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Results root of suite `cmp`: 10 seeds of ppo and dqn on CartPole-v1 (close, undecided
    after 2 interims) and Acrobot-v1 (far apart), 5 seeds of sac on Acrobot-v1 only."""
    root = tmp_path_factory.mktemp("adastop") / "results"
    rng = np.random.default_rng(0)
    write_finished_runs(root, "cmp", {
        ("ppo", "CartPole-v1"): list(rng.normal(100, 5, 10)),
        ("dqn", "CartPole-v1"): list(rng.normal(102, 5, 10)),
        ("ppo", "Acrobot-v1"): list(rng.normal(-100, 5, 10)),
        ("dqn", "Acrobot-v1"): list(rng.normal(-300, 5, 10)),
        ("sac", "Acrobot-v1"): list(rng.normal(-100, 5, 3))})
    return root


def test_suite_table_has_one_row_per_env_and_pair_in_the_order_asked(store: Path) -> None:
    table = compare_suite("cmp", root=store, algos=["ppo", "dqn"], B=2_000)
    assert list(table.columns) == TABLE_COLUMNS
    rows = table.set_index("env_id")
    assert list(rows.index) == ["Acrobot-v1", "CartPole-v1"]
    assert set(table["algo_1"]) == {"ppo"} and set(table["algo_2"]) == {"dqn"}
    assert rows.loc["Acrobot-v1", "decision"] == "larger"
    undecided = rows.loc["CartPole-v1"]
    assert (undecided["decision"], undecided["interims"], undecided["seeds_1"]) == \
        ("continue", 2, 10)
    assert undecided["seed_list_1"] == "0-9"
    assert (undecided["more_seeds_1"], undecided["next_seeds_1"]) == (5, "10-14")
    scores = results.final_scores("cmp", root=store)
    ppo = scores[(scores.exp_name == "ppo") & (scores.env_id == "CartPole-v1")]
    assert undecided["mean_1"] == pytest.approx(ppo["score"].mean())


def test_compare_prints_and_stores_the_decisions_and_scores(
        store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", "cmp", "--results-dir", str(store), "--algos", "ppo", "dqn",
            "--B", "2000", "--seed", "7"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "ppo > dqn" in out and "ppo ? dqn" in out
    assert "train seeds 10-14 of ppo and seeds 10-14 of dqn" in out
    stored = sorted((store / "cmp" / "analysis").glob("adastop-*"))
    assert [p.suffix for p in stored] == [".csv", ".json"]
    assert str(stored[1]) in out.replace("\n", "")
    record = json.loads(stored[1].read_text())
    assert record["parameters"] == {"suite": "cmp", "algos": ["ppo", "dqn"],
                                    "envs": ["Acrobot-v1", "CartPole-v1"],
                                    "reduction": "last_episodes:100", "n": 5, "K": 5,
                                    "alpha": 0.05, "B": 2000, "seed": 7}
    cartpole = record["environments"][1]
    assert cartpole["env_id"] == "CartPole-v1" and not cartpole["finished"]
    assert cartpole["decisions"][0]["decision"] == "continue"
    finals = results.final_scores("cmp", root=store).set_index("run_id")["score"]
    used = cartpole["scores"]["ppo"]
    assert [s["seed"] for s in used] == list(range(10))
    assert all(finals[s["run_id"]] == s["score"] for s in used)
    table = pd.read_csv(stored[0], keep_default_na=False)
    assert list(table.columns) == TABLE_COLUMNS
    assert list(table["decision"]) == ["larger", "continue"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert sorted((store / "cmp" / "analysis").glob("adastop-*")) == stored


@pytest.mark.parametrize(("flags", "message"), [
    (["nosuch"], "no results for suite 'nosuch'"),
    (["cmp", "--algos", "ppo", "td3"], "no finished runs of algorithm td3"),
    (["cmp", "--algos", "ppo"], "at least 2 algorithms"),
    (["cmp", "--algos", "ppo", "dqn", "--env", "Pendulum-v1"], "environment Pendulum-v1"),
    (["cmp", "--algos", "ppo", "sac"], "sac has 3 finished seeds on Acrobot-v1"),
    (["cmp", "--algos", "sac", "ppo", "--env", "CartPole-v1"],
     "sac has 0 finished seeds on CartPole-v1"),
    (["cmp", "--reduction", "last_episodes:many"], "--reduction"),
    (["cmp", "--alpha", "0"], "alpha must be in (0, 1)"),
])
def test_bad_input_is_one_line_and_exit_2(store: Path, capsys: pytest.CaptureFixture[str],
                                          flags: list[str], message: str) -> None:
    assert cli.main(["compare", *flags, "--results-dir", str(store)]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_runs_without_a_final_score_are_named(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "results"
    ids = write_finished_runs(root, "nan", {("ppo", "CartPole-v1"): [1, 2, 3, 4, float("nan")],
                                            ("dqn", "CartPole-v1"): [1, 2, 3, 4, 5]})
    nan_run = results.final_scores("nan", root=root).query("score != score")["run_id"].item()
    assert nan_run in ids
    assert cli.main(["compare", "nan", "--results-dir", str(root)]) == EXIT_BAD_INPUT
    assert f"runs {nan_run} have no final score" in capsys.readouterr().err

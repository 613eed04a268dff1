"""Adaptive seeds: suite validation, AdaStop's decision step, and `harness run` interim by interim
(stopping early, storing its state, resuming after a kill without losing or repeating one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from harness import cli
from harness.adaptive import adaptive_state, decide, needed_runs, state_path
from harness.execute import make_plan
from harness.store import SuitePaths
from harness.suite import SuiteError, load_suite
from harness.suite.adaptive_seeds import AdaptiveSeeds
from tests.conftest import live_runs, start_suite, write_suite
from tests.synthetic_runs import write_finished_runs

SUITE = """
name: {name}
algorithms:
  - {{algo: ppo, exp_name: ppo-learns, hyperparameters: {{learning_rate: 2.5e-3}}}}
  - {{algo: ppo, exp_name: ppo-frozen, hyperparameters: {{learning_rate: 1.0e-12}}}}
environments: [CartPole-v1]
seeds: {seeds}
total_timesteps: 8192
"""
ADAPTIVE = "{adaptive: true, per_interim: 3, interims: 3}"
SETTINGS = AdaptiveSeeds(adaptive=True, per_interim=5, interims=4)


def _suite(directory: Path, seeds: str = ADAPTIVE, name: str = "adaptive-e2e") -> Path:
    return write_suite(directory, SUITE.format(name=name, seeds=seeds))


@pytest.mark.parametrize(("seeds", "message"), [
    ("{adaptive: true, per_interim: 1, interims: 4}",
     r":6: seeds\.per_interim: expected a value >= 2, got 1"),
    ("{adaptive: true, per_interim: 5, interims: 0}",
     r":6: seeds\.interims: expected a value >= 1, got 0"),
    ("{adaptive: true, per_interim: 5, interims: 4, alpha: 1.0}",
     r":6: seeds\.alpha: expected a value < 1\.0, got 1\.0"),
    ("{adaptive: true, per_interim: 5, interims: 4, alpha: 0}",
     r":6: seeds\.alpha: expected a value > 0\.0, got 0"),
    ("{adaptive: true, per_interim: 5, interim: 4}", r"seeds\.interim: unknown key 'interim' "
                                                     r"\(did you mean 'interims'\?\)"),
    ("{adaptive: true, per_interim: 100, interims: 101}",
     r"seeds: expected at most 10,000 seeds, got 10100"),
])
def test_invalid_adaptive_block_is_one_line_at_its_key(tmp_path: Path, seeds: str,
                                                       message: str) -> None:
    with pytest.raises(SuiteError, match=message) as caught:
        load_suite(_suite(tmp_path, seeds))
    assert "\n" not in str(caught.value)


def test_adaptive_seeds_need_two_experiments(tmp_path: Path) -> None:
    path = write_suite(tmp_path, f"""
        name: alone
        algorithms: [{{algo: ppo}}]
        environments: [CartPole-v1]
        seeds: {ADAPTIVE}
        total_timesteps: 8192
        """)
    with pytest.raises(SuiteError, match=r":4: seeds: adaptive seeds compare experiments with "
                                         r"AdaStop, but the suite has only ppo"):
        load_suite(path)


def test_seed_list_is_every_seed_some_interim_may_train(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path))
    assert suite.seeds == AdaptiveSeeds(adaptive=True, per_interim=3, interims=3, alpha=0.05,
                                        B=10_000, seed=0)
    assert suite.seed_list == list(range(9))


def test_the_first_interim_trains_the_missing_first_seeds_of_every_experiment() -> None:
    state = decide({("a", "E"): [1.0, 2.0]}, ["a", "b"], ["E"], SETTINGS)
    env = state.environments[0]
    assert env.interims == 0 and not state.finished
    assert env.needed == {"a": [2, 3, 4], "b": [0, 1, 2, 3, 4]}


def test_clearly_different_algorithms_are_decided_after_the_first_interim() -> None:
    rng = np.random.default_rng(0)
    scores = {("good", "E"): rng.normal(100, 5, 5), ("bad", "E"): rng.normal(10, 5, 5)}
    state = decide(scores, ["good", "bad"], ["E"], SETTINGS)
    env = state.environments[0]
    assert state.finished and env.needed == {} and env.interims == 1
    assert [(p.algo_1, p.algo_2, p.decision, p.interims) for p in env.comparisons] == \
        [("good", "bad", "larger", 1)]


def test_identical_algorithms_need_every_interim() -> None:
    scores = list(np.random.default_rng(1).normal(50, 10, 20))
    for interim in range(1, 5):
        state = decide({("a", "E"): scores[:5 * interim], ("b", "E"): scores[:5 * interim]},
                       ["a", "b"], ["E"], SETTINGS)
        env = state.environments[0]
        assert env.interims == interim
        if interim < 4:
            seeds = list(range(5 * interim, 5 * interim + 5))
            assert env.needed == {"a": seeds, "b": seeds} and not state.finished
    assert state.finished and env.comparisons[0].decision == "equal"


def test_an_algorithm_decided_against_all_others_trains_no_more_seeds() -> None:
    rng = np.random.default_rng(1)
    best, tied = rng.normal(100, 5, 5), list(rng.normal(10, 5, 10))
    scores = {("best", "E"): best, ("b", "E"): tied, ("c", "E"): tied[::-1],
              ("best", "F"): tied[:5], ("b", "F"): tied, ("c", "F"): tied}
    state = decide(scores, ["best", "b", "c"], ["E", "F"], SETTINGS)
    e, f = state.environments
    assert [p.decision for p in e.comparisons] == ["larger", "larger", "continue"]
    assert e.undecided == ["b", "c"] and e.needed == {"b": [10, 11, 12, 13, 14],
                                                      "c": [10, 11, 12, 13, 14]}
    assert f.interims == 1 and f.needed == {"best": [5, 6, 7, 8, 9]}


def test_the_state_is_replayed_from_stored_finished_runs(tmp_path: Path) -> None:
    root = tmp_path / "results"
    rng = np.random.default_rng(2)
    same = list(rng.normal(50, 5, 5))
    write_finished_runs(root, "stored", {("good", "CartPole-v1"): list(rng.normal(100, 5, 5)),
                                         ("bad", "CartPole-v1"): list(rng.normal(10, 5, 3)),
                                         ("good", "Acrobot-v1"): same,
                                         ("bad", "Acrobot-v1"): same})
    suite = write_suite(tmp_path, """
        name: stored
        algorithms: [{algo: ppo, exp_name: good}, {algo: ppo, exp_name: bad}]
        environments: [CartPole-v1, Acrobot-v1]
        seeds: {adaptive: true, per_interim: 5, interims: 4}
        total_timesteps: 20000
        """, name="stored-adaptive.yaml")
    plan = make_plan(load_suite(suite), root)
    state = adaptive_state(plan)
    cartpole, acrobot = state.environments
    assert cartpole.trained == {"good": 5, "bad": 3} and cartpole.needed == {"bad": [3, 4]}
    assert acrobot.interims == 1 and acrobot.needed == {"good": [5, 6, 7, 8, 9],
                                                        "bad": [5, 6, 7, 8, 9]}
    wanted = needed_runs(plan, state)
    assert [(run.exp_name, run.env_id, run.seed) for run in wanted] == \
        [("good", "Acrobot-v1", seed) for seed in range(5, 10)] + \
        [("bad", "CartPole-v1", 3), ("bad", "CartPole-v1", 4)] + \
        [("bad", "Acrobot-v1", seed) for seed in range(5, 10)]
    assert adaptive_state(make_plan(load_suite(suite), root)) == state


def _done_runs(root: Path, suite: str) -> dict[str, str]:
    """Run id → its status file's text, for every finished run."""
    return {status.parent.name: status.read_text()
            for status in (root / suite / "runs").glob("*/status.json")
            if json.loads(status.read_text())["status"] == "done"}


@pytest.mark.slow
def test_harness_run_stops_early_and_a_rerun_trains_nothing(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    suite, root = _suite(tmp_path), tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    stored = state_path(SuitePaths(root, "adaptive-e2e"))
    record = json.loads(stored.read_text())
    (env,) = record["environments"]
    assert record["finished"] and record["stopped"] is None
    assert env["decisions"] == [{"algo_1": "ppo-learns", "algo_2": "ppo-frozen",
                                 "decision": "larger", "interims": env["interims"]}]
    assert env["interims"] < 3 and env["seeds_trained"] == {"ppo-learns": 3 * env["interims"],
                                                            "ppo-frozen": 3 * env["interims"]}
    done = _done_runs(root, "adaptive-e2e")
    assert len(done) == 6 * env["interims"] == len(list((root / "adaptive-e2e/runs").iterdir()))

    capsys.readouterr()
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert "training seeds" not in capsys.readouterr().out
    assert _done_runs(root, "adaptive-e2e") == done
    assert json.loads(stored.read_text()) == record
    assert cli.main(["status", str(suite), "--results-dir", str(root)]) == 0
    assert f"CartPole-v1: all decided after interim {env['interims']}: ppo-learns > " \
           f"ppo-frozen" in capsys.readouterr().out

    killed = tmp_path / "killed"
    process = start_suite(suite, killed, start_new_session=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    killed_state, deadline = state_path(SuitePaths(killed, "adaptive-e2e")), time.monotonic() + 120
    while not killed_state.exists() or \
            json.loads(killed_state.read_text())["environments"][0]["interims"] < 1:
        assert process.poll() is None, "the suite ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    first = _done_runs(killed, "adaptive-e2e")
    assert len(first) == 6 and len(live_runs(killed, "adaptive-e2e")) <= 12
    assert cli.main(["status", str(suite), "--results-dir", str(killed)]) == 0
    assert "CartPole-v1: interim 1 of 3 done, open comparisons: ppo-learns vs ppo-frozen" in \
        capsys.readouterr().out
    assert cli.main(["run", str(suite), "--results-dir", str(killed)]) == 0
    resumed = _done_runs(killed, "adaptive-e2e")
    assert {run_id: resumed[run_id] for run_id in first} == first
    assert resumed.keys() == done.keys()
    assert json.loads(state_path(SuitePaths(killed, "adaptive-e2e")).read_text()) == record

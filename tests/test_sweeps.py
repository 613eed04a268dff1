"""Sweeps in the suite file: validation, seeded sampling, plans, and one compiled program for
configurations that differ only in traced hyperparameters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import cli, results
from harness.analysis.scores import run_scores
from harness.analysis.sweeps import sweep_table, swept_parameters
from harness.confirm import confirmation_runs
from harness.execute import Plan, make_plan
from harness.jobs import batch_key, plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.suite import SuiteError, load_suite
from harness.suite.sweep import MAX_CONFIGURATIONS
from harness.training.job import train_job
from tests.conftest import write_suite
from tests.synthetic_runs import write_finished_runs

LR_SWEEP = """
name: {name}
algorithms:
  - algo: ppo
    sweep:
      parameters:
        learning_rate: {{values: [1.0e-4, 2.5e-4, 1.0e-3, 3.0e-3]}}
environments: [CartPole-v1]
seeds: 2
total_timesteps: 2048
"""


def _suite(tmp_path: Path, sweep: str, algo: str = "ppo") -> Path:
    """A suite file whose one algorithm entry has the `sweep` block (lines indented 6)."""
    path = tmp_path / "suite.yaml"
    path.write_text(f"name: swept\nalgorithms:\n  - algo: {algo}\n    sweep:\n{sweep}\n"
                    "environments: [CartPole-v1]\nseeds: 2\ntotal_timesteps: 10240\n")
    return path


@pytest.mark.parametrize(("sweep", "message"), [
    ("      parameters: {learnin_rate: {values: [0.1]}}",
     "unknown hyperparameter 'learnin_rate' for ppo (did you mean 'learning_rate'?)"),
    ("      method: random\n      samples: 3\n      parameters:\n"
     "        ent_coef: {distribution: uniform, min: 0.5, max: 0.1}",
     "min 0.5 is larger than max 0.1"),
    ("      method: random\n      samples: 3\n      parameters:\n"
     "        learning_rate: {distribution: log_uniform_values, min: 0, max: 0.1}",
     "log_uniform_values needs min > 0"),
    ("      parameters: {learning_rate: {values: []}}", "values: expected at least one entry"),
    ("      parameters: {ent_coef: {distribution: uniform, min: 0, max: 1}}",
     "a grid sweep needs `values` for every parameter"),
    ("      method: random\n      parameters: {ent_coef: {values: [0.1]}}",
     "method: random needs `samples`"),
    ("      parameters: {num_envs: {values: [4, -1]}}",
     "configuration ppo[num_envs=-1]"),
])
def test_bad_sweeps_are_one_line_errors_at_their_key(tmp_path: Path, sweep: str,
                                                     message: str) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite(_suite(tmp_path, sweep))
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "sweep" in text


def test_a_swept_value_set_elsewhere_too_is_an_error(tmp_path: Path) -> None:
    path = write_suite(tmp_path, """
        name: twice
        algorithms:
          - algo: ppo
            hyperparameters: {learning_rate: 0.001}
            sweep: {parameters: {learning_rate: {values: [0.1, 0.2]}}}
        environments: [CartPole-v1]
        seeds: 1
        total_timesteps: 10240
        """)
    with pytest.raises(SuiteError, match="learning_rate is swept and also set in "
                                         "hyperparameters"):
        load_suite(path)


def test_a_grid_expands_to_every_combination_on_the_same_seeds(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "      parameters:\n"
                                        "        learning_rate: {values: [0.001, 0.01]}\n"
                                        "        ent_coef: {values: [0.0, 0.01, 0.0]}"))
    runs = expand(suite)
    names = {run.exp_name for run in runs}
    assert names == {"ppo[learning_rate=0.001,ent_coef=0]",
                     "ppo[learning_rate=0.001,ent_coef=0.01]",
                     "ppo[learning_rate=0.01,ent_coef=0]",
                     "ppo[learning_rate=0.01,ent_coef=0.01]"}
    # the repeated 0.0 is kept once; every configuration runs on seeds 0 and 1
    assert {tuple(sorted(r.seed for r in runs if r.exp_name == n)) for n in names} == {(0, 1)}
    run = next(r for r in runs if r.exp_name == "ppo[learning_rate=0.001,ent_coef=0.01]")
    assert run.hyperparameters.learning_rate == 0.001 and run.hyperparameters.ent_coef == 0.01
    assert run.config["sweep"] == {"name": "ppo",
                                   "values": {"learning_rate": 0.001, "ent_coef": 0.01}}


def test_random_sweeps_are_seeded_and_respect_their_ranges(tmp_path: Path) -> None:
    sweep = ("      method: random\n      samples: 20\n      seed: {seed}\n      parameters:\n"
             "        learning_rate: {{distribution: log_uniform_values, min: 1.0e-5, "
             "max: 1.0e-2}}\n        update_epochs: {{distribution: int_uniform, min: 1, "
             "max: 4}}")

    def draws(seed: int, directory: Path) -> list[dict]:
        directory.mkdir()
        suite = load_suite(_suite(directory, sweep.format(seed=seed)))
        return [values for _, values in suite.algorithms[0].configurations()]

    first, again, other = (draws(0, tmp_path / "a"), draws(0, tmp_path / "b"),
                           draws(1, tmp_path / "c"))
    assert first == again and first != other
    assert len(first) == 20
    rates = np.array([v["learning_rate"] for v in first])
    assert ((rates >= 1e-5) & (rates <= 1e-2)).all()
    assert {v["update_epochs"] for v in first} <= {1, 2, 3, 4}


def test_int_uniform_draws_narrower_than_samples_are_deduplicated(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "      method: random\n      samples: 30\n"
                                        "      parameters:\n"
                                        "        update_epochs: {distribution: int_uniform, "
                                        "min: 1, max: 4}"))
    assert sorted(v["update_epochs"] for _, v in suite.algorithms[0].configurations()) == \
        [1, 2, 3, 4]


def test_plan_shows_configurations_and_one_program_per_static_shape(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _suite(tmp_path, "      parameters:\n"
                            "        learning_rate: {values: [0.001, 0.01]}\n"
                            "        num_envs: {values: [4, 8]}")
    assert cli.main(["plan", str(path), "--results-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "sweep ppo: grid over learning_rate, num_envs: 4 configurations x 1 environment" \
        in out
    assert "ppo[learning_rate=0.01,num_envs=8]" in out
    # num_envs shapes the program, the learning rate does not: 2 programs, one job each
    assert "8 to train in 2 jobs of up to 8 runs (2 compiled programs)" in out


def test_a_sweep_past_the_limit_needs_yes(tmp_path: Path,
                                         capsys: pytest.CaptureFixture) -> None:
    values = ", ".join(str(0.001 * (i + 1)) for i in range(MAX_CONFIGURATIONS + 1))
    path = _suite(tmp_path, f"      parameters: {{learning_rate: {{values: [{values}]}}}}")
    root = str(tmp_path / "r")
    assert cli.main(["plan", str(path), "--results-dir", root]) == 2
    error = capsys.readouterr().err
    assert f"expands to {MAX_CONFIGURATIONS + 1} configurations" in error
    assert "--yes" in error and error.count("\n") == 1
    assert cli.main(["plan", str(path), "--results-dir", root, "--yes"]) == 0


def _losses(paths: SuitePaths, run_id: str) -> pd.DataFrame:
    record = RunRecord(paths.run(run_id))
    metrics, _ = run_tables(record, record.status())
    return metrics.to_pandas().drop(columns=["charts/SPS"])


@pytest.mark.slow
def test_a_learning_rate_sweep_compiles_once_and_matches_each_configuration_alone(
        tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, LR_SWEEP.format(name="lr")))
    runs = expand(suite)
    assert len(runs) == 8 and len({batch_key(run) for run in runs}) == 1
    (job,) = plan_jobs(runs, runs_per_job=8)
    events: list[dict] = []
    batched = SuitePaths(tmp_path / "batched", "lr")
    assert train_job(job, batched, events.append) == []
    assert sum(event.get("event") == "compiled" for event in events) == 1
    alone = SuitePaths(tmp_path / "alone", "lr")
    for name in sorted({run.exp_name for run in runs}):
        (own,) = plan_jobs([run for run in runs if run.exp_name == name], runs_per_job=8)
        assert train_job(own, alone) == []
    for run in runs:
        together, apart = _losses(batched, run.run_id), _losses(alone, run.run_id)
        assert list(together.columns) == list(apart.columns)
        assert (together["global_step"] == apart["global_step"]).all()
        # batching changes only the float32 reduction order: measured, the losses of the 8
        # runs agree to 9.8e-5 relative over these 4 updates (0 in the first for seed 0)
        np.testing.assert_allclose(together.iloc[:, 1:], apart.iloc[:, 1:], rtol=2e-4,
                                   atol=1e-7)


SWEPT_SUITE = """
name: swept
algorithms:
  - algo: ppo
    sweep:
      parameters:
        learning_rate: {values: [1.0e-4, 1.0e-3, 1.0e-2]}
        ent_coef: {values: [0.0, 0.01]}
  - algo: dqn
environments: [CartPole-v1, Acrobot-v1]
seeds: 3
total_timesteps: 20000
"""
SCORES = {(0.0001, 0.0): (300.0, -150.0), (0.0001, 0.01): (320.0, -140.0),
          (0.001, 0.0): (450.0, -100.0), (0.001, 0.01): (480.0, -90.0),
          (0.01, 0.0): (100.0, -400.0), (0.01, 0.01): (120.0, -380.0)}


@pytest.fixture(scope="module")
def swept_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Finished runs of a 6-configuration sweep plus dqn, on two environments, 3 seeds."""
    root = tmp_path_factory.mktemp("swept") / "results"
    scores = {}
    for (rate, coef), (cartpole, acrobot) in SCORES.items():
        label = f"ppo[learning_rate={rate:g},ent_coef={coef:g}]"
        scores[(label, "CartPole-v1")] = [cartpole + d for d in (-5.0, 0.0, 5.0)]
        scores[(label, "Acrobot-v1")] = [acrobot + d for d in (-5.0, 0.0, 5.0)]
    scores[("dqn", "CartPole-v1")] = [200.0] * 3
    scores[("dqn", "Acrobot-v1")] = [-200.0] * 3
    assert len(write_finished_runs(root, "swept", scores, suite_text=SWEPT_SUITE)) == 42
    return root


def test_sweep_table_ranks_configurations_by_normalised_iqm(swept_root: Path) -> None:
    scores = run_scores("swept", root=swept_root)
    table = sweep_table(scores, "swept", root=swept_root, reps=200)
    assert list(table["sweep"].unique()) == ["ppo"] and len(table) == 6  # dqn is no sweep
    best = table.iloc[0]
    assert best["exp_name"] == "ppo[learning_rate=0.001,ent_coef=0.01]" and best["rank"] == 1
    assert best["learning_rate"] == 0.001 and best["ent_coef"] == 0.01
    assert list(table["rank"]) == [1, 2, 3, 4, 5, 6]
    assert table["iqm"].is_monotonic_decreasing and (table["tasks"] == 2).all()
    # normalised by the declared scores: CartPole (s - 22.646) / (475 - 22.646), Acrobot
    # (s + 498.59) / (-100 + 498.59); IQM of 6 values drops 1 each side
    cartpole = (np.array([475.0, 480.0, 485.0]) - 22.646) / (475.0 - 22.646)
    acrobot = (np.array([-95.0, -90.0, -85.0]) + 498.59) / (-100.0 + 498.59)
    assert best["iqm"] == pytest.approx(np.sort(np.r_[cartpole, acrobot])[1:5].mean())
    assert best["lower"] <= best["iqm"] <= best["upper"]
    assert swept_parameters(table, "ppo") == ["ent_coef", "learning_rate"]  # as stored


def test_report_has_a_sweep_section_with_a_plot_per_swept_value(swept_root: Path) -> None:
    assert cli.main(["report", "swept", "--results-dir", str(swept_root), "--reps", "500"]) == 0
    report = swept_root / "reports" / "swept"
    markdown = (report / "report.md").read_text()
    assert "## Sweeps" in markdown
    assert "best: `ppo[learning_rate=0.001,ent_coef=0.01]`" in markdown
    ranked = pd.read_csv(report / "tables" / "sweep-0.csv")
    assert ranked["exp_name"].iloc[0] == "ppo[learning_rate=0.001,ent_coef=0.01]"
    assert {"sweep-0-0.png", "sweep-0-1.png"} <= {p.name for p in (report / "figures").iterdir()}


CONFIRMED_SUITE = SWEPT_SUITE.replace(
    "        ent_coef: {values: [0.0, 0.01]}\n",
    "        ent_coef: {values: [0.0, 0.01]}\n      confirm: {top: 2, seeds: 2}\n")


def _confirm_plan(root: Path, suite: str) -> Plan:
    return make_plan(load_suite(root.parent / f"{suite}.yaml"), root)


def test_confirmation_trains_the_best_configurations_on_more_seeds(tmp_path: Path) -> None:
    root = tmp_path / "results"
    scores = {}
    for (rate, coef), (cartpole, acrobot) in SCORES.items():
        label = f"ppo[learning_rate={rate:g},ent_coef={coef:g}]"
        scores[(label, "CartPole-v1")] = [cartpole - 5.0, cartpole, cartpole + 5.0]
        scores[(label, "Acrobot-v1")] = [acrobot - 5.0, acrobot, acrobot + 5.0]
    scores[("dqn", "CartPole-v1")] = [200.0] * 3
    scores[("dqn", "Acrobot-v1")] = [-200.0] * 3
    first = write_finished_runs(root, "confirmed", scores, suite_text=CONFIRMED_SUITE.replace(
        "name: swept", "name: confirmed"))[0]  # a run of the sweep
    staged = confirmation_runs(_confirm_plan(root, "confirmed"))
    runs = staged["ppo"]
    assert {run.exp_name for run in runs} == {"ppo[learning_rate=0.001,ent_coef=0.01]",
                                              "ppo[learning_rate=0.001,ent_coef=0]"}
    assert sorted({run.seed for run in runs}) == [3, 4] and len(runs) == 2 * 2 * 2
    assert {run.env_id for run in runs} == {"CartPole-v1", "Acrobot-v1"}
    plan = _confirm_plan(root, "confirmed")
    assert {run.run_id for run in runs}.isdisjoint(run.run_id for run in plan.runs)
    # a first stage not done yet: nothing to confirm
    (root / "confirmed" / "runs" / first / "status.json").unlink()
    assert confirmation_runs(_confirm_plan(root, "confirmed")) == {}


def test_plan_announces_the_confirmation_stage(tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "confirmed.yaml"
    path.write_text(CONFIRMED_SUITE)
    assert cli.main(["plan", str(path), "--results-dir", str(tmp_path / "r")]) == 0
    assert "then its 2 best configurations on 2 more seeds (8 runs), chosen once these are " \
           "done" in capsys.readouterr().out


@pytest.mark.slow
def test_harness_run_confirms_the_best_configuration_and_resumes_nothing_twice(
        tmp_path: Path) -> None:
    suite = write_suite(tmp_path, """
        name: tiny
        algorithms:
          - algo: ppo
            sweep:
              parameters: {learning_rate: {values: [2.5e-3, 1.0e-12]}}
              confirm: {top: 1, seeds: 1}
        environments: [CartPole-v1]
        seeds: 2
        total_timesteps: 4096
        """)
    root = tmp_path / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    table = results.runs("tiny", root=root)
    assert len(table) == 5 and set(table["status"]) == {"done"}
    confirmed = table[table["seed"] == 2]
    assert list(confirmed["exp_name"]) == ["ppo[learning_rate=0.0025]"]
    before = {p: p.stat().st_mtime_ns for p in (root / "tiny" / "runs").glob("*/status.json")}
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    assert before == {p: p.stat().st_mtime_ns
                      for p in (root / "tiny" / "runs").glob("*/status.json")}


def test_a_confirmation_stage_cannot_follow_adaptive_seeds(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(CONFIRMED_SUITE.replace("seeds: 3", "seeds: {adaptive: true, "
                                                        "per_interim: 3, interims: 2}"))
    with pytest.raises(SuiteError, match="sweep.confirm: a confirmation stage trains a fixed "
                                         "number of seeds"):
        load_suite(path)

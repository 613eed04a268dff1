"""`harness report`: our runs beside runs pulled from W&B, as Markdown and one self-contained
HTML file that opens in headless Chromium from disk with every table and plot and no error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from harness import cli
from harness.tracking.pull import pull_project
from tests import wandb_standin
from tests.browser import require_chromium, visit
from tests.synthetic_runs import write_finished_runs

PROJECT = "openrlbenchmark/cleanrl"
PULLED = "wandb-openrlbenchmark-cleanrl"
ENVS = ("CartPole-v1", "Acrobot-v1")
CENTRES = {("ppo", "CartPole-v1"): 450.0, ("dqn", "CartPole-v1"): 300.0,
           ("ppo", "Acrobot-v1"): -90.0, ("dqn", "Acrobot-v1"): -130.0}


def _cleanrl_history(final: float, seed: int, episodes: int = 120) -> list[dict[str, Any]]:
    """A CleanRL-like W&B history: an episodic return per episode rising to `final`, losses."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for i in range(episodes):
        step = (i + 1) * 1000
        progress = min(1.0, (i + 1) / (episodes - 100))
        rows.append({"global_step": step, "charts/episodic_length": 100,
                     "charts/episodic_return": final - (1 - progress) * (abs(final) + 10)
                     + float(rng.normal(0, 3))})
        rows.append({"global_step": step, "losses/value_loss": 1.0 / (i + 1),
                     "charts/SPS": 900 + i})
    return rows


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our suite `classic` (5 seeds of ppo and dqn on two tasks) and a pulled CleanRL project
    (3 seeds of ppo on the same tasks)."""
    root = tmp_path_factory.mktemp("report") / "results"
    rng = np.random.default_rng(0)
    write_finished_runs(root, "classic", {key: list(centre + rng.normal(0, 10, 5))
                                          for key, centre in CENTRES.items()})
    api = wandb_standin.Api()
    for env_id in ENVS:
        for seed in (1, 2, 3):
            config = {"exp_name": "ppo", "env_id": env_id, "seed": seed,
                      "total_timesteps": 120_000, "learning_rate": 2.5e-4}
            api.add_run(PROJECT, f"ppo-{env_id}-{seed}", config,
                        _cleanrl_history(CENTRES[("ppo", env_id)] + 20, seed))
    assert pull_project(PROJECT, root, api=api).ok
    return root


@pytest.fixture(scope="module")
def report(root: Path) -> Path:
    """The report of both suites, written by the CLI."""
    assert cli.main(["report", "classic", PULLED, "--results-dir", str(root),
                     "--reps", "2000"]) == 0
    return root / "reports" / f"classic+{PULLED}"


def test_report_of_our_and_pulled_runs_writes_markdown_html_and_table_exports(
        report: Path) -> None:
    names = {path.name for path in (report / "tables").iterdir()}
    assert {"per_task.csv", "per_task.tex", "aggregates.csv", "aggregates.tex",
            "improvement.csv", "runtime.csv", "runs.csv", "adastop.csv"} <= names
    per_task = pd.read_csv(report / "tables" / "per_task.csv")
    assert set(per_task["exp_name"]) == {"classic/ppo", "dqn", f"{PULLED}/ppo"}
    aggregates = pd.read_csv(report / "tables" / "aggregates.csv")
    assert set(aggregates["exp_name"]) == {"classic/ppo", "dqn", f"{PULLED}/ppo"}
    assert (aggregates["lower"] <= aggregates["upper"]).all()
    runs = pd.read_csv(report / "tables" / "runs.csv")
    assert len(runs) == 20 + 6
    markdown = (report / "report.md").read_text()
    for heading in ("## Scores per task", "## Aggregates", "## Learning curves",
                    "## AdaStop comparisons", "## Runtime", "## Runs"):
        assert heading in markdown
    for link in (part.split(")")[0] for part in markdown.split("](")[1:]):
        assert (report / link).is_file(), link


def test_report_shows_adastop_decisions_over_the_algorithms_with_enough_seeds(
        report: Path) -> None:
    adastop = pd.read_csv(report / "tables" / "adastop.csv")
    assert set(adastop["env_id"]) == set(ENVS)
    # our ppo's scores sit far above dqn's: decided at the first interim, on seeds 0-4
    assert list(adastop["decision"]) == ["larger", "larger"]
    assert set(adastop["algo_1"]) == {"classic/ppo"} and set(adastop["algo_2"]) == {"dqn"}
    assert list(adastop["interims"]) == [1, 1] and set(adastop["seed_list_1"]) == {"0-4"}
    markdown = (report / "report.md").read_text()
    assert f"fewer than n=5 seeds on some environment): `{PULLED}/ppo`" in markdown


def test_html_report_opens_from_disk_with_every_table_and_plot_and_no_console_error(
        report: Path) -> None:
    page = report / "report.html"
    seen = visit(page, require_chromium(), height=2400)
    assert seen.errors == ()
    assert all(url.startswith(("file://", "data:")) for url in seen.requests), seen.requests
    assert seen.broken_images == ()
    for title in ("Final score per algorithm and environment", "Aggregate normalized score",
                  "Probability of improvement", "Performance profiles", "Sample efficiency",
                  "CartPole-v1", "Acrobot-v1", "AdaStop decisions", "Mean time per run",
                  "Every run scored"):
        assert title in seen.dom, title
    assert seen.dom.count("<table") >= 6
    assert seen.dom.count("<img") == 6  # aggregates, profiles, improvement, efficiency, 2 curves
    assert seen.screenshot[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_errors_are_one_line_with_exit_2(root: Path, capsys: pytest.CaptureFixture
                                                ) -> None:
    cases = [(["nosuch"], "no results for suite 'nosuch'"),
             (["classic", "--algos", "a2c"], "unknown algorithm 'a2c'"),
             (["classic", "--env", "Pong-v5"], "unknown environment 'Pong-v5'"),
             (["classic", "--reduction", "best"], "unknown final-score reduction 'best'"),
             (["classic", "--metric", "losses/nope"], "logged metric 'losses/nope'")]
    for arguments, message in cases:
        assert cli.main(["report", *arguments, "--results-dir", str(root)]) == 2
        error = capsys.readouterr().err
        assert error.startswith("error: ") and message in error and error.count("\n") == 1


def test_report_of_a_suite_without_finished_runs_is_an_error(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture
                                                             ) -> None:
    (tmp_path / "results" / "empty" / "runs").mkdir(parents=True)
    assert cli.main(["report", "empty", "--results-dir", str(tmp_path / "results")]) == 2
    assert "no finished runs in empty" in capsys.readouterr().err
    assert not (tmp_path / "results" / "reports").exists() or \
        not any((tmp_path / "results" / "reports").iterdir())


def test_one_seed_per_task_gives_a_marked_table_not_an_interval(tmp_path: Path) -> None:
    root = tmp_path / "results"
    write_finished_runs(root, "single", {("ppo", "CartPole-v1"): [400.0],
                                         ("dqn", "CartPole-v1"): [300.0]})
    assert cli.main(["report", "single", "--results-dir", str(root), "--reps", "200"]) == 0
    aggregates = pd.read_csv(root / "reports" / "single" / "tables" / "aggregates.csv")
    assert set(aggregates["note"]) == {"1 seed: no interval"}
    assert aggregates["lower"].isna().all()
    markdown = (root / "reports" / "single" / "report.md").read_text()
    assert "No AdaStop comparison: it needs at least 2 algorithms with n=5 seeds" in markdown


def test_rewriting_a_report_replaces_it_whole(root: Path, report: Path) -> None:
    stale = report / "figures" / "stale.png"
    stale.write_bytes(b"old")
    assert cli.main(["report", "classic", PULLED, "--results-dir", str(root),
                     "--reps", "2000"]) == 0
    assert not stale.exists() and (report / "report.html").is_file()
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".")]

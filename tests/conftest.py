"""Shared fixtures: suite files in a temporary directory, and a small finished suite."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness import cli, results

SMALL_SUITE = """
name: small
algorithms:
  - algo: ppo
  - algo: ppo
    exp_name: ppo-lr
    hyperparameters: {learning_rate: 1.0e-3}
environments: [CartPole-v1, Acrobot-v1]
seeds: 2
total_timesteps: 10240
"""


def write_suite(directory: Path, text: str, name: str = "suite.yaml") -> Path:
    """Write a suite file (dedented) and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def small_suite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A finished two-algorithm, two-environment, two-seed suite: `(suite file, results root)`."""
    directory = tmp_path_factory.mktemp("small")
    suite = write_suite(directory, SMALL_SUITE)
    root = directory / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    return suite, root


def start_suite(suite: Path, root: Path, *flags: str, **popen: Any) -> subprocess.Popen:
    """Start `harness run SUITE` (default flags `--workers 2`) in a child process."""
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(suite),
                             "--results-dir", str(root), *(flags or ("--workers", "2"))],
                            **popen)


def live_runs(root: Path, suite: str) -> list[tuple[dict, dict]]:
    """`(config, status)` of every run of a suite that is training or trained right now."""
    found = []
    for status in (root / suite / "runs").glob("*/status.json"):
        config = json.loads(status.with_name("config.json").read_text())
        found.append((config, json.loads(status.read_text())))
    return found


def final_scores_of(directory: Path, suite_text: str,
                    reduction: str = "last_episodes:100") -> pd.DataFrame:
    """Run a suite (dedented text) end to end through the CLI; its runs' final scores."""
    suite = write_suite(directory, suite_text)
    root = directory / "results"
    assert cli.main(["run", str(suite), "--results-dir", str(root)]) == 0
    return results.final_scores(suite, root=root, reduction=reduction)

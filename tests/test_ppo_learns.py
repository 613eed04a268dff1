"""PPO with CleanRL's defaults solves CartPole-v1 in 500k steps (CleanRL: 490 ± 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli, results
from tests.conftest import write_suite


@pytest.mark.slow
def test_ppo_cartpole_500k_mean_final_return_of_two_seeds_above_400(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, """
        name: learn
        algorithms: [{algo: ppo}]
        environments: [CartPole-v1]
        seeds: 2
        total_timesteps: 500000
        """)
    assert cli.main(["run", str(suite), "--results-dir", str(tmp_path / "results")]) == 0
    finals = results.final_returns(results.load("learn", root=tmp_path / "results"))
    assert len(finals) == 2
    assert finals["final_return"].mean() > 400, finals

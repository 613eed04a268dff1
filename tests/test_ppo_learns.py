"""PPO with CleanRL's defaults solves CartPole-v1 in 500k steps (CleanRL: 490 ± 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import final_scores_of


@pytest.mark.slow
def test_ppo_cartpole_500k_mean_final_return_of_two_seeds_above_400(tmp_path: Path) -> None:
    finals = final_scores_of(tmp_path, """
        name: learn
        algorithms: [{algo: ppo}]
        environments: [CartPole-v1]
        seeds: 2
        total_timesteps: 500000
        """)
    assert len(finals) == 2
    assert finals["score"].mean() > 400, finals


@pytest.mark.slow
def test_ppo_continuous_pendulum_150k_mean_final_return_of_two_seeds_above_minus_600(
        tmp_path: Path) -> None:
    """Random play scores about -1200; CleanRL's defaults reach about -200 by 200k steps."""
    finals = final_scores_of(tmp_path, """
        name: learn-continuous
        algorithms: [{algo: ppo_continuous_action}]
        environments: [Pendulum-v1]
        seeds: 2
        total_timesteps: 150000
        """, "last_fraction:0.1")
    assert len(finals) == 2
    assert finals["score"].mean() > -600, finals

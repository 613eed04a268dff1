"""The shipped reference scores load, name known algorithms, and are shown beside results."""

from __future__ import annotations

from harness.algos import ALGORITHMS
from harness.references import load_references, reference_for


def test_shipped_references_name_registered_algorithms_and_cite_a_source() -> None:
    references = load_references()
    assert len(references) >= 10
    assert set(references["algo"]) <= set(ALGORITHMS)
    assert references["source"].str.len().gt(20).all()
    cartpole = references[(references.algo == "ppo") & (references.env_id == "CartPole-v1")]
    assert cartpole[["mean", "std", "seeds", "total_timesteps"]].values.tolist() == [
        [490.04, 6.12, 3, 500000]]


def test_reference_matches_exact_id_then_other_versions_and_marks_incomparable() -> None:
    references = load_references()
    assert reference_for(references, "ppo", "CartPole-v1").startswith("490.0 ± 6.1 (3 seeds")
    assert "(HalfCheetah-v4, 3 seeds" in reference_for(references, "sac_continuous_action",
                                                        "HalfCheetah-v5")
    assert "*" in reference_for(references, "ppo_continuous_action", "Pendulum-v1")
    assert reference_for(references, "ppo", "Breakout-MinAtar") == ""

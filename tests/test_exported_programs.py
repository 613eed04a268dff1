"""Kept programs: a job compiled from a kept module trains exactly as a traced one does."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.algos import ALGORITHMS
from harness.algos.dqn.config import DQNConfig
from harness.algos.hyperparameters import Hyperparameters
from harness.algos.ppo.config import PPOConfig
from harness.algos.sac.config import SACConfig
from harness.envs.gymnax_backend import gymnax_info
from harness.training.exported import SUFFIX, ProgramCache, builder_identity, programs_directory
from harness.training.layout import ChunkLayout
from harness.training.program import GymnaxProgram

CASES = {
    "ppo": (PPOConfig(num_steps=8, num_minibatches=2, update_epochs=2), "CartPole-v1"),
    "dqn": (DQNConfig(learning_starts=2, buffer_size=64, batch_size=8), "CartPole-v1"),
    "sac": (SACConfig(learning_starts=2, buffer_size=64, batch_size=8, hidden_sizes=[32, 32]),
            "Pendulum-v1"),
}
LAYOUT = ChunkLayout(6, 1, 3, chunks_per_eval=1)
IDENTITY = {"algo": "ppo", "env_id": "CartPole-v1", "test": "exported programs"}


def _program(cache: ProgramCache | None, config: Hyperparameters,
             env_id: str) -> tuple[GymnaxProgram, jax.Array, dict]:
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(2)])
    hp = {k: jnp.full((2,), v, jnp.float32) for k, v in config.traced_values().items()}
    agent = ALGORITHMS[config.algo].load().make_agent(gymnax_info(env_id), config,
                                                      LAYOUT.num_updates)
    return GymnaxProgram(agent, env_id, LAYOUT, keys, hp, eval_episodes=2, cache=cache), keys, hp


def _train(cache: ProgramCache | None, case: str = "ppo") -> list[np.ndarray]:
    """Every chunk's outputs, the final state and one evaluation, as host arrays."""
    program, keys, hp = _program(cache, *CASES[case])
    state = program.init(keys, hp)
    outputs = []
    for chunk in range(LAYOUT.num_chunks):
        state, out = program.run_chunk(state, hp, np.full(2, chunk))
        outputs.extend(jax.tree.leaves(out))
    evaluation = program.evaluate(state, keys)
    return [np.asarray(x) for x in [*outputs, *jax.tree.leaves(state), *evaluation]]


@pytest.fixture(scope="module")
def traced() -> list[np.ndarray]:
    """PPO's job trained by programs traced in this process, without kept modules."""
    return _train(None)


def _assert_same(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_kept_program_trains_exactly_as_the_traced_one(tmp_path: Path, case: str) -> None:
    traced = _train(None, case)
    _assert_same(_train(ProgramCache(tmp_path, IDENTITY), case), traced)
    kept = sorted(tmp_path.glob(f"*{SUFFIX}"))
    assert len(kept) == 3, "init, chunk and evaluation are each kept"
    stamps = [path.stat().st_mtime_ns for path in kept]
    _assert_same(_train(ProgramCache(tmp_path, IDENTITY), case), traced)
    assert [path.stat().st_mtime_ns for path in kept] == stamps, "read back, not traced again"
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_damaged_kept_program_is_traced_again_and_replaced(tmp_path: Path,
                                                             traced: list[np.ndarray]) -> None:
    _train(ProgramCache(tmp_path, IDENTITY))
    damaged = sorted(tmp_path.glob(f"*{SUFFIX}"), key=lambda path: path.stat().st_size)[-1]
    damaged.write_bytes(damaged.read_bytes()[:100])
    _assert_same(_train(ProgramCache(tmp_path, IDENTITY)), traced)
    assert damaged.stat().st_size > 100


def test_what_makes_a_program_different_is_in_its_key() -> None:
    args = (jnp.zeros((2, 3)), {"lr": jnp.zeros(2)})
    leaves, tree = jax.tree.flatten(args)
    cache = ProgramCache(Path("unused"), IDENTITY)
    key = cache.key("chunk", tree, leaves)
    assert key == ProgramCache(Path("unused"), dict(IDENTITY)).key("chunk", tree, leaves)
    assert key != cache.key("init", tree, leaves)
    assert key != ProgramCache(Path("unused"), {**IDENTITY, "env_id": "Acrobot-v1"}).key(
        "chunk", tree, leaves)
    wider = jax.tree.flatten((jnp.zeros((3, 3)), {"lr": jnp.zeros(3)}))
    assert key != cache.key("chunk", wider[1], wider[0])
    other_builder = ProgramCache(Path("unused"), {**IDENTITY, **builder_identity(_program)})
    assert key != other_builder.key("chunk", tree, leaves)
    with jax.default_matmul_precision("highest"):
        assert key != cache.key("chunk", tree, leaves), "JAX's settings at the time count"


def test_programs_are_kept_only_beside_an_enabled_compilation_cache(tmp_path: Path) -> None:
    before = jax.config.values.get("jax_compilation_cache_dir")
    try:
        jax.config.update("jax_compilation_cache_dir", None)
        assert programs_directory() is None
        jax.config.update("jax_compilation_cache_dir", str(tmp_path))
        assert programs_directory() == tmp_path / "programs"
    finally:
        jax.config.update("jax_compilation_cache_dir", before)

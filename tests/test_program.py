"""The compiled program: chunk layout covers the budget exactly; initialisation never deadlocks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.training.layout import TARGET_CHUNKS, plan_layout

STRESS_INIT = """
import jax, jax.numpy as jnp
from harness.algos.ppo.agent import make_agent
from harness.algos.ppo.config import PPOConfig
from harness.envs.gymnax_backend import gymnax_info
from harness.training.layout import plan_layout
from harness.training.program import GymnaxProgram
config = PPOConfig()
keys = jnp.stack([jax.random.PRNGKey(i) for i in range(2)])
hp = {k: jnp.full((2,), v, jnp.float32) for k, v in config.traced_values().items()}
agent = make_agent(gymnax_info("CartPole-v1"), config, 10)
program = GymnaxProgram(agent, "CartPole-v1", plan_layout(10), keys, hp)
for _ in range(3000):
    jax.block_until_ready(program.init(keys, hp))
print("done")
"""


@pytest.mark.parametrize("num_updates", [1, 7, 19, 20, 21, 976, 977, 10_000, 48_828, 999_999])
@pytest.mark.parametrize("eval_every", [None, 1, 50, 333])
@pytest.mark.parametrize("max_rows", [None, 1000])
def test_layout_covers_every_update_once_in_whole_rows(num_updates: int, eval_every: int | None,
                                                       max_rows: int | None) -> None:
    layout = plan_layout(num_updates, eval_every, max_rows)
    assert layout.chunk_updates % layout.log_every == 0
    assert (layout.num_chunks - 1) * layout.chunk_updates < num_updates
    assert num_updates <= layout.num_chunks * layout.chunk_updates
    assert sum(layout.valid_updates(c) for c in range(layout.num_chunks)) == num_updates
    if max_rows is None:
        assert layout.log_every == 1, "full resolution: one metric row per update"
    else:
        assert -(-num_updates // layout.log_every) <= max_rows
    if eval_every is None:
        assert layout.num_chunks <= TARGET_CHUNKS
    else:
        period = layout.chunk_updates * layout.chunks_per_eval
        assert period >= eval_every
        assert period - eval_every < layout.log_every
        assert layout.evaluates_after(layout.num_chunks - 1)
        if period >= num_updates:
            assert layout.num_chunks <= TARGET_CHUNKS


def test_one_evaluation_period_is_cut_into_chunks_for_progress_and_checkpoints() -> None:
    layout = plan_layout(50_000, eval_every=50_000)
    assert (layout.num_chunks, layout.chunks_per_eval) == (TARGET_CHUNKS, TARGET_CHUNKS)
    assert [c for c in range(layout.num_chunks) if layout.evaluates_after(c)] == [19]
    assert not plan_layout(50_000).evaluates_after(19)


@pytest.mark.slow
def test_initialising_a_batch_of_runs_thousands_of_times_never_hangs() -> None:
    """A vmapped init (batched QR) hung within 2000 calls in each of 3 tries on 2 cores."""
    done = subprocess.run([sys.executable, "-c", STRESS_INIT], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "done", done.stderr[-2000:]


def test_initialising_64_runs_factorises_one_matrix_at_a_time() -> None:
    """No batched QR in the init of 64 runs: PureJaxRL's vmapped init of 64 seeds deadlocked
    (the batched LAPACK kernel waits on XLA's CPU thread pool from inside it)."""
    import re

    import jax
    import jax.numpy as jnp

    from harness.algos.ppo.agent import make_agent
    from harness.algos.ppo.config import PPOConfig
    from harness.envs.gymnax_backend import gymnax_info
    from harness.training.program import GymnaxProgram

    config = PPOConfig(num_steps=8, num_minibatches=1, update_epochs=1)
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(64)])
    hp = {k: jnp.full((64,), v, jnp.float32) for k, v in config.traced_values().items()}
    agent = make_agent(gymnax_info("CartPole-v1"), config, 2)
    program = GymnaxProgram(agent, "CartPole-v1", plan_layout(2), keys, hp)
    text = jax.jit(program._init_runs).lower(keys, hp).as_text()
    factorisations = [line for line in text.splitlines() if "geqrf" in line and "(tensor<" in line]
    assert factorisations, "the networks' orthogonal initialisation should factorise matrices"
    operands = [re.search(r"\(tensor<((?:\d+x)+)f32>", line).group(1).rstrip("x").split("x")
                for line in factorisations]
    assert all(len(dims) == 2 for dims in operands), operands
    state = jax.block_until_ready(program.init(keys, hp))
    assert jax.tree.leaves(state)[0].shape[0] == 64


def _dqn_program(runs: int):
    import jax
    import jax.numpy as jnp

    from harness.algos.dqn.agent import make_agent
    from harness.algos.dqn.config import DQNConfig
    from harness.envs.gymnax_backend import gymnax_info
    from harness.training.layout import ChunkLayout
    from harness.training.program import GymnaxProgram

    config = DQNConfig(learning_starts=20, buffer_size=64, batch_size=8, train_frequency=2)
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(runs)])
    hp = {k: jnp.full((runs,), v, jnp.float32) for k, v in config.traced_values().items()}
    agent = make_agent(gymnax_info("CartPole-v1"), config, 30)
    return GymnaxProgram(agent, "CartPole-v1", ChunkLayout(30, 1, 10), keys, hp), keys, hp


def test_the_agents_conditionals_on_the_update_index_stay_conditionals_for_many_runs() -> None:
    """The update index is shared by the runs of a call: DQN's `lax.cond`s on it (learning
    starts, target updates) compile to conditionals, not to both branches and a select, which
    under a batched index made SAC's delayed actor update run on every step."""
    program, _, _ = _dqn_program(3)
    assert "conditional(" in program._chunk.call.as_text()


def test_a_call_advances_only_runs_at_one_chunk_and_leaves_the_others_unchanged() -> None:
    import jax
    import numpy as np

    program, keys, hp = _dqn_program(2)
    state = program.init(keys, hp)
    before = jax.device_get(state)
    state, out = program.run_chunk(state, hp, np.array([0, program.layout.num_chunks]))
    after = jax.device_get(state)
    assert not np.array_equal(before.key[0], after.key[0])
    for old, new in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True):
        np.testing.assert_array_equal(old[1], new[1])
    assert not out.episodes.ends[1].any() and out.episodes.ends[0].any()
    with pytest.raises(ValueError, match="one chunk"):
        program.run_chunk(state, hp, np.array([1, 2]))


def _ppo_program(layout):
    import jax
    import jax.numpy as jnp

    from harness.algos.ppo.agent import make_agent
    from harness.algos.ppo.config import PPOConfig
    from harness.envs.gymnax_backend import gymnax_info
    from harness.training.program import GymnaxProgram

    config = PPOConfig(num_steps=8, num_minibatches=2, update_epochs=1)
    keys = jnp.stack([jax.random.PRNGKey(i) for i in range(2)])
    hp = {k: jnp.full((2,), v, jnp.float32) for k, v in config.traced_values().items()}
    agent = make_agent(gymnax_info("CartPole-v1"), config, layout.num_updates)
    return GymnaxProgram(agent, "CartPole-v1", layout, keys, hp), keys, hp


def test_updates_past_the_budget_are_skipped_by_a_conditional_and_change_nothing() -> None:
    """The last chunk's tail past the budget (5 of 10 updates here) is skipped, not computed
    and masked: the state ends where a layout without a tail leaves it, and the tail's
    outputs are zeros."""
    import jax
    import numpy as np

    from harness.training.layout import ChunkLayout

    ends = {}
    for per_chunk in (10, 5):
        program, keys, hp = _ppo_program(ChunkLayout(25, 1, per_chunk))
        assert "conditional(" in program._chunk.call.as_text()
        state = program.init(keys, hp)
        for chunk in range(program.layout.num_chunks):
            state, out = program.run_chunk(state, hp, np.full(2, chunk))
        ends[per_chunk] = jax.device_get(state)
        last = out
    assert not last.episodes.ends[:, 5:].any() and last.episodes.ends[:, :5].any()
    assert all((values[:, 5:] == 0).all() for values in last.metrics.values())
    for tail, whole in zip(jax.tree.leaves(ends[10]), jax.tree.leaves(ends[5]), strict=True):
        np.testing.assert_array_equal(tail, whole)


def test_building_a_program_traces_the_update_once() -> None:
    """The conditional that skips updates past the budget and the zeros it returns instead
    share one trace of the update (tracing is most of a cold compile's Python time)."""
    import jax
    import jax.numpy as jnp

    from harness.algos.ppo.agent import make_agent
    from harness.algos.ppo.config import PPOConfig
    from harness.envs.gymnax_backend import gymnax_info
    from harness.training.layout import ChunkLayout
    from harness.training.program import GymnaxProgram

    config = PPOConfig(num_steps=8, num_minibatches=2, update_epochs=1)
    agent = make_agent(gymnax_info("CartPole-v1"), config, 25)
    traced = []

    def learn(*args):
        traced.append(True)
        return agent.learn(*args)

    keys = jnp.stack([jax.random.PRNGKey(0)])
    hp = {k: jnp.full((1,), v, jnp.float32) for k, v in config.traced_values().items()}
    GymnaxProgram(agent._replace(learn=learn), "CartPole-v1", ChunkLayout(25, 1, 10), keys, hp)
    assert len(traced) == 1

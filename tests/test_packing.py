"""`packed_scan`: the same numbers as `lax.scan`, bit for bit, with one carried buffer and one
output buffer inside the loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.algos.packing import pack, packable, packed_scan, slots_of, unpack

LEAVES = [jnp.array([1.5, -0.0, jnp.nan, jnp.inf], jnp.float32),
          jnp.array([[-7, 2**31 - 1], [-(2**31), 0]], jnp.int32),
          jnp.array(4_000_000_000, jnp.uint32),
          jnp.array([True, False, True]),
          jnp.zeros((0, 3), jnp.float32)]


def test_pack_then_unpack_gives_every_leaf_back_bit_for_bit() -> None:
    buffer = pack(LEAVES)
    assert buffer.dtype == jnp.uint32 and buffer.shape == (4 + 4 + 1 + 3,)
    for leaf, back in zip(LEAVES, unpack(buffer, slots_of(LEAVES)), strict=True):
        assert back.dtype == leaf.dtype and back.shape == leaf.shape
        np.testing.assert_array_equal(np.asarray(back).reshape(-1).view(np.uint8),
                                      np.asarray(leaf).reshape(-1).view(np.uint8))


def test_unpack_keeps_leading_axes_of_stacked_buffers() -> None:
    stacked = jnp.stack([pack(LEAVES), pack(LEAVES)])
    for leaf, back in zip(LEAVES, unpack(stacked, slots_of(LEAVES)), strict=True):
        assert back.shape == (2, *leaf.shape)


@pytest.mark.parametrize("dtype,expected", [(jnp.float32, True), (jnp.int32, True),
                                            (jnp.uint32, True), (jnp.bool_, True),
                                            (jnp.int8, False), (jnp.float16, False),
                                            (jnp.bfloat16, False)])
def test_only_32_bit_numbers_and_booleans_are_packable(dtype, expected: bool) -> None:
    assert packable(jax.ShapeDtypeStruct((2,), dtype)) is expected


def _step(carry, x):
    """A step with kept weights, packed state of every dtype (one of them unpackable) and
    outputs of every dtype."""
    (weights, counter), state = carry
    total = state["total"] + x * weights.sum()
    flags = state["flags"] ^ (total > 3.0)
    small = (state["small"] + 1).astype(jnp.int8)
    state = {"total": total, "flags": flags, "small": small, "steps": state["steps"] + 1,
             "bits": state["bits"] * jnp.uint32(1664525) + jnp.uint32(1013904223)}
    out = {"total": total, "flags": flags, "small": small, "bits": state["bits"]}
    return ((weights, counter + 1), state), out


def _carry():
    kept = (jnp.arange(6.0).reshape(2, 3), jnp.int32(0))
    packed = {"total": jnp.zeros(3), "flags": jnp.array([True, False, False]),
              "small": jnp.zeros(2, jnp.int8), "steps": jnp.int32(0),
              "bits": jnp.arange(2, dtype=jnp.uint32)}
    return kept, packed


def test_packed_scan_gives_lax_scans_results_bit_for_bit() -> None:
    xs = jnp.linspace(-1.0, 1.0, 7)
    expected = jax.jit(lambda c, x: jax.lax.scan(_step, c, x))(_carry(), xs)
    got = jax.jit(lambda c, x: packed_scan(_step, c, x, pack_carry=(False, True)))(_carry(),
                                                                                     xs)
    assert jax.tree.structure(got) == jax.tree.structure(expected)
    for want, have in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
        assert have.dtype == want.dtype and have.shape == want.shape
        np.testing.assert_array_equal(np.asarray(have), np.asarray(want))


def test_packed_scan_under_vmap_gives_the_same_results() -> None:
    xs = jnp.stack([jnp.linspace(-1.0, 1.0, 7), jnp.linspace(2.0, 0.0, 7)])
    carries = jax.tree.map(lambda leaf: jnp.stack([leaf, leaf]), _carry())
    expected = jax.vmap(lambda c, x: jax.lax.scan(_step, c, x))(carries, xs)
    got = jax.vmap(lambda c, x: packed_scan(_step, c, x, pack_carry=(False, True)))(carries, xs)
    for want, have in zip(jax.tree.leaves(expected), jax.tree.leaves(got), strict=True):
        np.testing.assert_array_equal(np.asarray(have), np.asarray(want))


def test_the_loop_carries_the_packed_state_and_emits_its_outputs_as_one_buffer_each() -> None:
    """Inside the loop: one buffer for the packable state, the kept counter (JAX lifts the
    unchanged weights out of the loop), the int8 leaf that cannot be packed; one output buffer
    and the unpackable output."""
    jaxpr = jax.make_jaxpr(lambda c, x: packed_scan(_step, c, x, pack_carry=(False, True)))(
        _carry(), jnp.ones(7))
    scan = next(eqn for eqn in jaxpr.eqns if eqn.primitive.name == "scan")
    num_carry = scan.params["num_carry"]
    carried = [var.aval for var in scan.outvars[:num_carry]]
    outputs = [var.aval for var in scan.outvars[num_carry:]]
    assert [(a.dtype, a.shape) for a in carried if a.shape != (2, 3)] == [
        (jnp.uint32, (3 + 3 + 1 + 2,)), (jnp.int32, ()), (jnp.int8, (2,))]
    assert [(a.dtype, a.shape) for a in outputs] == [(jnp.uint32, (7, 3 + 3 + 2)),
                                                      (jnp.int8, (7, 2))]


def test_packed_scan_traces_the_step_once() -> None:
    """The outputs' shapes and the loop share one trace of the step (a rollout step traces an
    agent's act and an environment's step)."""
    traced = []

    def step(carry, x):
        traced.append(True)
        return _step(carry, x)

    jax.make_jaxpr(lambda c, x: packed_scan(step, c, x, pack_carry=(False, True)))(
        _carry(), jnp.ones(7))
    assert len(traced) == 1

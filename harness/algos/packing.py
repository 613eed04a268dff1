"""`lax.scan` with its small carried arrays and its per-step outputs packed into one buffer each.

XLA's CPU backend runs each top-level operation of a loop body as a thunk of its own, each a
fraction of a microsecond however small its array. A rollout step carries a dozen small arrays
(the environments' state) and emits a dozen per-step outputs: a dozen loop-carried copies and
a dozen dynamic-update-slices per step, a quarter of PPO's rollout on CartPole-v1. Packed into
one 32-bit buffer each, they cost one copy and one write.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

WORD = jnp.uint32


class Slot(NamedTuple):
    """Where one leaf lies in a packed buffer."""

    offset: int
    shape: tuple[int, ...]
    dtype: Any


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def packable(leaf: Any) -> bool:
    """Whether `leaf` (an array or a shape) fits 32-bit words: 32-bit numbers and booleans."""
    return leaf.dtype == jnp.bool_ or np.dtype(leaf.dtype).itemsize == 4


def slots_of(leaves: list[Any]) -> tuple[Slot, ...]:
    """Consecutive slots for `leaves` (arrays or shapes, each `packable`)."""
    offsets = np.cumsum([0] + [_size(tuple(leaf.shape)) for leaf in leaves])
    return tuple(Slot(int(offset), tuple(leaf.shape), leaf.dtype)
                 for offset, leaf in zip(offsets, leaves, strict=False))


def pack(leaves: list[jax.Array]) -> jax.Array:
    """The leaves, flattened and bit-cast (booleans: 0 or 1), as one uint32 vector."""
    words = [leaf.reshape(-1).astype(WORD) if leaf.dtype == jnp.bool_ else
             jax.lax.bitcast_convert_type(leaf.reshape(-1), WORD) for leaf in leaves]
    return jnp.concatenate(words) if words else jnp.zeros((0,), WORD)


def unpack(buffer: jax.Array, slots: tuple[Slot, ...]) -> list[jax.Array]:
    """The leaves `pack` packed into `buffer` (`[..., words]`: leading axes stay leading)."""
    lead = buffer.shape[:-1]
    leaves = []
    for slot in slots:
        words = buffer[..., slot.offset:slot.offset + _size(slot.shape)]
        leaf = words != 0 if slot.dtype == jnp.bool_ else jax.lax.bitcast_convert_type(
            words, slot.dtype)
        leaves.append(leaf.reshape(*lead, *slot.shape))
    return leaves


class _Split(NamedTuple):
    """A pytree's leaves divided into packed ones and ones kept as they are."""

    treedef: Any
    packed: tuple[bool, ...]
    slots: tuple[Slot, ...]

    @classmethod
    def of(cls, tree: Any, wanted: Any = True) -> _Split:
        """Pack the packable leaves of `tree` where `wanted` (a prefix of `tree`) is True."""
        flags = jax.tree.leaves(jax.tree.map(
            lambda flag, subtree: jax.tree.map(lambda _: flag, subtree), wanted, tree))
        leaves, treedef = jax.tree.flatten(tree)
        packed = tuple(bool(flag) and packable(leaf)
                       for flag, leaf in zip(flags, leaves, strict=True))
        return cls(treedef, packed, slots_of([x for x, p in zip(leaves, packed, strict=True)
                                              if p]))

    def split(self, tree: Any) -> tuple[jax.Array, list[jax.Array]]:
        leaves = jax.tree.leaves(tree)
        return (pack([x for x, p in zip(leaves, self.packed, strict=True) if p]),
                [x for x, p in zip(leaves, self.packed, strict=True) if not p])

    def join(self, buffer: jax.Array, kept: list[jax.Array]) -> Any:
        return self.join_leaves(unpack(buffer, self.slots), kept)

    def join_leaves(self, packed: list[jax.Array], kept: list[jax.Array]) -> Any:
        packed, kept = iter(packed), iter(kept)
        return jax.tree.unflatten(self.treedef, [next(packed) if p else next(kept)
                                                 for p in self.packed])


def packed_scan(step: Callable[[Any, Any], tuple[Any, Any]], carry: Any, xs: Any,
                pack_carry: Any = False) -> tuple[Any, Any]:
    """`jax.lax.scan(step, carry, xs)` with the per-step outputs packed into one buffer inside
    the loop, and the carry's arrays where `pack_carry` (a prefix of the carry, like `vmap`'s
    `in_axes`: `(False, True)` packs the second half of a pair) into another.

    Pack what a step rewrites (the environments' state), not what it leaves unchanged or what
    is large (weights, running statistics): those cost nothing carried as they are, and a copy
    each step packed. Leaves that are not 32-bit numbers or booleans are never packed.

    After the loop the packed arrays are materialised leaf by leaf (an optimisation barrier),
    so that what reads them later reads contiguous arrays, not strided slices of a buffer.
    """
    step = jax.jit(step)  # traced once: for the outputs' shapes below and for the loop
    carry_split = _Split.of(carry, pack_carry)
    x_shapes = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype), xs)
    out_split = _Split.of(jax.eval_shape(step, carry, x_shapes)[1])

    def packed_step(carry: tuple, x: Any) -> tuple[tuple, tuple]:
        carry, out = step(carry_split.join(*carry), x)
        return carry_split.split(carry), out_split.split(out)

    (words, kept), (out_words, out_kept) = jax.lax.scan(
        packed_step, carry_split.split(carry), xs)
    packed, out = jax.lax.optimization_barrier(
        (unpack(words, carry_split.slots), unpack(out_words, out_split.slots)))
    return carry_split.join_leaves(packed, kept), out_split.join_leaves(out, out_kept)

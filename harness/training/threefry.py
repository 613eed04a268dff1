"""Threefry-2x32 lowered without loops on the CPU, where JAX lowers it as a rolled loop.

JAX's random numbers come from the Threefry-2x32 hash (Salmon et al., 2011: 20 rounds, a key
injection after every 4). On CPU, JAX lowers each hash as a `while` loop of five iterations to
keep compile times short. Inside a training loop that costs a loop of its own per random call,
and a rollout step splits keys and samples several times: here 512 random words take 4.9 us
rolled and 0.2 us unrolled, and a step of PPO's CartPole-v1 rollout went from 7 us to 5.4 us.
Unrolled, the rounds fuse into one elementwise kernel. The hash is the same, so every random
number is bit for bit what JAX's own lowering gives (`tests/test_threefry.py` checks the hash
against Random123's known answers and JAX's draws before and after).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from jax.extend.random import threefry2x32_p
from jax.interpreters import mlir

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
"""Rotation distances of the rounds between key injections, alternating."""
KEY_PARITY = np.uint32(0x1BD11BDA)
"""Threefry's constant for the third key word (`key1 ^ key2 ^ KEY_PARITY`)."""


def _rotate_left(x: jnp.ndarray, distance: int) -> jnp.ndarray:
    return (x << np.uint32(distance)) | (x >> np.uint32(32 - distance))


def threefry2x32(key1: jnp.ndarray, key2: jnp.ndarray, count1: jnp.ndarray,
                 count2: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The 20-round Threefry-2x32 hash of the counter words under the key words, unrolled
    (uint32 arrays that broadcast together; numpy or jax.numpy)."""
    keys = (key1, key2, key1 ^ key2 ^ KEY_PARITY)
    x1, x2 = count1 + keys[0], count2 + keys[1]
    for injection in range(1, 6):
        for distance in ROTATIONS[(injection - 1) % 2]:
            x1 = x1 + x2
            x2 = _rotate_left(x2, distance) ^ x1
        x1 = x1 + keys[injection % 3]
        x2 = x2 + keys[(injection + 1) % 3] + np.uint32(injection)
    return x1, x2


@functools.cache
def unroll_threefry_on_cpu() -> None:
    """Lower Threefry-2x32 unrolled on the CPU from now on in this process (once; the
    programs traced afterwards compute the same numbers, faster)."""

    def lowering(key1: jnp.ndarray, key2: jnp.ndarray, count1: jnp.ndarray,
                 count2: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
        shape = jnp.broadcast_shapes(key1.shape, key2.shape, count1.shape, count2.shape)
        return threefry2x32(*(jnp.broadcast_to(word, shape)
                              for word in (key1, key2, count1, count2)))

    mlir.register_lowering(threefry2x32_p, mlir.lower_fun(lowering, multiple_results=True),
                           platform="cpu")

"""The unrolled Threefry-2x32 lowering: the published hash, and JAX's numbers unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from harness.training.threefry import threefry2x32

KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]
"""Random123's known-answer vectors for Threefry-2x32-20: `(key, counter, hash)`."""


@pytest.mark.parametrize(("key", "counter", "expected"), KNOWN_ANSWERS)
def test_threefry2x32_gives_random123s_known_answers(key, counter, expected) -> None:
    words = [np.uint32(word) for word in (*key, *counter)]
    with np.errstate(over="ignore"):
        got = threefry2x32(*words)
    assert tuple(int(word) for word in got) == expected


# Random draws of every kind the agents make, as JAX's own lowering gives them and then as the
# unrolled one does (a new function object, so that nothing compiled before is reused).
DRAWS = textwrap.dedent("""
    import json, sys
    import jax, jax.numpy as jnp
    from harness.training.threefry import unroll_threefry_on_cpu

    def draws():
        def draw(key):
            a, b = jax.random.split(key)
            return {"split": jax.random.split(key, 5), "uniform": jax.random.uniform(a, (3, 7)),
                    "normal": jax.random.normal(b, (11,)),
                    "categorical": jax.random.categorical(a, jnp.arange(6.0), shape=(9,)),
                    "randint": jax.random.randint(b, (13,), 0, 1000),
                    "permutation": jax.random.permutation(a, 50),
                    "in_loop": jax.lax.scan(lambda k, _: (jax.random.split(k)[0],
                                                          jax.random.bits(k, (2,))),
                                            key, None, length=4)[1]}
        jitted = jax.jit(jax.vmap(draw))
        keys = jax.random.split(jax.random.PRNGKey(7), 3)
        loops = jitted.lower(keys).as_text().count("stablehlo.while")
        return {name: value.tolist() for name, value in jitted(keys).items()}, loops

    before, loops_before = draws()
    unroll_threefry_on_cpu()
    after, loops_after = draws()
    json.dump({"same": before == after, "loops": [loops_before, loops_after]}, sys.stdout)
""")


def test_unrolled_lowering_draws_the_same_numbers_without_loops() -> None:
    done = subprocess.run([sys.executable, "-c", DRAWS], capture_output=True, text=True,
                          check=True)
    found = json.loads(done.stdout)
    assert found["same"]
    loops_before, loops_after = found["loops"]
    assert loops_before > 1
    assert loops_after == 1, "only the scan's own loop is left"

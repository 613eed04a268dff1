"""Minibatch permutations by packed sorts: every index once, uniform, decided by the key."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import jax
import numpy as np
import pytest

from harness.algos.shuffle import MAX_SIZE, permutation, rounds_needed


@pytest.mark.parametrize("n", [1, 2, 7, 128, 512, 2048, 100_000])
def test_permutation_orders_every_index_once(n: int) -> None:
    order = np.asarray(jax.jit(permutation, static_argnums=1)(jax.random.PRNGKey(n), n))
    assert order.dtype == np.int32
    np.testing.assert_array_equal(np.sort(order), np.arange(n))


def test_rounds_cover_n_cubed_as_jax_random_permutation_does() -> None:
    for n in (2, 512, 2048, 16_384, MAX_SIZE):
        index_bits = (n - 1).bit_length()
        rounds = rounds_needed(n)
        assert rounds * (32 - index_bits) >= 3 * math.log2(n)
        assert (rounds - 1) * (32 - index_bits) < 3 * math.log2(n)
    assert rounds_needed(512) == 2


def test_permutation_is_decided_by_its_key() -> None:
    key, other = jax.random.split(jax.random.PRNGKey(0))
    np.testing.assert_array_equal(permutation(key, 512), permutation(key, 512))
    assert not np.array_equal(permutation(key, 512), permutation(other, 512))


def test_every_ordering_of_four_is_about_equally_likely() -> None:
    draws = 24_000
    keys = jax.random.split(jax.random.PRNGKey(1), draws)
    orders = np.asarray(jax.jit(jax.vmap(lambda key: permutation(key, 4)))(keys))
    counts = Counter(map(tuple, orders.tolist()))
    assert set(counts) == set(itertools.permutations(range(4)))
    expected = draws / 24
    chi_square = sum((count - expected) ** 2 / expected for count in counts.values())
    assert chi_square < 49.7, "beyond the 0.1% tail of chi-square with 23 degrees of freedom"


def test_each_index_lands_anywhere_about_equally_often() -> None:
    n, draws = 512, 4096
    keys = jax.random.split(jax.random.PRNGKey(2), draws)
    orders = np.asarray(jax.jit(jax.vmap(lambda key: permutation(key, n)))(keys))
    first_minibatch = (np.argsort(orders, axis=1) < n // 4).mean(axis=0)
    assert abs(first_minibatch.mean() - 0.25) < 1e-9
    assert np.abs(first_minibatch - 0.25).max() < 0.04, "an index favours the first quarter"

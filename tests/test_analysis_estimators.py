"""The statistics core of `harness.analysis`: estimators, stratified bootstrap, intervals,
profiles and probability of improvement, on hand-checked small cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats

from harness.analysis.aggregates import AGGREGATES, iqm, mean, median, optimality_gap
from harness.analysis.bootstrap import (
    Interval,
    bca_interval,
    interval_curves,
    interval_estimates,
    jackknife_acceleration,
    percentile_interval,
    present_first,
    resample,
    stratified_resamples,
)
from harness.analysis.improvement import improvement_intervals, probability_of_improvement
from harness.analysis.profiles import performance_profile, profile_bands

NAN = np.nan


# ----------------------------------------------------------------------------- aggregates


def test_iqm_by_hand():
    # pooled 1..8, N = 8, int(0.25 * 8) = 2 cut each side: mean(3, 4, 5, 6) = 4.5
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])
    assert iqm(x) == 4.5
    # ragged: present 1..5, N = 5, int(1.25) = 1 cut each side: mean(2, 3, 4) = 3
    ragged = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, NAN]])
    assert iqm(ragged) == 3.0
    # N = 3: int(0.75) = 0, nothing cut: mean(1, 2, 9) = 4
    assert iqm(np.array([[1.0, 2.0], [9.0, NAN]])) == 4.0


@pytest.mark.parametrize("shape", [(1, 1), (3, 1), (5, 4), (7, 3), (10, 10), (6, 5)])
def test_iqm_is_scipys_trim_mean_of_the_present_scores(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.normal(size=shape)
    if shape[0] > 1:
        x[rng.integers(1, shape[0], size=shape[1]), np.arange(shape[1])] = NAN
    expected = scipy.stats.trim_mean(x[~np.isnan(x)], 0.25)
    assert iqm(x) == pytest.approx(expected, rel=1e-13)


def test_batched_iqm_with_different_present_counts():
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(6, 5, 3))
    batch[1, 4, 0] = batch[2, 3:, 2] = batch[5, 1:, 1] = NAN  # counts 15, 14, 13, 15, 15, 11
    expected = [scipy.stats.trim_mean(b[~np.isnan(b)], 0.25) for b in batch]
    np.testing.assert_allclose(iqm(batch), expected, rtol=1e-13)
    assert iqm(batch[[0, 3, 4]]).shape == (3,)  # one count: the fixed-slice path


def test_median_and_mean_by_hand():
    # task means (0+2)/2 = 1, (10+20)/2 = 15, (2+4)/2 = 3: median 3, mean 19/3
    x = np.array([[0.0, 10.0, 2.0], [2.0, 20.0, 4.0]])
    assert median(x) == 3.0
    assert mean(x) == pytest.approx(19 / 3, rel=1e-15)
    # ragged: task means (0+4)/2 = 2 and 10/1 = 10, each task weighing the same: 6 and 6
    ragged = np.array([[0.0, 10.0], [4.0, NAN]])
    assert mean(ragged) == 6.0
    assert median(ragged) == 6.0


def test_optimality_gap_by_hand():
    # clipped at 1: [[0.5, 1], [1, 0.2]], task means 0.75 and 0.6, mean 0.675: gap 0.325
    x = np.array([[0.5, 1.5], [1.0, 0.2]])
    assert optimality_gap(x) == pytest.approx(0.325, rel=1e-14)
    # gamma 2 clips nothing: task means 0.75 and 0.85, gap 2 - 0.8 = 1.2
    assert optimality_gap(x, gamma=2.0) == pytest.approx(1.2, rel=1e-14)
    # ragged, per task then over tasks: task means 0.4 and (1 + 0) / 2 = 0.5, gap 1 - 0.45;
    # (pooling all three scores would give 1 - 1.4 / 3 instead)
    ragged = np.array([[0.4, 2.0], [NAN, 0.0]])
    assert optimality_gap(ragged) == pytest.approx(0.55, rel=1e-14)
    assert optimality_gap(ragged) == pytest.approx(1 - mean(np.minimum(ragged, 1.0)), rel=1e-15)


def test_aggregates_take_batch_axes():
    rng = np.random.default_rng(1)
    batch = rng.uniform(0, 2, size=(2, 3, 4, 5))
    batch[0, 1, 3:, 2] = NAN
    for function in AGGREGATES.values():
        values = function(batch)
        assert values.shape == (2, 3)
        np.testing.assert_allclose(values[0, 1], function(batch[0, 1]), rtol=1e-14)
    assert np.ndim(mean(batch[0, 0])) == 0


@pytest.mark.parametrize("function", list(AGGREGATES.values()))
def test_a_task_without_scores_is_an_error(function):
    x = np.array([[1.0, NAN, 2.0], [3.0, NAN, 4.0]])
    with pytest.raises(ValueError, match="task 1 has no scores"):
        function(x)
    with pytest.raises(ValueError, match=r"\[\.\.\., runs, tasks\]"):
        function(np.array([1.0, 2.0]))


def test_optimality_gap_rejects_infinite_gamma():
    with pytest.raises(ValueError, match="gamma"):
        optimality_gap(np.ones((2, 2)), gamma=np.inf)


# ----------------------------------------------------------------------------- profiles


def test_performance_profile_by_hand():
    # task 0 has runs (0, 2), task 1 (1, 3); strictly above tau:
    # tau -1: 1 and 1 -> 1; 0.5: 1/2 and 2/2 -> 0.75; 2.5: 0 and 1/2 -> 0.25; 3: 0 -> 0
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_array_equal(performance_profile(x, np.array([-1, 0.5, 2.5, 3])),
                                  [1.0, 0.75, 0.25, 0.0])
    # ragged, task 0 has one run (0): 0.5 -> (0/1 + 2/2) / 2 = 0.5
    ragged = np.array([[0.0, 1.0], [NAN, 3.0]])
    np.testing.assert_array_equal(performance_profile(ragged, [-1, 0.5]), [1.0, 0.5])
    assert performance_profile(np.stack([x, ragged]), [0.5]).shape == (2, 1)


def test_performance_profile_errors():
    with pytest.raises(ValueError, match="taus"):
        performance_profile(np.ones((2, 2)), np.array([]))
    with pytest.raises(ValueError, match="task 0"):
        performance_profile(np.array([[NAN, 1.0]]), [0.0])


def test_profile_bands():
    rng = np.random.default_rng(3)
    scores = {"a": rng.gamma(2.0, 0.5, size=(8, 5)), "b": rng.gamma(3.0, 0.5, size=(6, 5))}
    scores["b"][4:, 2] = NAN
    taus = np.linspace(0, 3, 13)
    bands = profile_bands(scores, taus, reps=500, seed=1)
    assert set(bands) == {"a", "b"}
    for name, (profile, lower, upper) in bands.items():
        assert profile.shape == lower.shape == upper.shape == (13,)
        np.testing.assert_array_equal(profile, performance_profile(scores[name], taus))
        assert np.all(lower <= profile + 1e-12) and np.all(profile <= upper + 1e-12)
        assert np.all(np.diff(profile) <= 0)
    again = profile_bands(scores, taus, reps=500, seed=1)
    np.testing.assert_array_equal(again["b"][1], bands["b"][1])


# ----------------------------------------------------------------------------- improvement


def test_probability_of_improvement_by_hand():
    # task 0: pairs (1,2) loss, (1,3) loss, (3,2) win, (3,3) tie -> (1 + 0.5) / 4 = 0.375
    # task 1: x (5, 6) beats y (0, 1) in all 4 pairs -> 1; mean 0.6875
    x = np.array([[1.0, 5.0], [3.0, 6.0]])
    y = np.array([[2.0, 0.0], [3.0, 1.0]])
    assert probability_of_improvement(x, y) == 0.6875
    assert probability_of_improvement(y, x) == 1 - 0.6875
    assert probability_of_improvement(x, x) == 0.5
    # ragged, different run counts: task 0 x (1, 3) vs y (2) -> 1/2; task 1 x (5) vs y (0, 9,
    # 5) -> (1 + 0 + 0.5) / 3 = 0.5; mean 0.5
    ragged_x = np.array([[1.0, 5.0], [3.0, NAN]])
    ragged_y = np.array([[2.0, 0.0], [NAN, 9.0], [NAN, 5.0]])
    assert probability_of_improvement(ragged_x, ragged_y) == 0.5


def test_probability_of_improvement_is_mann_whitney():
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 4, size=(7, 3)) * 1.0, rng.integers(0, 4, size=(4, 3)) * 1.0
    u = [scipy.stats.mannwhitneyu(x[:, t], y[:, t]).statistic / 28 for t in range(3)]
    assert probability_of_improvement(x, y) == pytest.approx(np.mean(u), rel=1e-15)


def test_probability_of_improvement_errors():
    with pytest.raises(ValueError, match="tasks"):
        probability_of_improvement(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="y: task 1 has no scores"):
        probability_of_improvement(np.ones((2, 2)), np.array([[1.0, NAN]]))


def test_improvement_intervals():
    rng = np.random.default_rng(2)
    scores = {"a": rng.normal(0.0, 1, size=(10, 4)), "b": rng.normal(1.0, 1, size=(8, 4)),
              "c": rng.normal(0.5, 1, size=(6, 4))}
    scores["c"][4:, 1] = NAN
    intervals = improvement_intervals(scores, reps=400)
    assert set(intervals) == {("a", "b"), ("a", "c"), ("b", "a"), ("b", "c"), ("c", "a"),
                              ("c", "b")}
    for (x, y), interval in intervals.items():
        assert interval.estimate == probability_of_improvement(scores[x], scores[y])
        assert 0 <= interval.lower <= interval.estimate <= interval.upper <= 1
    assert intervals[("b", "a")].lower > 0.5  # b is clearly better
    only = improvement_intervals(scores, [("b", "a")], reps=400, seed=3)
    assert list(only) == [("b", "a")]
    assert only == improvement_intervals(scores, [("b", "a")], reps=400, seed=3)
    assert only != improvement_intervals(scores, [("b", "a")], reps=400, seed=4)
    with pytest.raises(ValueError, match="no scores for"):
        improvement_intervals(scores, [("a", "z")])
    with pytest.raises(ValueError, match="itself"):
        improvement_intervals(scores, [("a", "a")])


# ----------------------------------------------------------------------------- resampling


def test_resample_applies_indices_within_each_task():
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, NAN]])
    indices = np.array([[[2, 1], [2, 0], [0, 2]]])  # row 2 of task 1 points at its padding
    np.testing.assert_array_equal(resample(x, indices),
                                  [[[3.0, 20.0], [3.0, 10.0], [1.0, NAN]]])
    with pytest.raises(ValueError, match="run indices"):
        resample(x, np.array([[3, 0], [0, 0], [0, 0]]))
    with pytest.raises(ValueError, match="run indices"):
        resample(x, np.array([[-1, 0], [0, 0], [0, 0]]))
    with pytest.raises(ValueError, match="integers"):
        resample(x, np.zeros((3, 2)))


def test_present_first_moves_nan_down():
    x = np.array([[NAN, 1.0], [2.0, NAN], [3.0, 4.0]])
    compacted, counts = present_first(x)
    np.testing.assert_array_equal(compacted, [[2.0, 1.0], [3.0, 4.0], [NAN, NAN]])
    np.testing.assert_array_equal(counts, [2, 2])


def test_stratified_resamples_draw_within_tasks_and_keep_padding():
    x = np.array([[1.0, 10.0, 100.0], [2.0, 20.0, NAN], [3.0, NAN, NAN], [4.0, NAN, NAN]])
    chunks = list(stratified_resamples(x, 1000, np.random.default_rng(0), chunk=300))
    assert [c.shape for c in chunks] == [(300, 4, 3)] * 3 + [(100, 4, 3)]
    replicates = np.concatenate(chunks)
    assert np.isin(replicates[:, :, 0], [1, 2, 3, 4]).all()
    assert np.isin(replicates[:, :2, 1], [10, 20]).all()
    assert (replicates[:, 0, 2] == 100).all()
    np.testing.assert_array_equal(np.isnan(replicates), np.broadcast_to(np.isnan(x),
                                                                        replicates.shape))
    # each present run is drawn about equally often
    assert np.bincount(replicates[:, :, 0].astype(int).ravel())[1:].min() > 900
    # the chunk size does not change the draws
    whole = np.concatenate(list(stratified_resamples(x, 1000, np.random.default_rng(0))))
    np.testing.assert_array_equal(whole, replicates)


def test_stratified_resamples_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="reps"):  # raised by the call itself
        stratified_resamples(np.ones((2, 2)), 0, rng)
    with pytest.raises(ValueError, match="chunk"):
        stratified_resamples(np.ones((2, 2)), 5, rng, chunk=0)
    with pytest.raises(ValueError, match="task 1 has no scores"):
        stratified_resamples(np.array([[1.0, NAN]]), 5, rng)
    with pytest.raises(TypeError, match="Generator"):
        stratified_resamples(np.ones((2, 2)), 5, 0)


# ----------------------------------------------------------------------------- intervals


def skewed(runs: int, tasks: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(0.0, 1.0, size=(runs, tasks))


def test_interval_estimates_shape_and_estimates():
    scores = {"a": skewed(10), "b": skewed(7, seed=1)}
    scores["b"][5:, 1] = NAN
    intervals = interval_estimates(scores, reps=2000)
    assert list(intervals) == ["a", "b"]
    for name, by_statistic in intervals.items():
        assert list(by_statistic) == list(AGGREGATES)
        for statistic, interval in by_statistic.items():
            assert isinstance(interval, Interval)
            assert interval.estimate == pytest.approx(AGGREGATES[statistic](scores[name]),
                                                      rel=1e-15)
            assert interval.lower <= interval.estimate <= interval.upper


def test_same_seed_same_interval_other_seed_other():
    scores = {"a": skewed(10), "b": skewed(6, seed=1)}
    first = interval_estimates(scores, reps=1000, seed=7)
    assert interval_estimates(scores, reps=1000, seed=7) == first  # bit-identical
    assert interval_estimates(scores, reps=1000, seed=np.random.default_rng(7)) == first
    other = interval_estimates(scores, reps=1000, seed=8)
    assert all(other[n][s] != first[n][s] for n in first for s in first[n])
    generator = np.random.default_rng(7)
    assert interval_estimates(scores, reps=1000, seed=generator) == first
    assert interval_estimates(scores, reps=1000, seed=generator) != first  # state advanced


def test_intervals_shrink_as_seeds_grow():
    population = np.random.default_rng(11).gamma(2.0, 0.5, size=(80, 5))
    widths = []
    for runs in (5, 20, 80):  # the first `runs` seeds of the same experiment
        interval = interval_estimates({"a": population[:runs]}, reps=2000)["a"]
        widths.append([i.upper - i.lower for i in interval.values()])
    widths = np.array(widths)
    assert np.all(widths[1] < widths[0]) and np.all(widths[2] < widths[1])
    # about 1 / sqrt(runs): 16 times the seeds, roughly a quarter of the width
    assert np.all(widths[2] / widths[0] < 0.5)


def test_a_single_run_per_task_gives_a_point_interval():
    x = np.array([[0.2, 0.4, 0.9]])
    interval = interval_estimates({"a": x}, reps=50)["a"]["Mean"]
    assert interval == Interval(0.5, 0.5, 0.5)


def test_custom_statistics():
    scores = {"a": skewed(10)}
    intervals = interval_estimates(scores, {"max": lambda x: np.nanmax(x, axis=(-2, -1))},
                                   reps=200)
    assert intervals["a"]["max"].upper == pytest.approx(scores["a"].max())
    with pytest.raises(ValueError, match="returned shape"):
        interval_estimates(scores, {"bad": lambda x: np.float64(1.0)}, reps=10)
    with pytest.raises(ValueError, match="statistic .two. returned"):
        interval_estimates(scores, {"two": lambda x: np.stack([mean(x), iqm(x)], axis=-1)},
                           reps=10)


def test_interval_estimate_errors():
    good = {"a": np.ones((3, 2))}
    with pytest.raises(ValueError, match="reps"):
        interval_estimates(good, reps=0)
    with pytest.raises(ValueError, match="reps"):
        interval_estimates(good, reps=2.5)
    for confidence in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="confidence"):
            interval_estimates(good, reps=10, confidence=confidence)
    with pytest.raises(ValueError, match="method"):
        interval_estimates(good, reps=10, method="basic")
    with pytest.raises(TypeError, match="seed"):
        interval_estimates(good, reps=10, seed=1.5)
    with pytest.raises(ValueError, match="same number of tasks"):
        interval_estimates({"a": np.ones((3, 2)), "b": np.ones((3, 3))}, reps=10)
    with pytest.raises(ValueError, match="algorithm 'b': task 1 has no scores"):
        interval_estimates({"a": np.ones((3, 2)), "b": np.array([[1.0, NAN]])}, reps=10)
    with pytest.raises(ValueError, match=r"\[runs, tasks\]"):
        interval_estimates({"a": np.ones(3)}, reps=10)
    with pytest.raises(ValueError, match="non-empty"):
        interval_estimates({}, reps=10)


# ----------------------------------------------------------------------------- BCa


def test_jackknife_acceleration_by_hand():
    # one task: leaving x_j out of the mean gives theta_j = (S - x_j) / (n - 1), and
    # mean_j theta_j - theta_j = (x_j - xbar) / (n - 1), so a = sum d^3 / (6 (sum d^2)^1.5)
    # with d = x - xbar: for (0, 1, 5), xbar 2, d = (-2, -1, 3), sum d^3 = 18, sum d^2 = 14
    x = np.array([[0.0], [1.0], [5.0]])
    assert jackknife_acceleration(x, mean) == pytest.approx(18 / (6 * 14**1.5), rel=1e-13)
    # stratified, ragged: for the mean of task means, l_tj = (x_tj - xbar_t) / tasks, so
    # a = sum_t n_t^-3 sum d^3 / (6 (sum_t n_t^-2 sum d^2)^1.5) with the tasks' d:
    # task 0 (0, 1, 5): d^3 18, d^2 14, n 3; task 1 (2, 4): d = (-1, 1), d^3 0, d^2 2, n 2
    ragged = np.array([[0.0, 2.0], [1.0, 4.0], [5.0, NAN]])
    expected = (18 / 27) / (6 * (14 / 9 + 2 / 4) ** 1.5)
    assert jackknife_acceleration(ragged, mean) == pytest.approx(expected, rel=1e-13)
    # a task with one run has no influence; no spread at all gives None
    assert jackknife_acceleration(np.array([[0.0, 7.0], [1.0, NAN], [5.0, NAN]]),
                                  mean) == pytest.approx(18 / (6 * 14**1.5), rel=1e-13)
    assert jackknife_acceleration(np.array([[1.0, 2.0]]), mean) is None


def test_bca_on_a_skewed_case():
    """Right-skewed scores: the bootstrap distribution of the mean is skewed right and the
    acceleration positive, so BCa moves the interval up from the percentile one."""
    scores = {"a": skewed(12, tasks=1, seed=4) ** 1.5}
    percentile = interval_estimates(scores, {"Mean": mean}, reps=20_000)["a"]["Mean"]
    bca = interval_estimates(scores, {"Mean": mean}, reps=20_000, method="bca")["a"]["Mean"]
    assert jackknife_acceleration(scores["a"], mean) > 0.05
    assert bca.estimate == percentile.estimate
    assert bca.lower < bca.estimate < bca.upper
    assert bca.lower > percentile.lower and bca.upper > percentile.upper
    assert bca.upper - percentile.upper > 0.05 * (percentile.upper - percentile.lower)


def test_bca_interval_formula():
    # replicates 0..99, estimate 49.5: half below, z0 = 0; with a = 0 BCa is the percentile
    values = np.arange(100.0)
    np.testing.assert_allclose(bca_interval(values, 49.5, 0.0, 0.9),
                               percentile_interval(values, 0.9))
    assert bca_interval(values, -1.0, 0.0) is None  # none below
    assert bca_interval(values, 100.0, 0.0) is None  # all below
    assert bca_interval(values, 49.5, 1.0) is None  # 1 - a (z0 + z) <= 0
    # near-ties count as ties: 0.1 + 0.2 is 1 ulp above 0.3, nextafter(0.3, 0) 1 ulp below;
    # either way only 0.0 counts as below (one replicate of five, as with exact 0.3s)
    tied = bca_interval(np.array([0.3, 0.3, 0.3, 0.0, 1.0]), 0.3, 0.0, 0.5)
    above, below = 0.1 + 0.2, np.nextafter(0.3, 0.0)
    for near in (above, below):
        np.testing.assert_allclose(bca_interval(np.array([near, 0.3, 0.3, 0.0, 1.0]), 0.3, 0.0,
                                                0.5), tied, rtol=1e-14)
    assert bca_interval(np.array([0.29, 0.3, 0.3, 0.0, 1.0]), 0.3, 0.0, 0.5) != tied


def test_bca_falls_back_with_a_warning():
    with pytest.warns(RuntimeWarning) as caught:
        interval = interval_estimates({"a": np.array([[0.2, 0.4, 0.9]])}, {"Mean": mean},
                                      reps=50, method="bca")["a"]["Mean"]
    messages = " ".join(str(w.message) for w in caught)
    assert "acceleration 0" in messages and "percentile interval" in messages
    assert interval == Interval(0.5, 0.5, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a well-defined case warns of nothing
        interval_estimates({"a": skewed(10)}, reps=500, method="bca")


# ----------------------------------------------------------------------------- curves


def test_interval_curves_are_paired_across_points():
    base = skewed(8, tasks=4)
    curves = np.stack([base, base + 1.0, 2.0 * base], axis=-1)  # [runs, tasks, points]
    (estimate, lower, upper), = interval_curves({"a": curves}, mean, reps=500).values()
    flat = interval_estimates({"a": base}, {"Mean": mean}, reps=500)["a"]["Mean"]
    # the same uniforms at every point: point 0 is the 2-D interval, point 1 its shift by 1
    # and point 2 its double (one set of run indices for the three points)
    np.testing.assert_allclose(estimate, [flat.estimate, flat.estimate + 1, 2 * flat.estimate],
                               rtol=1e-14)
    np.testing.assert_allclose(lower, [flat.lower, flat.lower + 1, 2 * flat.lower], rtol=1e-14)
    np.testing.assert_allclose(upper, [flat.upper, flat.upper + 1, 2 * flat.upper], rtol=1e-14)


def test_interval_curves_with_missing_points():
    curves = skewed(6, tasks=3)[..., None].repeat(4, axis=-1)
    curves[3:, 0, 2] = NAN  # task 0 has 3 runs at point 2
    curves[:, 1, 3] = NAN  # task 1 has no run at point 3
    result = interval_curves({"a": curves, "b": curves + 1}, reps=300)
    estimate, lower, upper = result["a"]
    assert estimate.shape == lower.shape == upper.shape == (4,)
    assert np.isnan(estimate[3]) and np.isnan(lower[3]) and np.isnan(upper[3])
    assert np.isfinite(estimate[:3]).all() and np.all(lower[:3] <= upper[:3])
    assert estimate[2] == pytest.approx(iqm(curves[..., 2]), rel=1e-15)
    again = interval_curves({"a": curves, "b": curves + 1}, reps=300)
    for key in result:
        for first, second in zip(result[key], again[key], strict=True):
            np.testing.assert_array_equal(first, second)  # NaN where NaN
    with pytest.raises(ValueError, match="task 2 has no scores"):
        bad = curves.copy()
        bad[:, 2, :] = NAN
        interval_curves({"a": bad}, reps=10)
    with pytest.raises(ValueError, match=r"\[runs, tasks, points\]"):
        interval_curves({"a": curves[..., 0]}, reps=10)

"""Agreement with rliable 1.2 / arch 7 on fixed inputs and fixed resampling indices.

The reference numbers come from `tests/fixtures/rliable_reference.json`, made by rliable's and
arch's own code (`tests/fixtures/make_rliable_reference.py`, run in a side virtualenv); rliable is
not needed here. The resampled arrays go through `harness.analysis.bootstrap.resample`, the
function `stratified_resamples` itself uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.aggregates import AGGREGATES
from harness.analysis.bootstrap import (
    TIE_ULPS,
    bca_interval,
    jackknife_acceleration,
    percentile_interval,
    resample,
)
from harness.analysis.improvement import _improvement, probability_of_improvement
from harness.analysis.profiles import performance_profile

REFERENCE = json.loads((Path(__file__).parent / "fixtures" / "rliable_reference.json").read_text())
TAUS = np.array(REFERENCE["taus"])
RTOL = 1e-12
ATOL = 1e-15  # for values that are 0 in exact arithmetic


def scores(name: str) -> np.ndarray:
    return np.array(REFERENCE["scores"][name], dtype=float)


def array(values) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


def close(actual, expected) -> None:
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL)


def test_reference_header_names_its_maker():
    header = REFERENCE["header"]
    assert header["versions"]["rliable"] == "1.2.0"
    assert {"arch", "numpy", "scipy"} <= set(header["versions"])
    assert "make_rliable_reference.py" in header["command"]


@pytest.mark.parametrize("name", sorted(REFERENCE["statistics"]))
def test_aggregates_and_profile_on_the_original_scores(name):
    expected = REFERENCE["statistics"][name]
    for statistic, function in AGGREGATES.items():
        close(function(scores(name)), expected[statistic])
    close(performance_profile(scores(name), TAUS), expected["profile"])


@pytest.mark.parametrize("name", sorted(REFERENCE["resamples"]))
def test_aggregates_and_profile_on_rliables_resamples(name):
    original = scores(name)
    cases = REFERENCE["resamples"][name]
    indices = np.array([case["indices"] for case in cases])
    replicates = resample(original, indices)  # [resamples, runs, tasks], one call
    np.testing.assert_array_equal(replicates, np.array([case["resampled"] for case in cases]))
    for statistic, function in AGGREGATES.items():
        close(function(replicates), [case[statistic] for case in cases])  # batched
        for replicate, case in zip(replicates, cases, strict=True):  # and one at a time
            close(function(replicate), case[statistic])
    close(performance_profile(replicates, TAUS), [case["profile"] for case in cases])


@pytest.mark.parametrize("case", REFERENCE["improvement"], ids=lambda c: f"{c['x']}>{c['y']}")
def test_probability_of_improvement(case):
    x, y = scores(case["x"]), scores(case["y"])
    assert probability_of_improvement(x, y) == pytest.approx(case["probability_of_improvement"],
                                                             rel=RTOL)
    index_x = np.array([r["indices_x"] for r in case["resamples"]])
    index_y = np.array([r["indices_y"] for r in case["resamples"]])
    close(_improvement(resample(x, index_x), resample(y, index_y)),
          [r["probability_of_improvement"] for r in case["resamples"]])


@pytest.mark.parametrize("case", REFERENCE["intervals"], ids=lambda c: c["algorithm"])
def test_percentile_intervals_of_get_interval_estimates(case):
    """rliable's `get_interval_estimates` (arch's percentile method) from the same indices."""
    original = scores(case["algorithm"])
    replicates = resample(original, np.array(case["indices"]))
    values = np.stack([AGGREGATES[name](replicates) for name in case["statistics"]], axis=1)
    lower, upper = percentile_interval(values, case["confidence"])
    expected = case["percentile"]
    close([AGGREGATES[name](original) for name in case["statistics"]], expected["estimate"])
    close(lower, expected["lower"])
    close(upper, expected["upper"])


def bca_cases():
    for case in REFERENCE["intervals"]:
        for k, name in enumerate(case["statistics"]):
            yield pytest.param(case, k, name, id=f"{case['algorithm']}-{name}")


def tie_robust_share(values: np.ndarray, estimate: float) -> float:
    """The share `bca_interval` counts below the estimate (ties within TIE_ULPS ulps)."""
    tolerance = TIE_ULPS * np.finfo(float).eps * max(abs(estimate), np.abs(values).max())
    return float(np.mean(values < estimate - tolerance))


@pytest.mark.parametrize(("case", "k", "name"), list(bca_cases()))
def test_bca_intervals_given_archs_acceleration(case, k, name):
    """arch's BCa (bias from the share below the estimate, normal quantiles, percentile
    levels) from the same replicates and arch's own (row-jackknife) acceleration.

    With discrete scores some replicates equal the estimate in exact arithmetic; arch counts
    those below or not by their rounding, we count them as ties. Where that changes the share
    (discrete Median: one replicate), the share differs by exactly those near-ties."""
    original = scores(case["algorithm"])
    values = AGGREGATES[name](resample(original, np.array(case["indices"])))
    estimate = AGGREGATES[name](original)
    close(estimate, case["bca"]["estimate"][k])
    share, arch_share = tie_robust_share(values, estimate), case["bca"]["below"][k]
    if share != arch_share:
        assert case["algorithm"] == "discrete", "only discrete scores have exact ties"
        near = np.abs(values - estimate) <= 1e-14
        assert share < arch_share <= share + near.mean()
        return
    bounds = bca_interval(values, estimate, case["arch_acceleration"][k], case["confidence"])
    close(bounds, (case["bca"]["lower"][k], case["bca"]["upper"][k]))


def test_bca_reference_tie_cases_are_few():
    """Every continuous case matches arch outright (the test above); of the discrete ones at
    most one statistic is off by ties."""
    (case,) = [c for c in REFERENCE["intervals"] if c["algorithm"] == "discrete"]
    original = scores("discrete")
    replicates = resample(original, np.array(case["indices"]))
    differing = [name for k, name in enumerate(case["statistics"])
                 if tie_robust_share(AGGREGATES[name](replicates), AGGREGATES[name](original))
                 != case["bca"]["below"][k]]
    assert len(differing) <= 1


def test_stratified_jackknife_is_archs_with_one_task():
    """With one task, leaving one run of one task out is arch's leave-one-row-out jackknife, so
    our acceleration, and with it the whole BCa interval, is arch's (for a scalar statistic:
    for a vector-valued one arch centres the jackknife on the mean over all outputs)."""
    (case,) = [c for c in REFERENCE["intervals"] if c["algorithm"] == "single_task"]
    original = scores("single_task")
    replicates = resample(original, np.array(case["indices"]))
    for k, name in enumerate(case["statistics"]):
        acceleration = jackknife_acceleration(original, AGGREGATES[name])
        close(acceleration, case["arch_acceleration"][k])
        bounds = bca_interval(AGGREGATES[name](replicates), AGGREGATES[name](original),
                              acceleration, case["confidence"])
        close(bounds, (case["bca"]["lower"][k], case["bca"]["upper"][k]))


@pytest.mark.parametrize("case", REFERENCE["improvement_intervals"],
                         ids=lambda c: f"{c['x']}>{c['y']}")
def test_improvement_intervals_of_get_interval_estimates(case):
    x, y = scores(case["x"]), scores(case["y"])
    values = _improvement(resample(x, np.array(case["indices_x"])),
                          resample(y, np.array(case["indices_y"])))
    lower, upper = percentile_interval(values, case["confidence"])
    assert probability_of_improvement(x, y) == pytest.approx(case["estimate"], rel=RTOL)
    close((lower, upper), (case["lower"], case["upper"]))


def test_ragged_scores_match_rliable_task_by_task():
    ragged = REFERENCE["ragged"]
    x, y = array(ragged["x"]), array(ragged["y"])
    expected = ragged["x_statistics"]
    for statistic, function in AGGREGATES.items():
        close(function(x), expected[statistic])
    close(performance_profile(x, TAUS), expected["profile"])
    assert probability_of_improvement(x, y) == pytest.approx(
        expected["probability_of_improvement"], rel=RTOL)

"""AdaStop sequential comparisons of algorithms on stored final scores (Mathieu et al. 2023).

AdaStop (the `adastop` package) is a group-sequential permutation test over every pair of the
algorithms compared: at interim k (1..K) each algorithm still in an undecided pair brings n more
scores (seeds), and each pair is decided `larger`, `smaller` (algo_1's mean score against
algo_2's) or kept undecided; after interim K every undecided pair is `equal`. The family-wise
error over all the pairs of one comparison is at most `alpha`.

`compare_algorithms` runs the test on arrays (per algorithm its scores in seed order) and feeds
them interim by interim until the test finishes or the scores run out; then the pairs left are
`continue`, and the result says how many more scores each algorithm needs for the next interim.
Running it again with the same seed once more scores exist replays the same interims exactly and
goes on from there.

`compare_suite` runs one comparison per environment on a suite's finished runs and returns the
decisions as a table (`TABLE_COLUMNS`); `suite_comparison` also keeps the exact scores used, and
`store_comparison` writes both to `<suite>/analysis/adastop-<hash>.json` and `.csv`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.results import final_scores, suite_paths
from harness.scores import DEFAULT_REDUCTION, Reduction
from harness.store.atomic import write_atomic, write_json

DECISIONS = ("larger", "smaller", "equal", "continue")
"""AdaStop's decisions on a pair (algo_1 vs algo_2); `continue`: undecided when scores ran out."""
TABLE_COLUMNS = [
    "env_id", "algo_1", "algo_2", "decision", "mean_1", "mean_2", "seeds_1", "seeds_2",
    "seed_list_1", "seed_list_2", "interims", "more_seeds_1", "more_seeds_2", "next_seeds_1",
    "next_seeds_2", "n", "K", "alpha", "B", "seed", "reduction",
]
"""Columns of `compare_suite`, one row per environment and pair of algorithms:

- `env_id`; `algo_1`, `algo_2`: the two algorithms' `exp_name`s, in the order asked for;
- `decision`: one of `DECISIONS`, read "algo_1's mean score is larger / smaller than / equal to
  algo_2's", or `continue` when the finished seeds ran out before AdaStop decided;
- `mean_1`, `mean_2`: the mean final score over the seeds the decision rests on;
- `seeds_1`, `seeds_2`: how many seeds (scores) of each algorithm the decision rests on;
- `seed_list_1`, `seed_list_2`: those seeds, as ranges (`0-9`, `0-4, 6-10`);
- `interims`: the interims the pair took (decided at this one, or undecided after it);
- `more_seeds_1`, `more_seeds_2`: how many more finished seeds of the algorithm the next interim
  needs (0 once the pair is decided or the algorithm already has them);
- `next_seeds_1`, `next_seeds_2`: seeds to train for them, the smallest with no finished run
  (`""` when none are needed);
- `n`, `K`, `alpha`, `B`, `seed`: AdaStop's parameters; `reduction`: the final-score reduction.
"""
ADASTOP_VERSION = "0.1.3"
"""The `adastop` release this wrapper was checked against (its decision strings, attributes)."""


class AdaStopInputError(ValueError):
    """Scores or parameters AdaStop cannot run on (the message says which and why)."""


@dataclass(frozen=True)
class PairDecision:
    """AdaStop's decision on one pair of algorithms."""

    algo_1: str
    algo_2: str
    decision: str
    """One of `DECISIONS`, algo_1 against algo_2."""
    interims: int
    """The interim that decided the pair (1-based), or the interims run when undecided."""
    seeds: int
    """Scores of each of the two algorithms the decision rests on (`interims * n`)."""
    mean_1: float
    mean_2: float


@dataclass(frozen=True)
class AdaStopResult:
    """The outcome of one AdaStop comparison (all pairs of `names`)."""

    names: tuple[str, ...]
    pairs: tuple[PairDecision, ...]
    used: dict[str, int]
    """Scores of each algorithm fed to the test."""
    more: dict[str, int]
    """More scores each algorithm needs for the next interim (all 0 once `finished`)."""
    interims: int
    finished: bool
    thresholds: tuple[float, ...]
    """The rejection boundary on `k * |mean_1 - mean_2|` at each interim (inf: none reachable)."""
    n: int
    K: int
    alpha: float
    B: int
    seed: int


def _check_parameters(n: int, K: int, alpha: float, B: int, seed: int) -> None:
    """Raise AdaStopInputError for parameters outside what AdaStop accepts."""
    for name, value, least in (("n", n, 1), ("K", K, 1), ("B", B, 2)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise AdaStopInputError(f"AdaStop's {name} must be an integer >= {least}, "
                                    f"not {value!r}")
    if not 0 < alpha < 1:
        raise AdaStopInputError(f"AdaStop's alpha must be in (0, 1), not {alpha!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise AdaStopInputError(f"AdaStop's seed must be an integer in [0, 2**32), not {seed!r}")


def _checked_scores(scores: Mapping[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """The scores as 1-D float arrays; AdaStopInputError for too few algorithms or scores."""
    if len(scores) < 2:
        raise AdaStopInputError(f"AdaStop compares at least 2 algorithms, got {len(scores)}: "
                                f"{', '.join(scores) or 'none'}")
    arrays = {}
    for name, values in scores.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1:
            raise AdaStopInputError(f"scores of {name!r} must be 1-D [seeds], got shape "
                                    f"{array.shape}")
        if not np.isfinite(array).all():
            raise AdaStopInputError(f"scores of {name!r} hold NaN or infinite values")
        if len(array) < n:
            raise AdaStopInputError(f"{name!r} has {len(array)} scores; AdaStop's first interim "
                                    f"needs n={n} per algorithm")
        arrays[str(name)] = array
    return arrays


def compare_algorithms(scores: Mapping[str, np.ndarray], *, n: int = 5, K: int = 5,
                       alpha: float = 0.05, B: int = 10_000, seed: int = 0) -> AdaStopResult:
    """AdaStop on every pair of algorithms; `scores[name]`: float [seeds], in seed order.

    Interim by interim, each algorithm still in an undecided pair brings its next n scores,
    until the test finishes (at most K interims, `n * K` scores each) or some algorithm it needs
    has too few; pairs left then are `continue`. `seed` fixes AdaStop's random permutations.
    """
    _check_parameters(n, K, alpha, B, seed)
    arrays = _checked_scores(scores, n)
    from adastop import MultipleAgentsComparator

    names = tuple(arrays)
    pairs = np.array([(i, j) for i in range(len(names)) for j in range(i + 1, len(names))])
    keys = [str(pair) for pair in pairs]
    comparator = MultipleAgentsComparator(n=n, K=K, B=B, comparisons=pairs, alpha=alpha,
                                          seed=seed)
    fed = dict.fromkeys(names, 0)
    decided_at: dict[str, int] = {}
    active = set(range(len(names)))
    while not comparator.is_finished:
        interim = comparator.k + 1
        if any(len(arrays[names[i]]) < interim * n for i in active):
            break
        for i in active:
            fed[names[i]] = interim * n
        with contextlib.redirect_stdout(io.StringIO()):
            comparator.partial_compare({name: arrays[name][:fed[name]] for name in names},
                                       verbose=False)
        for key in keys:
            if key not in decided_at and comparator.decisions[key] != "continue":
                decided_at[key] = interim
        active = {int(i) for i in np.ravel(comparator.current_comparisons)}
    interims, decisions, found = comparator.k, comparator.decisions, []
    for (i, j), key in zip(pairs, keys, strict=True):
        took = decided_at.get(key, interims)
        found.append(PairDecision(names[i], names[j], decisions[key], took, took * n,
                                  float(np.mean(arrays[names[i]][:took * n])),
                                  float(np.mean(arrays[names[j]][:took * n]))))
    finished = bool(comparator.is_finished)
    more = {name: 0 if finished or index not in active else
            max(0, (interims + 1) * n - len(arrays[name])) for index, name in enumerate(names)}
    return AdaStopResult(names, tuple(found), fed, more, interims, finished,
                         tuple(float(upper) for _, upper in comparator.boundary), n, K, alpha, B,
                         seed)


def seed_ranges(seeds: Sequence[int]) -> str:
    """Seeds as sorted ranges: `[0, 1, 2, 5]` -> `0-2, 5`."""
    ordered = sorted(set(int(s) for s in seeds))
    parts, start = [], None
    for index, seed in enumerate(ordered):
        if start is None:
            start = seed
        if index + 1 == len(ordered) or ordered[index + 1] != seed + 1:
            parts.append(str(seed) if seed == start else f"{start}-{seed}")
            start = None
    return ", ".join(parts)


def untrained_seeds(finished: Sequence[int], count: int) -> list[int]:
    """The `count` smallest non-negative seeds not in `finished`."""
    taken, found, seed = set(int(s) for s in finished), [], 0
    while len(found) < count:
        if seed not in taken:
            found.append(seed)
        seed += 1
    return found


@dataclass(frozen=True)
class SuiteComparison:
    """AdaStop on each environment of a suite: parameters, decisions and the scores used."""

    suite: str
    parameters: dict[str, Any]
    """suite, algos, envs, reduction, n, K, alpha, B, seed: all the comparison depends on."""
    table: pd.DataFrame
    """One row per environment and pair, columns `TABLE_COLUMNS`."""
    scores: pd.DataFrame
    """The scores fed to AdaStop: env_id, exp_name, run_id, seed, score (seed order)."""
    results: dict[str, AdaStopResult] = field(repr=False)
    """Per environment, the comparison."""

    @property
    def stem(self) -> str:
        """`adastop-<12 hex digits>`: the file name stem, a hash of `parameters`."""
        text = json.dumps(self.parameters, sort_keys=True)
        return f"adastop-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _chosen(asked: Sequence[str] | None, present: list[str], what: str, suite: str) -> list[str]:
    """The names asked for, in order (all `present` when None); errors for unknown names."""
    if asked is None:
        return present
    asked = [str(name) for name in asked]
    repeated = sorted({name for name in asked if asked.count(name) > 1})
    if repeated:
        raise AdaStopInputError(f"{what} named more than once: {', '.join(repeated)}")
    unknown = [name for name in asked if name not in present]
    if unknown:
        raise AdaStopInputError(f"no finished runs of {what} {', '.join(unknown)} in suite "
                                f"{suite} (finished: {', '.join(present) or 'none'})")
    return asked


def _env_scores(frame: pd.DataFrame, env_id: str, algos: list[str], n: int,
                reduction: Reduction) -> dict[str, pd.DataFrame]:
    """Per algorithm its finished runs on `env_id` in seed order; errors for NaN scores,
    repeated seeds and fewer than `n` seeds."""
    found = {}
    for algo in algos:
        runs = frame[(frame["env_id"] == env_id) & (frame["exp_name"] == algo)]
        missing = runs[runs["score"].isna()]
        if len(missing):
            raise AdaStopInputError(
                f"{algo} on {env_id}: runs {', '.join(missing['run_id'])} have no final score "
                f"under {reduction.key} (NaN: no episodes to average)")
        repeated = runs[runs["seed"].duplicated(keep=False)]
        if len(repeated):
            raise AdaStopInputError(
                f"{algo} on {env_id}: several finished runs share seeds "
                f"{seed_ranges(repeated['seed'].tolist())} (runs {', '.join(repeated['run_id'])}; "
                "pass the suite file to use only the runs it defines now)")
        if len(runs) < n:
            raise AdaStopInputError(
                f"{algo} has {len(runs)} finished seeds on {env_id}; AdaStop's first interim "
                f"needs n={n} per algorithm (train more seeds, pass a smaller --n, or leave the "
                "environment out)")
        found[algo] = runs.sort_values("seed", ignore_index=True)
    return found


def _rows(env_id: str, result: AdaStopResult, runs: dict[str, pd.DataFrame],
          reduction: Reduction) -> list[dict[str, Any]]:
    """The table rows of one environment's comparison."""
    next_seeds = {name: seed_ranges(untrained_seeds(runs[name]["seed"].tolist(), count))
                  for name, count in result.more.items()}
    rows = []
    for pair in result.pairs:
        more_1 = result.more[pair.algo_1] if pair.decision == "continue" else 0
        more_2 = result.more[pair.algo_2] if pair.decision == "continue" else 0
        rows.append({
            "env_id": env_id, "algo_1": pair.algo_1, "algo_2": pair.algo_2,
            "decision": pair.decision, "mean_1": pair.mean_1, "mean_2": pair.mean_2,
            "seeds_1": pair.seeds, "seeds_2": pair.seeds,
            "seed_list_1": seed_ranges(runs[pair.algo_1]["seed"][:pair.seeds].tolist()),
            "seed_list_2": seed_ranges(runs[pair.algo_2]["seed"][:pair.seeds].tolist()),
            "interims": pair.interims, "more_seeds_1": more_1, "more_seeds_2": more_2,
            "next_seeds_1": next_seeds[pair.algo_1] if more_1 else "",
            "next_seeds_2": next_seeds[pair.algo_2] if more_2 else "",
            "n": result.n, "K": result.K, "alpha": result.alpha, "B": result.B,
            "seed": result.seed, "reduction": reduction.key})
    return rows


def scores_comparison(frame: pd.DataFrame, label: str, *, algos: Sequence[str] | None = None,
                      envs: Sequence[str] | None = None,
                      reduction: Reduction | str = DEFAULT_REDUCTION, n: int = 5, K: int = 5,
                      alpha: float = 0.05, B: int = 10_000, seed: int = 0) -> SuiteComparison:
    """AdaStop per environment on final scores `frame` (one row per run: `exp_name`, `env_id`,
    `run_id`, `seed`, `score`, e.g. `final_scores` of one suite or the labelled scores of
    several), named `label` (the suite or suites) in messages and parameters.

    `algos` (exp_names) restricts and orders the algorithms, `envs` the environments (default:
    every one with finished runs, sorted). AdaStopInputError for unknown names, fewer than 2
    algorithms, NaN scores or too few seeds.
    """
    _check_parameters(n, K, alpha, B, seed)
    reduction = reduction if isinstance(reduction, Reduction) else Reduction.parse(reduction)
    frame = frame.astype({"exp_name": str, "env_id": str, "run_id": str})
    if frame.empty:
        raise AdaStopInputError(f"suite {label} has no finished runs to compare")
    chosen_algos = _chosen(algos, sorted(frame["exp_name"].unique()), "algorithm", label)
    if len(chosen_algos) < 2:
        raise AdaStopInputError(f"AdaStop compares at least 2 algorithms; suite {label} "
                                f"has finished runs of {', '.join(chosen_algos)} only")
    frame = frame[frame["exp_name"].isin(chosen_algos)]
    chosen_envs = _chosen(envs, sorted(frame["env_id"].unique()), "environment", label)
    results, rows, used = {}, [], []
    for env_id in chosen_envs:
        runs = _env_scores(frame, env_id, chosen_algos, n, reduction)
        result = compare_algorithms({name: runs[name]["score"].to_numpy() for name in runs},
                                    n=n, K=K, alpha=alpha, B=B, seed=seed)
        results[env_id] = result
        rows += _rows(env_id, result, runs, reduction)
        used += [runs[name].iloc[:result.used[name]][["env_id", "exp_name", "run_id", "seed",
                                                      "score"]] for name in runs]
    parameters = {"suite": label, "algos": chosen_algos, "envs": chosen_envs,
                  "reduction": reduction.key, "n": n, "K": K, "alpha": alpha, "B": B,
                  "seed": seed}
    scores = pd.concat(used, ignore_index=True).astype({"seed": np.int64})
    return SuiteComparison(label, parameters, pd.DataFrame(rows, columns=TABLE_COLUMNS),
                           scores, results)


def suite_comparison(suite: str | Path, *, root: str | Path | None = None,
                     algos: Sequence[str] | None = None, envs: Sequence[str] | None = None,
                     reduction: Reduction | str = DEFAULT_REDUCTION, n: int = 5, K: int = 5,
                     alpha: float = 0.05, B: int = 10_000, seed: int = 0) -> SuiteComparison:
    """`scores_comparison` of the suite's finished runs' final scores under `reduction`;
    FileNotFoundError for an unknown suite."""
    _check_parameters(n, K, alpha, B, seed)
    reduction = reduction if isinstance(reduction, Reduction) else Reduction.parse(reduction)
    paths = suite_paths(suite, root)
    return scores_comparison(final_scores(suite, root=root, reduction=reduction), paths.suite,
                             algos=algos, envs=envs, reduction=reduction, n=n, K=K,
                             alpha=alpha, B=B, seed=seed)


def compare_suite(suite: str | Path, *, root: str | Path | None = None,
                  algos: Sequence[str] | None = None, envs: Sequence[str] | None = None,
                  reduction: Reduction | str = DEFAULT_REDUCTION, n: int = 5, K: int = 5,
                  alpha: float = 0.05, B: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """The decisions of `suite_comparison` as a table, one row per environment and pair of
    algorithms, columns `TABLE_COLUMNS`."""
    return suite_comparison(suite, root=root, algos=algos, envs=envs, reduction=reduction, n=n,
                            K=K, alpha=alpha, B=B, seed=seed).table


def _finite_or_none(value: float) -> float | None:
    """`value`, or None for infinity (JSON has no infinity)."""
    return value if math.isfinite(value) else None


def comparison_record(comparison: SuiteComparison) -> dict[str, Any]:
    """The comparison as JSON-ready data: parameters, per environment the decisions, interims
    and thresholds, and every score used (run_id, seed, score) so it can be re-checked."""
    environments = []
    for env_id, result in comparison.results.items():
        used = comparison.scores[comparison.scores["env_id"] == env_id]
        environments.append({
            "env_id": env_id, "finished": result.finished, "interims": result.interims,
            "thresholds": [_finite_or_none(value) for value in result.thresholds],
            "seeds_used": result.used, "more_seeds": result.more,
            "decisions": comparison.table[comparison.table["env_id"] == env_id]
            .drop(columns=["env_id", "n", "K", "alpha", "B", "seed", "reduction"])
            .to_dict(orient="records"),
            "scores": {name: [{"run_id": row.run_id, "seed": int(row.seed),
                               "score": float(row.score)}
                              for row in used[used["exp_name"] == name].itertuples()]
                       for name in result.names}})
    return {"method": "AdaStop (Mathieu et al. 2023)", "adastop": ADASTOP_VERSION,
            "parameters": comparison.parameters, "environments": environments}


def store_comparison(comparison: SuiteComparison, directory: str | Path) -> tuple[Path, Path]:
    """Write `<directory>/<stem>.json` (`comparison_record`) and `.csv` (the table),
    each atomically; their paths."""
    directory = Path(directory)
    json_path = directory / f"{comparison.stem}.json"
    csv_path = directory / f"{comparison.stem}.csv"
    write_json(json_path, comparison_record(comparison))
    data = comparison.table.to_csv(index=False).encode()
    write_atomic(csv_path, lambda handle: handle.write(data))
    return json_path, csv_path

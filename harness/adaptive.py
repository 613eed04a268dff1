"""Adaptive seeds: train a suite interim by interim until AdaStop decides every comparison.

A suite with `seeds: {adaptive: true, per_interim: n, interims: K, ...}` compares, on each
environment, every pair of its experiments with AdaStop (harness/analysis/adastop.py). Interim k
(1-based) trains seeds `(k - 1) * n .. k * n - 1` of each experiment still in an undecided pair
on that environment; after each interim AdaStop runs on the final scores, until every pair is
decided or K interims are spent.

The state is never pickled or trusted from a file: `adaptive_state` replays AdaStop, with the
same parameters and seed, on the finished runs of the store, so a `harness run` killed at any
point recomputes exactly the decisions it had and trains the same seeds. After each decision the
state is written to `<suite>/analysis/adaptive.json` for `harness status` (and people) to read.
The analysis layer (pandas) is imported only where a decision is made, so `harness status`
starts fast.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from pathlib import Path
from typing import Any

from harness.execute import Plan, run_plan
from harness.runs import Run
from harness.store import SuitePaths
from harness.store.atomic import read_json_object, write_json
from harness.store.damage import DamagedFile
from harness.store.state import RunState
from harness.suite.adaptive_seeds import AdaptiveSeeds
from runners.base import Runner

STATE_FILE = "adaptive.json"
"""The latest adaptive state of a suite, under its `analysis/` directory."""
SIGNS = {"larger": ">", "smaller": "<", "equal": "="}
"""How `harness status` shows a decided pair: `a > b`, algo_1's mean score against algo_2's."""


@dataclass(frozen=True)
class Comparison:
    """AdaStop's decision on one pair of experiments of one environment."""

    algo_1: str
    algo_2: str
    decision: str
    """`larger`, `smaller`, `equal` (algo_1 against algo_2) or `continue` (undecided)."""
    interims: int
    """The interim that decided the pair, or the interims run while it is undecided."""


@dataclass(frozen=True)
class EnvironmentState:
    """Where the comparisons of one environment stand after the finished runs so far."""

    env_id: str
    interims: int
    """Interims AdaStop has run on this environment (0 until the first is trained)."""
    comparisons: tuple[Comparison, ...]
    trained: dict[str, int]
    """Per experiment, its finished seeds from seed 0 on (the scores AdaStop can use)."""
    needed: dict[str, list[int]]
    """Per experiment still in an undecided pair, the seeds the next interim needs trained."""

    @property
    def open(self) -> list[Comparison]:
        """The undecided pairs."""
        return [pair for pair in self.comparisons if pair.decision == "continue"]

    @property
    def undecided(self) -> list[str]:
        """The experiments in an undecided pair, in suite order."""
        names = {name for pair in self.open for name in (pair.algo_1, pair.algo_2)}
        return [name for name in self.trained if name in names]


@dataclass(frozen=True)
class AdaptiveState:
    """The adaptive state of a suite: its settings and each environment's comparisons."""

    settings: AdaptiveSeeds
    environments: tuple[EnvironmentState, ...]

    @property
    def finished(self) -> bool:
        """Whether every comparison is decided (or the interims are spent)."""
        return not any(env.needed for env in self.environments)


@dataclass(frozen=True)
class AdaptiveOutcome:
    """How `run_adaptive` ended."""

    plan: Plan
    """The suite's plan, read from the store after the last interim."""
    state: AdaptiveState
    stopped: str | None
    """Why it stopped before the comparisons finished (runs that failed), or None."""


def _environment_state(env_id: str, scores: dict[str, list[float]],
                       settings: AdaptiveSeeds) -> EnvironmentState:
    """The state of one environment; `scores[exp_name]`: finished scores from seed 0 on."""
    from harness.analysis.adastop import compare_algorithms

    n = settings.per_interim
    trained = {name: len(values) for name, values in scores.items()}
    if min(trained.values()) < n:
        pairs = tuple(Comparison(a, b, "continue", 0) for a, b in combinations(scores, 2))
        needed = {name: list(range(count, n)) for name, count in trained.items() if count < n}
        return EnvironmentState(env_id, 0, pairs, trained, needed)
    result = compare_algorithms(scores, n=n, K=settings.interims, alpha=settings.alpha,
                                B=settings.B, seed=settings.seed)
    pairs = tuple(Comparison(p.algo_1, p.algo_2, p.decision, p.interims) for p in result.pairs)
    state = EnvironmentState(env_id, result.interims, pairs, trained, {})
    target = (result.interims + 1) * n
    needed = {name: list(range(trained[name], target)) for name in state.undecided
              if trained[name] < target}
    return replace(state, needed=needed)


def decide(scores: Mapping[tuple[str, str], Sequence[float]], experiments: Sequence[str],
           env_ids: Sequence[str], settings: AdaptiveSeeds) -> AdaptiveState:
    """The adaptive state after finished scores `scores[(exp_name, env_id)]` (seeds 0, 1, ...
    in order, no gaps): per environment AdaStop's decisions and the seeds still to train."""
    return AdaptiveState(settings, tuple(
        _environment_state(env_id, {name: [float(s) for s in scores.get((name, env_id), ())]
                                    for name in experiments}, settings)
        for env_id in env_ids))


def finished_scores(plan: Plan) -> dict[tuple[str, str], list[float]]:
    """Per (exp_name, env_id) the final scores of the plan's finished runs from seed 0 up to
    the first seed without one (not finished, or no episode to score)."""
    done = [run.run_id for run in plan.runs if plan.state_of(run) == RunState.DONE]
    if not done:
        return {}
    from harness.results import final_scores

    frame = final_scores(plan.paths.dir, run_id=done)
    score_of = dict(zip(frame["run_id"], frame["score"].astype(float), strict=True))
    scores: dict[tuple[str, str], list[float]] = {}
    for run in sorted(plan.runs, key=lambda run: run.seed):
        values = scores.setdefault((run.exp_name, run.env_id), [])
        score = score_of.get(run.run_id, math.nan)
        if len(values) == run.seed and math.isfinite(score):
            values.append(score)
    return scores


def adaptive_state(plan: Plan) -> AdaptiveState:
    """The adaptive state of an adaptive suite's plan, replayed from its finished runs."""
    settings = plan.suite.seeds
    if not isinstance(settings, AdaptiveSeeds):
        raise ValueError(f"suite {plan.suite.name} does not have adaptive seeds")
    experiments = list(dict.fromkeys(run.exp_name for run in plan.runs))
    return decide(finished_scores(plan), experiments, plan.suite.environment_ids, settings)


def needed_runs(plan: Plan, state: AdaptiveState) -> list[Run]:
    """The plan's runs the next interim of `state` trains."""
    wanted = {(env.env_id, name, seed) for env in state.environments
              for name, seeds in env.needed.items() for seed in seeds}
    return [run for run in plan.runs if (run.env_id, run.exp_name, run.seed) in wanted]


def state_path(paths: SuitePaths) -> Path:
    """Where a suite's adaptive state is stored."""
    return paths.dir / "analysis" / STATE_FILE


def state_record(state: AdaptiveState, stopped: str | None = None) -> dict[str, Any]:
    """The state as JSON-ready data (what `adaptive.json` holds)."""
    return {
        "method": "AdaStop (Mathieu et al. 2023)",
        "parameters": state.settings.model_dump(),
        "finished": state.finished,
        "stopped": stopped,
        "environments": [{
            "env_id": env.env_id, "interims": env.interims,
            "decisions": [vars(pair) for pair in env.comparisons],
            "undecided": env.undecided, "seeds_trained": env.trained,
            "next_seeds": env.needed} for env in state.environments]}


def write_state(paths: SuitePaths, state: AdaptiveState, stopped: str | None = None) -> None:
    """Write `state_record` to `state_path` atomically."""
    write_json(state_path(paths), state_record(state, stopped))


def _seeds_text(seeds: Sequence[int]) -> str:
    return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])


def interim_lines(state: AdaptiveState) -> list[str]:
    """One line per environment still training: its interim, open pairs and seeds to train."""
    lines = []
    for env in state.environments:
        if env.needed:
            lines.append(f"{env.env_id}: interim {env.interims + 1} of {state.settings.interims}"
                         f", open comparisons: {_pairs_text(env.open)}; training " + ", ".join(
                             f"seeds {_seeds_text(seeds)} of {name}"
                             for name, seeds in env.needed.items()))
    return lines


def _pairs_text(pairs: Sequence[Comparison]) -> str:
    return ", ".join(f"{pair.algo_1} vs {pair.algo_2}" for pair in pairs)


def run_adaptive(plan: Plan, runner: Runner,
                 report: Callable[[str], None] = print) -> AdaptiveOutcome:
    """Train an adaptive suite's plan interim by interim with `runner`, deciding with AdaStop
    after each, until every comparison is decided, the interims are spent, or a run the next
    interim needs does not finish; `report` gets a line per environment and interim."""
    tried: set[str] = set()
    while True:
        state = adaptive_state(plan)
        wanted = needed_runs(plan, state)
        todo = [run for run in wanted if plan.state_of(run) != RunState.DONE]
        blocked = [run for run in todo if run.run_id in tried or plan.gave_up(run)] \
            or ([] if todo else wanted)  # wanted but all done: one has no final score
        stopped = None if not blocked else (
            f"{len(blocked)} runs the next interim needs did not finish or have no final score "
            f"(first: seed {blocked[0].seed} of {blocked[0].exp_name} on {blocked[0].env_id}, "
            f"run {blocked[0].run_id}); `harness status` shows why")
        write_state(plan.paths, state, stopped)
        if not wanted or blocked:
            return AdaptiveOutcome(plan, state, stopped)
        for line in interim_lines(state):
            report(line)
        run_plan(replace(plan, runs=tuple(todo)), runner)
        tried.update(run.run_id for run in todo)
        plan = plan.refreshed()


def status_lines(paths: SuitePaths, settings: AdaptiveSeeds) -> list[str]:
    """What `harness status` says of an adaptive suite, from its stored state."""
    head = (f"adaptive seeds: {settings.per_interim} per interim, up to {settings.interims} "
            f"interims, alpha {settings.alpha:g}")
    try:
        record = read_json_object(state_path(paths))
    except DamagedFile as err:
        return [f"{head}; {err}; `harness run` writes it again"]
    if record is None:
        return [f"{head}; no interim trained yet"]
    if record.get("parameters") != settings.model_dump():
        return [f"{head}; the stored state is for other settings; `harness run` recomputes it"]
    try:
        return [head + (f"; stopped: {record['stopped']}" if record["stopped"] else ""),
                *(_environment_line(env, settings) for env in record["environments"])]
    except (KeyError, TypeError, ValueError):
        return [f"{head}; {state_path(paths)} is not an adaptive state; `harness run` writes "
                "it again"]


def _environment_line(env: dict[str, Any], settings: AdaptiveSeeds) -> str:
    """The status line of one environment's stored state."""
    pairs = [Comparison(**pair) for pair in env["decisions"]]
    undecided = [pair for pair in pairs if pair.decision == "continue"]
    if undecided:
        return (f"{env['env_id']}: interim {env['interims']} of {settings.interims} done, open "
                f"comparisons: {_pairs_text(undecided)}")
    decided = ", ".join(f"{p.algo_1} {SIGNS[p.decision]} {p.algo_2} (interim {p.interims})"
                        for p in pairs)
    return f"{env['env_id']}: all decided after interim {env['interims']}: {decided}"

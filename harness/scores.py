"""The final score of a run: one named reduction of its episodes, shared by every table.

- `last_episodes` (the default, n=100): the mean undiscounted return of the run's last n
  training episodes (all of them when it has fewer), as CleanRL and Open RL Benchmark score a run.
- `last_fraction` (fraction=0.1): the mean return of the training episodes that ended in the
  last `fraction` of the run's training steps (`global_step > (1 - fraction) * last_step`).
- `eval`: the mean return of the greedy evaluation episodes of the last evaluation point.

A run without such episodes scores NaN. Pure functions of arrays; no pandas, no JAX.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ReductionName = Literal["last_episodes", "last_fraction", "eval"]
REDUCTION_NAMES: tuple[str, ...] = ("last_episodes", "last_fraction", "eval")


@dataclass(frozen=True)
class Reduction:
    """How a run's episodes become its final score."""

    name: ReductionName = "last_episodes"
    episodes: int = 100
    """`last_episodes`: how many of the last training episodes are averaged."""
    fraction: float = 0.1
    """`last_fraction`: the share of the run's training steps at the end that counts."""

    def __post_init__(self) -> None:
        if self.name not in REDUCTION_NAMES:
            raise ValueError(f"unknown final-score reduction {self.name!r} "
                             f"(known: {', '.join(REDUCTION_NAMES)})")
        if self.name == "last_episodes" and not (isinstance(self.episodes, int)
                                                 and self.episodes > 0):
            raise ValueError(f"last_episodes needs a positive episode count, not {self.episodes!r}")
        if self.name == "last_fraction" and not 0 < self.fraction <= 1:
            raise ValueError(f"last_fraction needs a fraction in (0, 1], not {self.fraction!r}")

    @property
    def key(self) -> str:
        """A stable text form: `last_episodes:100`, `last_fraction:0.1` or `eval`."""
        if self.name == "last_episodes":
            return f"last_episodes:{self.episodes}"
        if self.name == "last_fraction":
            return f"last_fraction:{self.fraction:g}"
        return "eval"

    @classmethod
    def parse(cls, text: str) -> Reduction:
        """The reduction a `key` names (`last_episodes`, `last_episodes:50`, `eval`, ...)."""
        name, _, value = text.partition(":")
        try:
            if name == "last_episodes" and value:
                return cls(name, episodes=int(value))
            if name == "last_fraction" and value:
                return cls(name, fraction=float(value))
        except ValueError:
            raise ValueError(f"final-score reduction {text!r}: {value!r} is not a number") from None
        if value:
            raise ValueError(f"final-score reduction {text!r} takes no parameter")
        return cls(name)  # type: ignore[arg-type]

    def describe(self) -> str:
        """A phrase for table titles."""
        if self.name == "last_episodes":
            return f"mean return of each run's last {self.episodes} training episodes"
        if self.name == "last_fraction":
            return (f"mean return of training episodes in each run's last {self.fraction:.0%} "
                    "of steps")
        return "mean greedy evaluation return at each run's last evaluation"


DEFAULT_REDUCTION = Reduction()
STORED_REDUCTIONS = (DEFAULT_REDUCTION, Reduction("last_fraction"), Reduction("eval"))
"""Reductions computed once when a run finishes and kept in its status (tables need no
episode files for them)."""


def final_score(reduction: Reduction, steps: np.ndarray, returns: np.ndarray,
                is_eval: np.ndarray, last_step: int) -> tuple[float, int]:
    """`(score, episodes averaged)` of one run.

    `steps`, `returns`, `is_eval`: shape `[episodes]`, the run's episodes in the order they
    ended (training and evaluation mixed); `last_step`: the run's last training step.
    """
    steps, returns, is_eval = np.asarray(steps), np.asarray(returns, np.float64), \
        np.asarray(is_eval, bool)
    if reduction.name == "eval":
        if not is_eval.any():
            return float("nan"), 0
        last = steps[is_eval].max()
        chosen = returns[is_eval & (steps == last)]
    elif reduction.name == "last_episodes":
        chosen = returns[~is_eval][-reduction.episodes:]
    else:
        chosen = returns[~is_eval & (steps > (1.0 - reduction.fraction) * last_step)]
    if chosen.size == 0:
        return float("nan"), 0
    return float(chosen.mean()), int(chosen.size)

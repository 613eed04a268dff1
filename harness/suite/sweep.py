"""Hyperparameter sweeps on an algorithm entry, in W&B's vocabulary, expanded into configurations.

```yaml
sweep:
  method: grid            # grid (every combination of `values`) or random (`samples` draws)
  samples: 8              # random only
  seed: 0                 # random only: the sampler's seed (the same seed, the same draws)
  parameters:
    learning_rate: {values: [1.0e-4, 2.5e-4, 1.0e-3]}
    ent_coef: {distribution: log_uniform_values, min: 1.0e-4, max: 0.1}
  confirm: {top: 3, seeds: 10}   # optional: the 3 best configurations again on 10 more seeds
```

Every configuration is trained on the suite's seeds. Duplicate configurations (a random sweep
drawing one twice, an int_uniform range narrower than `samples`) are kept once.
"""

from __future__ import annotations

import itertools
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.algos.hyperparameters import PositiveInt

MAX_CONFIGURATIONS = 256
"""Most configurations a sweep expands to unless `harness run/plan --yes` accepts more."""
Distribution = Literal["uniform", "log_uniform_values", "int_uniform"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True, allow_inf_nan=False)


def _rounded(value: float) -> float:
    """`value` to 6 significant digits: the digits its configuration's label shows."""
    return float(f"{value:.6g}")


class SweepParameter(_Strict):
    """One swept hyperparameter: a list of `values`, or a `distribution` between min and max."""

    values: Annotated[list[Any], Field(min_length=1)] | None = None
    """The values to try (grid: each; random: drawn uniformly)."""
    distribution: Distribution | None = None
    """uniform, log_uniform_values (log-uniform between min and max) or int_uniform
    (integers min..max inclusive); random sweeps only."""
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SweepParameter:
        if (self.values is None) == (self.distribution is None):
            raise ValueError("give either `values` or a `distribution` with `min` and `max`")
        if self.distribution is None:
            if self.min is not None or self.max is not None:
                raise ValueError("`min` and `max` go with a `distribution`, not `values`")
            return self
        if self.min is None or self.max is None:
            raise ValueError(f"distribution {self.distribution} needs both `min` and `max`")
        if self.min > self.max:
            raise ValueError(f"min {self.min:g} is larger than max {self.max:g}")
        if self.distribution == "log_uniform_values" and self.min <= 0:
            raise ValueError(f"log_uniform_values needs min > 0, got {self.min:g}")
        if self.distribution == "int_uniform" and not (float(self.min).is_integer()
                                                       and float(self.max).is_integer()):
            raise ValueError("int_uniform needs integer min and max")
        return self

    def draw(self, rng: np.random.Generator) -> Any:
        """One value drawn with `rng`."""
        if self.values is not None:
            return self.values[int(rng.integers(len(self.values)))]
        low, high = float(self.min), float(self.max)  # type: ignore[arg-type]
        if self.distribution == "int_uniform":
            return int(rng.integers(int(low), int(high) + 1))
        if self.distribution == "log_uniform_values":
            return _rounded(math.exp(rng.uniform(math.log(low), math.log(high))))
        return _rounded(rng.uniform(low, high))


class ConfirmSettings(_Strict):
    """A second stage: the best configurations trained again on more seeds."""

    top: PositiveInt
    """How many of the best configurations (by the sweep ranking over the suite's seeds)."""
    seeds: PositiveInt
    """How many more seeds each, numbered after the suite's largest seed."""


class SweepSettings(_Strict):
    """A sweep over some of an algorithm entry's hyperparameters."""

    method: Literal["grid", "random"] = "grid"
    """grid: every combination of the parameters' values; random: `samples` draws."""
    parameters: Annotated[dict[str, SweepParameter], Field(min_length=1)]
    """Swept hyperparameter name -> its values or distribution."""
    samples: PositiveInt | None = None
    """Random sweeps: how many configurations to draw."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Random sweeps: the sampler's seed."""
    confirm: ConfirmSettings | None = None
    """Once every configuration is trained, re-train the `top` best on `seeds` more seeds."""

    @model_validator(mode="after")
    def _method_fits(self) -> SweepSettings:
        if self.method == "grid":
            drawn = [name for name, p in self.parameters.items() if p.values is None]
            if drawn:
                raise ValueError(f"a grid sweep needs `values` for every parameter; "
                                 f"{drawn[0]} has a distribution (use method: random)")
            if self.samples is not None:
                raise ValueError("`samples` is for method: random")
        elif self.samples is None:
            raise ValueError("method: random needs `samples`")
        return self

    def size(self) -> int:
        """How many configurations before duplicates are removed."""
        if self.method == "random":
            return int(self.samples)  # type: ignore[arg-type]
        return math.prod(len(p.values or ()) for p in self.parameters.values())

    def configurations(self) -> list[dict[str, Any]]:
        """The swept values of each configuration, duplicates removed, in grid or draw order."""
        names = list(self.parameters)
        if self.method == "grid":
            combos = itertools.product(*(self.parameters[n].values or () for n in names))
            found = [dict(zip(names, combo, strict=True)) for combo in combos]
        else:
            rng = np.random.default_rng(self.seed)
            found = [{name: self.parameters[name].draw(rng) for name in names}
                     for _ in range(int(self.samples))]  # type: ignore[arg-type]
        unique: dict[str, dict[str, Any]] = {}
        for values in found:
            unique.setdefault(repr(sorted(values.items())), values)
        return list(unique.values())


def configuration_label(name: str, values: dict[str, Any]) -> str:
    """The exp_name of one configuration: `ppo[learning_rate=0.00025,ent_coef=0.01]`."""
    shown = ",".join(f"{key}={value:g}" if isinstance(value, float) else f"{key}={value}"
                     for key, value in values.items())
    return f"{name}[{shown}]"

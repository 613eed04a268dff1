"""Adaptive seeds: train seed groups interim by interim until AdaStop decides every comparison.

```yaml
seeds: {adaptive: true, per_interim: 5, interims: 4, alpha: 0.05}   # optional: B, seed
```

Interim k (1-based) trains seeds `(k - 1) * per_interim .. k * per_interim - 1` of every
experiment still in an undecided comparison on an environment (harness/adaptive.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PERMUTATIONS = 1_000_000
"""Most random permutations (`B`) AdaStop may draw per interim."""


class AdaptiveSeeds(BaseModel):
    """Seeds chosen by AdaStop (Mathieu et al. 2023): `per_interim` seeds per interim."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True, allow_inf_nan=False)

    adaptive: Literal[True]
    """Marks the seeds as adaptive (`true`)."""
    per_interim: Annotated[int, Field(ge=2)]
    """Seeds each experiment still undecided trains per interim (AdaStop's n)."""
    interims: Annotated[int, Field(ge=1)]
    """Most interims (AdaStop's K): at most `per_interim * interims` seeds per experiment."""
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """Family-wise error of all the comparisons on one environment."""
    B: Annotated[int, Field(ge=2, le=MAX_PERMUTATIONS)] = 10_000
    """Random permutations AdaStop draws per interim."""
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    """Seed of AdaStop's permutations (the same seed, the same decisions)."""

    @property
    def max_seeds(self) -> int:
        """Seeds an experiment trains when no comparison is decided early."""
        return self.per_interim * self.interims

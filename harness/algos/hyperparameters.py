"""Base class for an algorithm's hyperparameters: typed, frozen, static or traced per field."""

from __future__ import annotations

from functools import cache, cached_property
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt


class Traced:
    """Marks a hyperparameter that enters the compiled program as an array, not a constant.

    Traced values can change without recompiling, and runs that differ only in traced values
    (and seed) train together in one vmapped job. Everything else is static: it shapes the
    program (array sizes, loop lengths, branches) and is part of the compiled function.
    """


TRACED = Traced()


def integral(value: Any) -> Any:
    """An integral float (`1e6`, as CleanRL writes budgets) as the int it equals; else `value`."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Integer = Annotated[StrictInt, BeforeValidator(integral)]
"""An integer, also when written as an integral float such as `1e6` or `2.5e5` (not `1.5`)."""
PositiveInt = Annotated[Integer, Field(gt=0)]
NonNegativeInt = Annotated[Integer, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
UnitFloat = Annotated[float, Field(ge=0, le=1)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
HiddenSizes = Annotated[tuple[PositiveInt, ...], Field(strict=False, min_length=1)]
"""Hidden layer widths: a non-empty list of positive integers."""


class Hyperparameters(BaseModel):
    """An algorithm's hyperparameters; subclasses declare one typed field per hyperparameter,
    `hidden_sizes` (the networks' hidden layer widths) among them."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True,
        allow_inf_nan=False,
    )

    algo: ClassVar[str]
    """The algorithm's registry name (CleanRL's `exp_name` default)."""

    @property
    def steps_per_update(self) -> int:
        """Environment steps per run consumed by one update of the training loop."""
        raise NotImplementedError

    @property
    def gradient_batch_size(self) -> int:
        """Samples in the batch of each gradient step."""
        raise NotImplementedError

    @property
    def largest_product(self) -> int:
        """Multiply-adds of one run's largest matrix product, about: a gradient batch through
        the widest hidden layer."""
        return self.gradient_batch_size * max(self.hidden_sizes) ** 2

    @classmethod
    @cache
    def traced_names(cls) -> tuple[str, ...]:
        """Names of the fields marked traced, in declaration order."""
        return tuple(
            name
            for name, field in cls.model_fields.items()
            if any(isinstance(meta, Traced) for meta in field.metadata)
        )

    def traced_values(self) -> dict[str, float]:
        """The traced fields as floats, ready to become the vmapped `hp` argument."""
        return {name: float(getattr(self, name)) for name in self.traced_names()}

    @cached_property
    def static_key(self) -> tuple:
        """The static fields as a hashable, sorted tuple (computed once per instance)."""
        return tuple(sorted(self.static_values().items()))

    def static_values(self) -> dict[str, Any]:
        """The static fields: together they decide the shape of the compiled program."""
        traced = set(self.traced_names())
        return {k: v for k, v in self.model_dump().items() if k not in traced}

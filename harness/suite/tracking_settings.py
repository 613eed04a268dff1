"""The `tracking:` block of a suite: where metrics are mirrored besides the results store."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WandbMode = Literal["auto", "online", "offline", "disabled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True, allow_inf_nan=False)


class WandbSettings(_Strict):
    """Weights & Biases: one W&B run per harness run, Open RL Benchmark's keys and names."""

    project: str = "rl-harness"
    """W&B project."""
    entity: str | None = None
    """W&B entity (user or team); your default entity when absent."""
    mode: WandbMode = "auto"
    """`online`, `offline` (files under `<results>/<suite>/wandb/`, for `wandb sync`),
    `disabled`, or `auto`: online when W&B credentials are present, else offline."""
    tags: list[str] = Field(default_factory=list)
    """Tags added to every run (the harness version and git commit are always added)."""
    group: str | None = None
    """W&B group; the suite name when absent."""


class TrackingSettings(_Strict):
    """Metric mirrors; the local results store always keeps everything."""

    wandb: WandbSettings | None = None
    """Mirror every metric row to W&B; off when absent."""

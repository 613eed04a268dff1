"""The suite data model: exactly what the user wrote, typed; derived values are methods."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PositiveInt, field_validator

from harness.algos import ALGORITHMS
from harness.algos.hyperparameters import Hyperparameters
from harness.suite.names import check_safe_name
from harness.suite.runner_settings import RunnerSettings
from harness.suite.tracking_settings import TrackingSettings

SafeName = Annotated[str, AfterValidator(check_safe_name)]
MAX_SEED = 2**32 - 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True)


class AlgorithmEntry(_Strict):
    """One algorithm of the suite, with its hyperparameters."""

    algo: str
    """Registry name of the algorithm, e.g. `ppo`."""
    exp_name: SafeName | None = None
    """Label of this entry in results and W&B (CleanRL's `exp_name`); defaults to `algo`."""
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    """Values that replace the algorithm's defaults on every environment."""
    env_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-environment values that replace `hyperparameters` on that environment."""
    total_timesteps: PositiveInt | None = None
    """Environment steps per run for this algorithm; the suite's `total_timesteps` if absent."""

    @property
    def name(self) -> str:
        """The experiment name runs of this entry are stored and reported under."""
        return self.exp_name or self.algo

    def resolve(self, env_id: str) -> Hyperparameters:
        """The full hyperparameter set for `env_id`: defaults ← hyperparameters ← override."""
        config = ALGORITHMS[self.algo].config
        return config.model_validate({**self.hyperparameters, **self.env_overrides.get(env_id, {})})


class EnvironmentEntry(_Strict):
    """An environment id and the backend that runs it."""

    id: str
    """Environment id, e.g. `CartPole-v1` or `HalfCheetah-v5`."""
    backend: Literal["auto", "gymnax", "gymnasium"] = "auto"
    """`gymnax` (inside the compiled program), `gymnasium` (host loop), or `auto`: gymnax
    when it provides the id, else Gymnasium."""


class EvaluationSettings(_Strict):
    """Greedy-policy evaluation during training, logged as `eval/episodic_return`."""

    every: PositiveInt
    """Environment steps per run between evaluations (rounded to whole updates)."""
    episodes: PositiveInt = 10
    """Episodes per evaluation, one per parallel evaluation environment."""


class Suite(_Strict):
    """A declarative benchmark: algorithms x environments x seeds at one budget."""

    name: SafeName
    """Suite name; results go to `<results_dir>/<name>/`. Defaults to the file's stem."""
    description: str = ""
    """Free text shown by `harness plan`."""
    algorithms: Annotated[list[AlgorithmEntry], Field(min_length=1)]
    """Algorithms to train, each with hyperparameters and per-environment overrides."""
    environments: Annotated[list[EnvironmentEntry], Field(min_length=1)]
    """Environment ids (see `harness envs`), or `{id, backend}` mappings."""
    seeds: int | list[int]
    """A seed count n (seeds 0..n-1) or an explicit list of distinct seeds."""
    total_timesteps: PositiveInt
    """Environment steps per run (CleanRL's `total_timesteps`)."""
    runs_per_job: PositiveInt = 8
    """Runs (seeds of one configuration) batched with vmap in one compiled job."""
    results_dir: str = "results"
    """Root of the results store, relative to the working directory."""
    evaluation: EvaluationSettings | None = None
    """Periodic greedy evaluation; off when absent."""
    runner: RunnerSettings = Field(default_factory=RunnerSettings)
    """Execution settings."""
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    """Where metrics are mirrored besides the results store (W&B)."""

    @field_validator("environments", mode="before")
    @classmethod
    def _bare_ids_are_entries(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("seeds", mode="before")
    @classmethod
    def _check_seeds(cls, value: Any) -> int | list[int]:
        expected = "a positive seed count or a list of distinct seeds in [0, 2**32)"
        if isinstance(value, bool):
            raise ValueError(f"expected {expected}, got {value!r}")
        if isinstance(value, int):
            if value <= 0:
                raise ValueError(f"expected {expected}, got {value}")
            return value
        if isinstance(value, list) and value and all(
            isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value
        ):
            duplicated = sorted({s for s in value if value.count(s) > 1})
            if duplicated:
                raise ValueError(f"duplicate seeds {duplicated}")
            return value
        raise ValueError(f"expected {expected}, got {value!r}")

    @property
    def environment_ids(self) -> list[str]:
        """The environment ids, in suite order."""
        return [entry.id for entry in self.environments]

    @property
    def seed_list(self) -> list[int]:
        """The seeds, expanded from a count when given as one."""
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)

"""The suite data model: exactly what the user wrote, typed; derived values are methods."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.algos import ALGORITHMS
from harness.algos.hyperparameters import Hyperparameters, PositiveInt, integral
from harness.suite.adaptive_seeds import AdaptiveSeeds
from harness.suite.messages import shown
from harness.suite.names import check_safe_name
from harness.suite.runner_settings import RunnerSettings
from harness.suite.sweep import MAX_CONFIGURATIONS, SweepSettings, configuration_label
from harness.suite.tracking_settings import TrackingSettings

MAX_SEED = 2**32 - 1
"""Largest seed: seeds are unsigned 32-bit integers."""
MAX_SEEDS = 10_000
"""Most seeds in a suite, as a count or as a list."""
MAX_TIMESTEPS = 2**31 - 1
"""Largest budget (and evaluation interval) in environment steps per run: the compiled program
counts environment steps in int32."""
MAX_EVAL_EPISODES = 10_000
"""Most episodes per evaluation (each one is a parallel evaluation environment of every run)."""
MAX_RUNS = 100_000
"""Most runs in a suite (configurations x environments x seeds): each gets its own directory in the
results store, and `harness plan` lists them all."""


def _fits_int32(steps: int) -> int:
    if steps > MAX_TIMESTEPS:
        raise ValueError(f"expected at most 2**31 - 1 = {MAX_TIMESTEPS} steps, got "
                         f"{shown(steps)}: the compiled program counts environment steps in int32")
    return steps


_EXPECTED_SEEDS = "a positive seed count or a list of distinct seeds in [0, 2**32)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_seed_count(count: int) -> int:
    if count > MAX_SEEDS:
        raise ValueError(f"expected at most {MAX_SEEDS:,} seeds, got {shown(count)}")
    return count


def _check_seed_list(seeds: list[Any]) -> list[int]:
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"expected at most {MAX_SEEDS:,} seeds, got a list of {len(seeds):,}")
    if not seeds or not all(_is_int(s) and 0 <= s <= MAX_SEED for s in seeds):
        raise ValueError(f"expected {_EXPECTED_SEEDS}, got {shown(seeds)}")
    duplicated = sorted(seed for seed, times in Counter(seeds).items() if times > 1)
    if duplicated:
        more = f" and {len(duplicated) - 10:,} more" if len(duplicated) > 10 else ""
        raise ValueError(f"duplicate seeds {duplicated[:10]}{more}")
    return seeds


SafeName = Annotated[str, AfterValidator(check_safe_name)]
Timesteps = Annotated[PositiveInt, AfterValidator(_fits_int32)]
"""Environment steps per run: a positive integer of at most MAX_TIMESTEPS."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True, allow_inf_nan=False)


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
    total_timesteps: Timesteps | None = None
    """Environment steps per run for this algorithm; the suite's `total_timesteps` if absent."""
    sweep: SweepSettings | None = None
    """Hyperparameters to sweep: each configuration becomes an experiment of its own."""

    @property
    def name(self) -> str:
        """The experiment name runs of this entry are stored and reported under."""
        return self.exp_name or self.algo

    def configurations(self) -> list[tuple[str, dict[str, Any]]]:
        """`(exp_name, swept values)` of each configuration: this entry alone without a sweep."""
        if self.sweep is None:
            return [(self.name, {})]
        return [(configuration_label(self.name, values), values)
                for values in self.sweep.configurations()]

    def resolve(self, env_id: str, swept: dict[str, Any] | None = None) -> Hyperparameters:
        """The full hyperparameter set for `env_id`: defaults ← hyperparameters ← override ←
        the swept values of one configuration."""
        config = ALGORITHMS[self.algo].config
        return config.model_validate({**self.hyperparameters, **self.env_overrides.get(env_id, {}),
                                      **(swept or {})})


class EnvironmentEntry(_Strict):
    """An environment id and the backend that runs it."""

    id: str
    """Environment id, e.g. `CartPole-v1` or `HalfCheetah-v5`."""
    backend: Literal["auto", "gymnax", "gymnasium"] = "auto"
    """`gymnax` (inside the compiled program), `gymnasium` (host loop), or `auto`: gymnax
    when it provides the id, else Gymnasium."""


class EvaluationSettings(_Strict):
    """Greedy-policy evaluation during training, logged as `eval/episodic_return`."""

    every: Timesteps
    """Environment steps per run between evaluations (rounded to whole updates)."""
    episodes: Annotated[PositiveInt, Field(le=MAX_EVAL_EPISODES)] = 10
    """Episodes per evaluation, one per parallel evaluation environment."""


class LoggingSettings(_Strict):
    """How much of each run's metrics the results store keeps."""

    max_rows: PositiveInt | None = None
    """Metric rows kept per run: None keeps one row per update (full resolution); N averages
    consecutive updates so that a run keeps at most N rows."""


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
    seeds: int | list[int] | AdaptiveSeeds
    """A seed count n (seeds 0..n-1), an explicit list of distinct seeds (at most 10,000), or
    adaptive seeds chosen by AdaStop (`{adaptive: true, per_interim: 5, interims: 4}`)."""
    total_timesteps: Timesteps
    """Environment steps per run (CleanRL's `total_timesteps`), at most 2**31 - 1."""
    runs_per_job: Annotated[PositiveInt, Field(le=MAX_SEEDS)] = 8
    """Runs (seeds of one configuration) batched with vmap in one compiled job."""
    results_dir: str = "results"
    """Root of the results store, relative to the working directory."""
    evaluation: EvaluationSettings | None = None
    """Periodic greedy evaluation; off when absent."""
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    """How many metric rows each run keeps."""
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
    def _check_seeds(cls, value: Any, info: ValidationInfo) -> int | list[int] | AdaptiveSeeds:
        if isinstance(value, dict):
            adaptive = AdaptiveSeeds.model_validate(value)
            _check_seed_count(adaptive.max_seeds)
            algorithms = info.data.get("algorithms", [])  # absent when they are invalid
            names = [name for entry in algorithms[:2] for name, _ in entry.configurations()]
            if algorithms and len(names) < 2:
                raise ValueError(f"adaptive seeds compare experiments with AdaStop, but the "
                                 f"suite has only {names[0]}; add another algorithm entry or "
                                 "use a seed count")
            return adaptive
        if isinstance(value, list):
            return _check_seed_list([integral(seed) for seed in value])
        value = integral(value)
        if _is_int(value) and value > 0:
            return _check_seed_count(value)
        raise ValueError(f"expected {_EXPECTED_SEEDS}, got {shown(value)}")

    @model_validator(mode="after")
    def _check_runs(self) -> Suite:
        seeds = len(self.seed_list)
        configurations = sum(entry.sweep.size() if entry.sweep else 1
                             for entry in self.algorithms)
        runs = configurations * len(self.environments) * seeds
        if runs > MAX_RUNS:
            raise ValueError(
                f"configurations x environments x seeds = {configurations:,} x "
                f"{len(self.environments):,} x {seeds:,} = {runs:,} runs, more than the "
                f"{MAX_RUNS:,} a suite may hold")
        return self

    def oversized_sweeps(self) -> list[str]:
        """One line per sweep expanding to more than MAX_CONFIGURATIONS configurations."""
        return [f"algorithms[{i}].sweep expands to {entry.sweep.size():,} configurations, "
                f"more than {MAX_CONFIGURATIONS}; pass --yes to train them all"
                for i, entry in enumerate(self.algorithms)
                if entry.sweep is not None and entry.sweep.size() > MAX_CONFIGURATIONS]

    @property
    def environment_ids(self) -> list[str]:
        """The environment ids, in suite order."""
        return [entry.id for entry in self.environments]

    @property
    def seed_list(self) -> list[int]:
        """The seeds, expanded from a count when given as one; for adaptive seeds every seed
        some interim may train."""
        if isinstance(self.seeds, AdaptiveSeeds):
            return list(range(self.seeds.max_seeds))
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


"""The `runner:` block of a suite: which engine trains the jobs, and that engine's settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat

from harness.algos.hyperparameters import NonNegativeInt, PositiveInt

Engine = Literal["local", "devices", "slurm", "ray"]
ENGINES: tuple[str, ...] = get_args(Engine)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True,
                              use_attribute_docstrings=True, allow_inf_nan=False)


class SlurmSettings(_Strict):
    """Slurm through submitit: one array task per job (or per `jobs_per_task` jobs)."""

    partition: str | None = None
    """Partition (`--partition`); the cluster's default partition when absent."""
    time_min: PositiveInt = 60
    """Wall-time limit of one array task, in minutes; a task that reaches it is requeued and
    resumes from its last chunk."""
    mem_gb: PositiveFloat | None = None
    """Memory per array task in GB (`--mem`); the cluster's default when absent."""
    cpus_per_task: PositiveInt = 2
    """CPU cores per array task (`--cpus-per-task`)."""
    gpus_per_task: NonNegativeInt = 0
    """GPUs per array task (`--gres=gpu:N`); each task sees its own `CUDA_VISIBLE_DEVICES`."""
    array_parallelism: PositiveInt = 256
    """Array tasks running at once (`--array=...%N`)."""
    jobs_per_task: PositiveInt = 1
    """Jobs one array task works through in turn (amortises start-up and compilation)."""
    max_array_size: PositiveInt | None = None
    """Largest array Slurm accepts; read from `scontrol show config` when absent."""
    sbatch: dict[str, str | int | bool] = Field(default_factory=dict)
    """Extra sbatch options, e.g. `{account: rl, qos: high, constraint: a100}`."""
    setup: list[str] = Field(default_factory=list)
    """Shell lines run before each task, e.g. `module load cuda`."""


class RaySettings(_Strict):
    """An existing Ray cluster: one Ray task per job."""

    address: str | None = None
    """Cluster address (`auto`, `ray://host:10001`); a local Ray instance when absent."""
    cpus_per_job: PositiveFloat = 1.0
    """CPUs Ray reserves for each job."""
    gpus_per_job: Annotated[float, Field(ge=0)] = 0.0
    """GPUs Ray reserves for each job (fractions let jobs share a GPU)."""


class RunnerSettings(_Strict):
    """How jobs are executed, and how often a failed run is tried again."""

    engine: Engine = "local"
    """`local`: worker processes on this machine; `devices`: one worker per accelerator;
    `slurm`: array jobs through submitit; `ray`: tasks on a Ray cluster."""
    workers: PositiveInt | None = None
    """`local`: jobs trained at once; by default one per CPU core, at most one per job."""
    devices: list[NonNegativeInt | str] | PositiveInt | None = None
    """`devices`: accelerator ids (or a count, ids 0..n-1); detected when absent."""
    jobs_per_device: PositiveInt = 1
    """`devices`: jobs sharing one accelerator (each gets an equal share of its memory)."""
    retries: NonNegativeInt = 2
    """Times a failed run is trained again (a diverged run is not retried)."""
    stall_timeout: PositiveFloat = 600.0
    """Seconds without a stored chunk after which a worker counts as stalled (the limit is the
    larger of this and 10 times the slowest chunk so far): its runner stops it, records the run
    failed with reason `stalled`, and retries it; another process may take over its lease."""
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)
    """Settings of the `slurm` engine."""
    ray: RaySettings = Field(default_factory=RaySettings)
    """Settings of the `ray` engine."""

    @property
    def device_ids(self) -> list[str] | None:
        """The `devices` setting as a list of ids, or None to detect them."""
        if isinstance(self.devices, int):
            return [str(i) for i in range(self.devices)]
        return None if self.devices is None else [str(d) for d in self.devices]

    def with_overrides(self, overrides: dict[str, Any]) -> RunnerSettings:
        """These settings with command-line values (dotted keys like `slurm.partition`) applied."""
        data = self.model_dump()
        for dotted, value in overrides.items():
            *parents, key = dotted.split(".")
            target = data
            for parent in parents:
                target = target[parent]
            target[key] = value
        return RunnerSettings.model_validate(data)

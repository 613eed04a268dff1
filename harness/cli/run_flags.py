"""`harness run`'s flags for the runner and the W&B mirror, and the settings they override."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import ValidationError

from harness.suite import Suite, SuiteError
from harness.suite.messages import describe_error
from harness.suite.runner_settings import ENGINES, RunnerSettings
from harness.suite.tracking_settings import WandbSettings
from harness.tracking.settings import resolve_wandb


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _devices(text: str) -> int | list[str]:
    if text.isdigit():
        return _positive_int(text)
    ids = [part.strip() for part in text.split(",")]
    if not all(ids):
        raise argparse.ArgumentTypeError(f"expected a count or comma-separated ids, got {text!r}")
    return ids


def _sbatch_option(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.removeprefix("--"), value


RUNNER_FLAGS = {
    "runner": "engine", "workers": "workers", "devices": "devices",
    "jobs_per_device": "jobs_per_device", "retries": "retries", "stall_timeout": "stall_timeout",
    "partition": "slurm.partition", "time_min": "slurm.time_min", "mem_gb": "slurm.mem_gb",
    "cpus_per_task": "slurm.cpus_per_task", "gpus_per_task": "slurm.gpus_per_task",
    "array_parallelism": "slurm.array_parallelism", "jobs_per_task": "slurm.jobs_per_task",
    "ray_address": "ray.address",
}
"""`harness run` flags that override keys of the suite's `runner:` block."""


def add_run_flags(run: argparse.ArgumentParser) -> None:
    """Add the runner and W&B flags to the `run` command."""
    run.add_argument("--runner", choices=ENGINES, default=None,
                     help="execution engine (default: the suite's runner.engine, else local)")
    run.add_argument("--workers", type=_positive_int, default=None,
                     help="local: jobs trained at once (default: one per CPU core)")
    run.add_argument("--devices", type=_devices, default=None,
                     help="devices: accelerator ids (0,1,3) or a count (default: detected)")
    run.add_argument("--jobs-per-device", type=_positive_int, default=None,
                     help="devices: jobs sharing one accelerator")
    run.add_argument("--retries", type=_non_negative_int, default=None,
                     help="times a failed run is trained again (default: 2)")
    run.add_argument("--retry-failed", action="store_true",
                     help="train failed runs again even when their retries are used up")
    run.add_argument("--stall-timeout", type=_positive_float, default=None,
                     help="seconds without a stored chunk before a worker counts as stalled "
                          "(at least; default 600)")
    slurm = run.add_argument_group("slurm engine (runner.slurm.*)")
    slurm.add_argument("--partition", default=None)
    slurm.add_argument("--time-min", type=_positive_int, default=None,
                       help="wall-time limit of one array task, in minutes")
    slurm.add_argument("--mem-gb", type=_positive_float, default=None)
    slurm.add_argument("--cpus-per-task", type=_positive_int, default=None)
    slurm.add_argument("--gpus-per-task", type=_non_negative_int, default=None)
    slurm.add_argument("--array-parallelism", type=_positive_int, default=None,
                       help="array tasks running at once")
    slurm.add_argument("--jobs-per-task", type=_positive_int, default=None,
                       help="jobs one array task works through")
    slurm.add_argument("--sbatch", type=_sbatch_option, action="append", default=[],
                       metavar="KEY=VALUE", help="extra sbatch option (repeatable)")
    run.add_argument("--ray-address", default=None, help="ray: cluster address (default: local)")
    wandb = run.add_argument_group("W&B mirror (tracking.wandb.*)")
    wandb.add_argument("--wandb-mode", choices=("auto", "online", "offline", "disabled"),
                       default=None, help="turns the mirror on (or off) whatever the suite says")
    wandb.add_argument("--wandb-project", default=None)
    wandb.add_argument("--wandb-entity", default=None)
    wandb.add_argument("--wandb-group", default=None, help="default: the suite name")
    wandb.add_argument("--wandb-tag", action="append", default=[], help="extra tag (repeatable)")


def wandb_spec(args: argparse.Namespace, suite: Suite) -> dict[str, Any] | None:
    """The suite's W&B settings with the command line's flags applied, resolved."""
    updates = {key: getattr(args, f"wandb_{key}") for key in ("project", "entity", "group")
               if getattr(args, f"wandb_{key}") is not None}
    settings = suite.tracking.wandb
    if updates or args.wandb_tag:
        settings = settings or WandbSettings()
        updates["tags"] = [*settings.tags, *args.wandb_tag]
        settings = settings.model_copy(update=updates)
    return resolve_wandb(settings, suite.name, args.wandb_mode)


def runner_settings(args: argparse.Namespace, suite: Suite) -> RunnerSettings:
    """The suite's runner settings with the command line's flags applied."""
    overrides = {key: getattr(args, flag) for flag, key in RUNNER_FLAGS.items()
                 if getattr(args, flag) is not None}
    overrides.update({f"slurm.sbatch.{key}": value for key, value in args.sbatch})
    try:
        return suite.runner.with_overrides(overrides)
    except ValidationError as err:
        first = err.errors()[0]
        dotted = ".".join(str(part) for part in first["loc"])
        flags = {key: "--" + flag.replace("_", "-") for flag, key in RUNNER_FLAGS.items()}
        raise SuiteError(f"{flags.get(dotted, 'runner.' + dotted)}: "
                         f"{describe_error(first)}") from None

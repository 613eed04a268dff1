"""The devices engine: one worker per accelerator (or several sharing one), pinned with
`CUDA_VISIBLE_DEVICES`."""

from __future__ import annotations

import os
import shutil
import subprocess

from harness.store.lease import DEFAULT_STALL_TIMEOUT
from runners.base import RunnerSetupError
from runners.local import LocalRunner, WorkerSlot, memory_settings

MEMORY_HEADROOM = 0.9
"""Share of an accelerator's memory that the jobs sharing it divide among themselves."""


def detect_devices() -> list[str]:
    """Accelerator ids this process may use: `CUDA_VISIBLE_DEVICES`, else `nvidia-smi -L`."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=False)
    return [str(i) for i, line in enumerate(listed.stdout.splitlines())
            if line.startswith("GPU ")]


def device_slots(devices: list[str], jobs_per_device: int) -> list[WorkerSlot]:
    """`jobs_per_device` slots per device, interleaved so that jobs spread over devices first."""
    if jobs_per_device > 1:
        fraction = f"{MEMORY_HEADROOM / jobs_per_device:.3f}"
        memory = memory_settings({"XLA_PYTHON_CLIENT_MEM_FRACTION": fraction})
    else:
        memory = {}
    return [WorkerSlot(f"device {device}", {"CUDA_VISIBLE_DEVICES": device, **memory})
            for _ in range(jobs_per_device) for device in devices]


def device_runner(devices: list[str] | None, jobs_per_device: int,
                  stall_timeout: float = DEFAULT_STALL_TIMEOUT) -> LocalRunner:
    """A local runner with one slot per (device, share); devices are detected when None."""
    found = devices if devices is not None else detect_devices()
    if not found:
        raise RunnerSetupError("runner.devices: no accelerator found (no CUDA_VISIBLE_DEVICES, no "
                             "nvidia-smi); name the device ids, e.g. `devices: [0, 1]`")
    return LocalRunner(device_slots(found, jobs_per_device), stall_timeout)

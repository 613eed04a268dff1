"""Which W&B mirror a `harness run` asks for, resolved before any worker starts (no W&B or
pandas import: the CLI reads and writes these settings)."""

from __future__ import annotations

import netrc
import os
from typing import Any

from harness.store import SuitePaths
from harness.store.atomic import read_json, write_json
from harness.suite.tracking_settings import WandbSettings


def has_credentials() -> bool:
    """Whether a W&B API key is set in the environment or stored by `wandb login`."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_wandb(settings: WandbSettings | None, suite: str,
                  mode: str | None = None) -> dict[str, Any] | None:
    """The W&B settings workers use (None: W&B off). The mode comes from `mode` (the command
    line), else `WANDB_MODE`, else the suite; `auto` becomes online with credentials, else
    offline. A mode given without a `tracking.wandb` block turns W&B on with the defaults."""
    if settings is None and mode is None:
        return None
    settings = settings or WandbSettings()
    chosen = mode or os.environ.get("WANDB_MODE") or settings.mode
    if chosen == "dryrun":
        chosen = "offline"
    if chosen == "auto":
        chosen = "online" if has_credentials() else "offline"
    if chosen == "disabled":
        return None
    return {"project": settings.project, "entity": settings.entity, "mode": chosen,
            "tags": list(settings.tags), "group": settings.group or suite}


def write_tracking(paths: SuitePaths, wandb_spec: dict[str, Any] | None) -> None:
    """Tell the workers of this suite where to mirror metrics."""
    write_json(paths.tracking, {"wandb": wandb_spec})


def read_tracking(paths: SuitePaths) -> dict[str, Any] | None:
    """The W&B settings written by `write_tracking` (None: W&B off)."""
    return (read_json(paths.tracking) or {}).get("wandb")

"""When a failed run is trained again: bounded retries, never for a run that diverged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.store.record import RunStatus


@dataclass(frozen=True)
class Retries:
    """The retry policy of one `harness run`."""

    retries: int = 2
    """Times a failed run is trained again."""
    retry_failed: bool = False
    """Train failed runs again even when their retries are used up (or they diverged)."""

    def gave_up(self, status: dict[str, Any]) -> bool:
        """Whether a run with this stored status failed for good: it diverged, or it failed
        more than `retries` times."""
        if status.get("status") != RunStatus.FAILED or self.retry_failed:
            return False
        return status.get("retryable") is False or status.get("failures", 1) > self.retries

"""Retrying W&B requests that were rate-limited: exponential backoff with jitter, capped."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

_RATE_LIMIT_TEXT = re.compile(r"\b429\b|rate.?limit|too many requests", re.IGNORECASE)
T = TypeVar("T")


class RateLimitedError(RuntimeError):
    """W&B kept answering HTTP 429 for longer than the retry policy waits."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for rate-limited requests, capped in total."""

    first_wait: float = 2.0
    """Seconds before the first retry (before jitter)."""
    max_wait: float = 60.0
    """Longest single wait."""
    total_wait: float = 300.0
    """Give up once the waits of one request would add up to more than this."""
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    """A number in [0, 1): each wait is between half and all of its backoff."""

    def call(self, action: Callable[[], T]) -> T:
        """Run `action`, retrying it while W&B rate-limits it."""
        attempts, waited = 0, 0.0
        while True:
            try:
                return action()
            except Exception as err:
                if not is_rate_limited(err):
                    raise
                backoff = min(self.max_wait, self.first_wait * 2 ** attempts)
                wait = backoff * (1 + self.jitter()) / 2
                attempts += 1
                if waited + wait > self.total_wait:
                    raise RateLimitedError(
                        f"rate limited by W&B; gave up after {attempts} attempts and "
                        f"{waited:.0f} s of waiting: {one_line(err)}") from err
                self.sleep(wait)
                waited += wait


def is_rate_limited(err: BaseException) -> bool:
    """Whether an error from `wandb.Api` is an HTTP 429 (rate limit).

    wandb 0.31 raises `WandbApiFailedError` (its `response.http_status` is the HTTP status)
    from page fetches and wraps it in `wandb.errors.CommError` (as `.exc`) elsewhere; older
    clients wrapped a `requests.HTTPError` (`response.status_code`).
    """
    for error in _causes(err):
        response = getattr(error, "response", None)
        status = getattr(response, "http_status", None) or getattr(response, "status_code", None)
        if status == 429 or _RATE_LIMIT_TEXT.search(str(error)):
            return True
    return False


def _causes(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [err]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        pending += [getattr(error, "exc", None), error.__cause__]


def one_line(err: BaseException) -> str:
    """The first line of an error's message (its type when the message is empty)."""
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__

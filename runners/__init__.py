"""How jobs are executed: one `Runner` interface, one engine per module."""

from runners.base import JobOutcome, Runner, make_runner

__all__ = ["JobOutcome", "Runner", "make_runner"]

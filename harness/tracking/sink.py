"""Mirrors of the results store: where each run's metric rows and episodes are sent besides
`results/`."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa

from harness.runs import Run
from harness.store.writer import RunWriter


class MetricSink(Protocol):
    """Receives the metric rows of a job's runs as training stores them; never raises."""

    def start(self, runs: list[Run], writers: list[RunWriter]) -> None:
        """The runs are about to train (fresh or resumed); the sink records what it does in
        their metadata through their `writers` (under their leases)."""
        ...

    def log(self, run: Run, rows: pa.Table, episodes: pa.Table) -> None:
        """A chunk's metric rows and finished episodes of `run` were stored."""
        ...

    def finish(self, run: Run, ok: bool) -> None:
        """`run` ended: done when `ok`, else failed."""
        ...

    def close(self) -> None:
        """The job ended; end whatever is still open."""
        ...


class NullSink:
    """A sink that drops everything (no mirror configured)."""

    def start(self, runs: list[Run], writers: list[RunWriter]) -> None:
        """Nothing to open."""

    def log(self, run: Run, rows: pa.Table, episodes: pa.Table) -> None:
        """Nothing to send."""

    def finish(self, run: Run, ok: bool) -> None:
        """Nothing to close."""

    def close(self) -> None:
        """Nothing to close."""

"""Storing one chunk while the next computes, on a thread of its own.

The worker hands chunk k+1 to XLA before it stores chunk k. A small job trains on one core
(`harness/training/cores.py`); stored from the training loop's thread, which runs there too,
the chunk's tables, checkpoint and status (about 15 ms here, most of it in `fsync`) would
take turns with the computation on that core. Stored from a thread on the worker's other
cores, they overlap it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType

from harness.training.cores import move_this_thread_to, spare_cores


class ChunkStorer:
    """Runs store calls one at a time, in the order given, on a thread placed on the worker's
    spare cores (when it trains on some of its cores only); `wait` re-raises what a call
    raised."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="store",
                                          initializer=move_this_thread_to,
                                          initargs=(spare_cores(),))
        self._pending: Future[None] | None = None

    def submit(self, store: Callable[[], None]) -> None:
        """Start `store()` once the previous call has returned."""
        self.wait()
        self._pending = self._thread.submit(store)

    def wait(self) -> None:
        """Return once the last call has returned; raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> ChunkStorer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        """Let the call under way finish (a file half-written is never left behind) and
        stop the thread; raise what that call raised unless something else is raised."""
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:
                self._pending.exception()
        finally:
            self._thread.shutdown(wait=True)

"""`ChunkStorer`: store calls run one at a time, in order, on the worker's spare cores, and
their errors reach the training loop."""

from __future__ import annotations

import os
import threading
import time

import pytest

from harness.training.cores import TRAIN_CPUS_VARIABLE
from harness.training.storing import ChunkStorer


def test_calls_run_one_at_a_time_in_order_off_the_calling_thread() -> None:
    done: list[tuple[int, int]] = []
    running = threading.Lock()

    def store(index: int) -> None:
        assert running.acquire(blocking=False), "two store calls overlapped"
        time.sleep(0.01 * (3 - index))
        done.append((index, threading.get_native_id()))
        running.release()

    with ChunkStorer() as storer:
        for index in range(3):
            storer.submit(lambda index=index: store(index))
    assert [index for index, _ in done] == [0, 1, 2]
    assert threading.get_native_id() not in {thread for _, thread in done}


def test_an_error_of_a_call_is_raised_by_the_next_wait_and_on_leaving() -> None:
    def fail() -> None:
        raise OSError("disk full")

    with ChunkStorer() as storer:
        storer.submit(fail)
        with pytest.raises(OSError, match="disk full"):
            storer.wait()
    with pytest.raises(OSError, match="disk full"), ChunkStorer() as storer:
        storer.submit(fail)


def test_leaving_on_an_error_waits_for_the_call_under_way() -> None:
    finished = []

    def slow() -> None:
        time.sleep(0.2)
        finished.append(True)

    with pytest.raises(KeyboardInterrupt), ChunkStorer() as storer:
        storer.submit(slow)
        raise KeyboardInterrupt
    assert finished == [True]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_the_thread_stores_on_the_cores_the_worker_does_not_train_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cores = os.sched_getaffinity(0)
    training = min(cores)
    monkeypatch.setenv(TRAIN_CPUS_VARIABLE, str(training))
    seen: list[set[int]] = []
    with ChunkStorer() as storer:
        storer.submit(lambda: seen.append(os.sched_getaffinity(0)))
    assert seen == [cores - {training}]
    assert os.sched_getaffinity(0) == cores, "the calling thread stays where it was"
    monkeypatch.delenv(TRAIN_CPUS_VARIABLE)
    with ChunkStorer() as storer:
        storer.submit(lambda: seen.append(os.sched_getaffinity(0)))
    assert seen[-1] == cores

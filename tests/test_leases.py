"""Leases: one holder per run; a live lease is never taken, a stale or orphaned one is taken over
and the takeover recorded; a holder that lost its lease cannot write."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import time
from pathlib import Path

import pytest

from harness.store import SuitePaths
from harness.store.lease import (
    LeaseHeld,
    LeaseLost,
    LeaseState,
    acquire,
    check,
    current_lease,
    release,
    renew,
    stall_limit,
)
from harness.store.writer import RunWriter


def _paths(root: Path):
    return SuitePaths(root, "suite").run("abc123")


def _rewrite(path: Path, **fields: object) -> None:
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, **fields}))


def test_a_live_lease_is_never_taken_and_a_released_one_is(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    first = acquire(paths, job_id="job-a")
    assert first.number == 1 and first.state() == LeaseState.LIVE
    with pytest.raises(LeaseHeld, match="held by"):
        acquire(paths)
    release(paths, first, "done")
    second = acquire(paths)
    assert second.number == 2 and second.took_over is None
    assert current_lease(paths).number == 2


def test_a_stale_lease_is_taken_over_and_the_takeover_recorded(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    first = acquire(paths, timeout_seconds=600)
    _rewrite(paths.lease(1), host="another-node", heartbeat_at=time.time() - 30,
             timeout_seconds=60)
    with pytest.raises(LeaseHeld):  # a heartbeat within the timeout keeps the lease
        acquire(paths)
    _rewrite(paths.lease(1), heartbeat_at=time.time() - 61)
    assert current_lease(paths).state() == LeaseState.STALE
    second = acquire(paths)
    assert second.took_over["number"] == 1 and second.took_over["host"] == "another-node"
    assert second.took_over["state"] == "stale"
    with pytest.raises(LeaseLost, match="taken over"):
        check(paths, first)
    writer = RunWriter(paths, first)
    with pytest.raises(LeaseLost):
        writer.update_metadata(a=1)
    assert not paths.metadata.exists(), "the old holder wrote nothing"


def test_the_lease_of_a_killed_process_of_this_host_is_taken_over_at_once(
        tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    child = subprocess.Popen(["sleep", "60"])
    lease = acquire(paths)
    _rewrite(paths.lease(1), pid=child.pid, pid_started=None)
    assert current_lease(paths).state() == LeaseState.LIVE
    child.kill()
    child.wait()
    assert current_lease(paths).state() == LeaseState.GONE
    taken = acquire(paths)
    assert taken.took_over["pid"] == child.pid and taken.took_over["state"] == "gone"
    assert lease.number == 1 and taken.number == 2


def test_renewing_moves_the_heartbeat_and_the_promised_timeout(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    lease = acquire(paths, timeout_seconds=5)
    renewed = renew(paths, lease, timeout_seconds=50)
    stored = current_lease(paths)
    assert stored.heartbeat_at >= lease.heartbeat_at and stored.timeout_seconds == 50
    assert renewed.token == lease.token
    assert stall_limit(600, 1.0) == 600 and stall_limit(600, 120.0) == 1200


def _race(root: str, start: object, results: multiprocessing.Queue, stop: object) -> None:
    start.wait()
    try:
        results.put(acquire(_paths(Path(root))).pid)
    except LeaseHeld:
        results.put(None)
    stop.wait()  # the winner stays alive: the lease of an exited process is free to take


def test_of_many_processes_racing_for_a_lease_exactly_one_wins(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, stop, results = context.Event(), context.Event(), context.Queue()
    workers = [context.Process(target=_race, args=(str(tmp_path), start, results, stop))
               for _ in range(8)]
    for worker in workers:
        worker.start()
    start.set()
    outcomes = [results.get(timeout=60) for _ in workers]
    stop.set()
    for worker in workers:
        worker.join(timeout=60)
    winners = [pid for pid in outcomes if pid is not None]
    assert len(winners) == 1
    assert sorted(p.name for p in _paths(tmp_path).leases_dir.iterdir()) == ["000001.json"]


def test_an_unreadable_lease_file_counts_as_stale(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    acquire(paths)
    paths.lease(1).write_text("{not json")
    assert current_lease(paths).state() == LeaseState.STALE
    taken = acquire(paths)
    assert "not valid JSON" in taken.took_over["problem"]

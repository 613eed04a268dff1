"""Local workers each get their own share of the cores, applied before JAX starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from runners.cpus import CPUS_VARIABLE, core_shares
from runners.local import cpu_slots


@pytest.fixture
def eight_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))


@pytest.mark.usefixtures("eight_cores")
def test_workers_get_disjoint_equal_blocks_of_the_cores() -> None:
    assert core_shares(2) == [{CPUS_VARIABLE: "0,1,2,3"}, {CPUS_VARIABLE: "4,5,6,7"}]
    assert core_shares(3) == [{CPUS_VARIABLE: "0,1"}, {CPUS_VARIABLE: "2,3"},
                              {CPUS_VARIABLE: "4,5"}]
    assert [slot.env[CPUS_VARIABLE] for slot in cpu_slots(8)] == [str(i) for i in range(8)]


@pytest.mark.usefixtures("eight_cores")
def test_workers_beyond_the_cores_share_them_round_robin_and_one_worker_is_not_restricted():
    assert [share[CPUS_VARIABLE] for share in core_shares(10)] == [
        *(str(i) for i in range(8)), "0", "1"]
    assert core_shares(1) == [{}]
    assert CPUS_VARIABLE not in cpu_slots(1)[0].env


def test_a_worker_runs_on_its_share_before_jax_starts_and_ignores_cores_it_cannot_use():
    allowed = sorted(os.sched_getaffinity(0))
    probe = ("from runners.cpus import restrict_to_share; restrict_to_share(); import os, jax; "
             "print(sorted(os.sched_getaffinity(0)), jax.device_count())")
    for named, expected in ((str(allowed[-1]), [allowed[-1]]), ("9999", allowed)):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True, env={**os.environ, CPUS_VARIABLE: named})
        assert done.stdout.split("]")[0] + "]" == str(expected), done.stderr


def test_a_malformed_core_list_stops_the_worker_with_a_one_line_error() -> None:
    done = subprocess.run([sys.executable, "-c", "from runners.cpus import restrict_to_share; "
                           "restrict_to_share()"], capture_output=True, text=True,
                          env={**os.environ, CPUS_VARIABLE: "0,one"})
    assert done.returncode == 1
    assert done.stderr.strip() == (f"{CPUS_VARIABLE}='0,one': expected core numbers separated "
                                   "by commas, such as 0,1")

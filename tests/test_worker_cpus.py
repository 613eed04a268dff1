"""Local workers each get their own share of the cores, applied before JAX starts; a small job
compiles on all of it and trains on one core."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.algos import ALGORITHMS
from harness.jobs import Job
from harness.runs import Run
from harness.store import SuitePaths
from harness.training.cores import TRAIN_CPUS_VARIABLE
from runners import local
from runners.cpus import CPUS_VARIABLE, ONE_CORE_WORK, core_shares, cores_for
from runners.devices import device_slots
from runners.local import LocalRunner, cpu_slots


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


def _job(algo: str, env_id: str, seeds: int, **hyperparameters: object) -> Job:
    config = ALGORITHMS[algo].config.model_validate(hyperparameters)
    return Job("cores", tuple(Run("cores", algo, env_id, seed, 10_240, config)
                              for seed in range(seeds)))


def test_a_jobs_largest_product_is_its_runs_gradient_batches_through_the_widest_layer():
    assert _job("ppo", "CartPole-v1", 1).largest_product == 128 * 64 * 64
    assert _job("ppo", "CartPole-v1", 32).largest_product == 32 * 128 * 64 * 64
    assert _job("ppo_continuous_action", "Pendulum-v1", 1).largest_product == 64 * 64 * 64
    assert _job("dqn", "CartPole-v1", 2).largest_product == 2 * 128 * 120 * 120
    assert _job("sac_continuous_action", "Pendulum-v1", 1,
                hidden_sizes=[32, 512]).largest_product == 256 * 512 * 512


@pytest.mark.usefixtures("eight_cores")
def test_small_jobs_train_on_the_first_core_of_their_share_and_large_ones_on_all_of_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CPUS_VARIABLE, raising=False)
    assert cores_for(ONE_CORE_WORK, {}) == {TRAIN_CPUS_VARIABLE: "0"}
    assert cores_for(ONE_CORE_WORK + 1, {}) == {}
    share = {CPUS_VARIABLE: "6,4,5", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
    assert cores_for(1, share) == {**share, TRAIN_CPUS_VARIABLE: "4"}
    assert cores_for(ONE_CORE_WORK + 1, share) == share
    assert cores_for(1, {CPUS_VARIABLE: "0,one"}) == {CPUS_VARIABLE: "0,one"}, \
        "left for the worker to reject"


def test_cores_the_user_named_for_a_single_worker_are_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(CPUS_VARIABLE, "0,1")
    assert cores_for(1, {}) == {}
    assert cores_for(1, {CPUS_VARIABLE: "2,3"}) == {CPUS_VARIABLE: "2,3",
                                                    TRAIN_CPUS_VARIABLE: "2"}


@pytest.mark.usefixtures("eight_cores")
def test_cpu_slots_train_small_jobs_on_one_core_and_device_slots_leave_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CPUS_VARIABLE, raising=False)
    small, large = _job("ppo", "CartPole-v1", 1), _job("ppo", "CartPole-v1", 32)
    (single,) = cpu_slots(1)
    assert single.env_for(small) == {TRAIN_CPUS_VARIABLE: "0"}
    assert single.env_for(large) == {}
    assert [slot.env_for(small)[TRAIN_CPUS_VARIABLE] for slot in cpu_slots(2)] == ["0", "4"]
    (device,) = device_slots(["0"], 1)
    assert device.env_for(small) == {"CUDA_VISIBLE_DEVICES": "0"}


# Two jobs in one process with training cores: JAX's backend starts on them, each job compiles
# on every core of the process and trains on the training cores.
COMPILE_THEN_TRAIN = textwrap.dedent("""
    import json, os, sys
    from harness.training.cores import compiling_on_every_core
    found = []
    for job in range(2):
        with compiling_on_every_core():
            compiling = sorted(os.sched_getaffinity(0))
        found.append([compiling, sorted(os.sched_getaffinity(0))])
    import jax
    json.dump({"jobs": found, "backend": jax.default_backend()}, sys.stdout)
""")


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_a_small_job_compiles_on_every_core_and_trains_on_its_training_core() -> None:
    cores = sorted(os.sched_getaffinity(0))
    for named, training in ((str(cores[-1]), [cores[-1]]), ("", cores), ("9999", cores),
                            (",".join(map(str, cores)), cores)):
        done = subprocess.run([sys.executable, "-c", COMPILE_THEN_TRAIN], capture_output=True,
                              text=True, check=True,
                              env={**os.environ, TRAIN_CPUS_VARIABLE: named})
        found = json.loads(done.stdout)
        assert found["jobs"] == [[cores, training]] * 2, named


def test_the_local_runner_starts_a_workers_process_with_its_jobs_cores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CPUS_VARIABLE, raising=False)
    started: dict[str, str] = {}

    class Started(Exception):
        pass

    def record(argv: list[str], **options: object) -> None:
        started.update(options["env"])
        raise Started

    monkeypatch.setattr(local.subprocess, "Popen", record)
    runner = LocalRunner(cpu_slots(1))
    paths = SuitePaths(tmp_path, "cores")
    paths.jobs_dir.mkdir(parents=True)
    with pytest.raises(Started):
        runner._start(_job("ppo", "CartPole-v1", 1), runner.slots[0], paths, queue.Queue())
    assert started[TRAIN_CPUS_VARIABLE] == str(min(os.sched_getaffinity(0)))
    assert CPUS_VARIABLE not in started

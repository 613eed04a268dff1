"""A spare worker imports while `harness run` plans, then trains the first job on that job's
cores and environment, exactly as a freshly started worker would."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import results
from harness.jobs import Job, plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.suite import load_suite
from runners.cpus import CPUS_VARIABLE
from runners.local import LocalRunner, WorkerSlot
from runners.progress import ProgressDisplay
from runners.protocol import write_job_spec
from runners.spare import SpareWorker, start_spare_worker
from tests.conftest import live_runs, write_suite

ONE_JOB = """
name: spare
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 1
total_timesteps: 20480
"""


def test_what_a_spare_imports_leaves_jax_backend_unstarted() -> None:
    probe = ("import importlib; from runners import worker\n"
             "for module in worker.PRELOAD: importlib.import_module(module)\n"
             "from jax._src import xla_bridge; print(sorted(xla_bridge._backends))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


def test_only_harness_run_starts_a_spare() -> None:
    for argv in (["plan", "x.yaml"], ["status", "x.yaml"], ["run", "x.yaml", "--help"], []):
        assert start_spare_worker(argv) is None
    if len(os.sched_getaffinity(0)) < 2:
        assert start_spare_worker(["run", "x.yaml"]) is None
        return
    spare = start_spare_worker(["run", "x.yaml"])
    assert isinstance(spare, SpareWorker)
    process = spare.process
    spare.close()
    assert process.returncode is not None and spare.process is None


def _job_spec(tmp_path: Path) -> tuple[Job, Path, SuitePaths]:
    """The suite's one job, its spec file and the suite's paths."""
    suite = load_suite(write_suite(tmp_path, ONE_JOB))
    (job,) = plan_jobs(expand(suite), runs_per_job=1)
    paths = SuitePaths(tmp_path / "results", suite.name)
    paths.jobs_dir.mkdir(parents=True)
    return job, write_job_spec(job, paths), paths


def test_a_worker_trains_and_stores_a_job_without_importing_pandas(tmp_path: Path) -> None:
    """pandas takes about half a second to import, on the path of every job."""
    _, spec, _ = _job_spec(tmp_path)
    probe = ("import sys; from pathlib import Path; from runners.worker import run_job_spec\n"
             f"assert run_job_spec(Path({str(spec)!r}), lambda event: None) == []\n"
             "print(sorted(name for name in sys.modules if name.split('.')[0] == 'pandas'))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert results.runs("spare", root=tmp_path / "results")["status"].tolist() == ["done"]


def test_a_spare_refuses_a_slot_set_before_jax_is_imported_and_a_changed_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, spec, paths = _job_spec(tmp_path)
    log = paths.job_log("job")
    devices = SpareWorker()
    process = devices.process
    assert devices.take(spec, {"CUDA_VISIBLE_DEVICES": "0"}, log) is None
    assert process.returncode is not None
    assert devices.take(spec, {}, log) is None

    changed = SpareWorker()
    monkeypatch.setenv("HARNESS_SPARE_TEST", "changed")
    assert changed.take(spec, {}, log) is None


def _thread_cores(pid: int) -> set[frozenset[int]]:
    """The core sets of every thread of process `pid`."""
    cores = set()
    for thread in os.listdir(f"/proc/{pid}/task"):
        try:
            cores.add(frozenset(os.sched_getaffinity(int(thread))))
        except ProcessLookupError:
            continue
    return cores


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to restrict")
def test_the_local_runner_hands_its_first_job_to_the_spare_on_the_slot_cores(
        tmp_path: Path) -> None:
    job, _, paths = _job_spec(tmp_path)
    core = max(os.sched_getaffinity(0))
    spare = SpareWorker()
    pid = spare.process.pid
    runner = LocalRunner([WorkerSlot(env={CPUS_VARIABLE: str(core)})], spare=spare)

    seen: set[frozenset[int]] = set()

    class Watch(ProgressDisplay):
        def job_event(self, job, event) -> None:  # noqa: ANN001 - the display's own signature
            if event.get("event") == "compiled":
                seen.update(_thread_cores(pid))
            super().job_event(job, event)

    with Watch() as display:
        (outcome,) = runner.run([job], paths, display)
    assert outcome.ok, outcome.reason
    assert seen == {frozenset({core})}
    assert runner.spare is None
    (run,) = job.runs
    status = RunRecord(paths.run(run.run_id)).status()
    assert (status["status"], status["pid"]) == ("done", pid)


def test_a_spare_appends_its_stderr_to_the_log_of_the_job_it_takes(tmp_path: Path) -> None:
    log = tmp_path / "job.log"
    log.write_text("earlier line\n")
    spare = SpareWorker()
    process = spare.take(tmp_path / "missing.json", {}, log)
    assert process is not None and process.wait(timeout=120) == 1
    text = log.read_text()
    assert text.startswith("earlier line\n") and "FileNotFoundError" in text
    assert "missing.json" in text


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a spare needs two cores")
def test_harness_run_trains_its_first_job_in_its_spare(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, ONE_JOB)
    root = tmp_path / "results"
    process = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(suite),
                                "--results-dir", str(root)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    command_lines = set()
    while process.poll() is None:
        for _, state in live_runs(root, "spare"):
            try:
                command_lines.add(Path(f"/proc/{state['pid']}/cmdline").read_bytes())
            except OSError:
                continue
        time.sleep(0.05)
    assert process.returncode == 0, process.stderr.read()[-2000:]
    assert set(results.runs("spare", root=root)["status"]) == {"done"}
    command_lines.discard(b"")  # read after the worker exited
    assert command_lines == {b"\0".join([sys.executable.encode(), b"-m", b"runners.worker",
                                          b"--wait", b""])}

"""Run ids are stable across processes and change when any config value changes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.jobs import plan_jobs
from harness.runs import expand
from harness.suite import load_suite
from tests.conftest import write_suite

SUITE = """
name: ids
algorithms:
  - algo: ppo
    hyperparameters: {learning_rate: 3.0e-4, hidden_sizes: [32, 32]}
environments: [CartPole-v1, Acrobot-v1]
seeds: 3
total_timesteps: 4096
"""


def _ids(path: Path) -> list[str]:
    return [run.run_id for run in expand(load_suite(path))]


def test_run_ids_are_equal_in_another_process(tmp_path: Path) -> None:
    path = write_suite(tmp_path, SUITE)
    code = (f"import json; from tests.test_run_ids import _ids; from pathlib import Path; "
            f"print(json.dumps(_ids(Path({str(path)!r}))))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "123", "PATH": ""})
    assert json.loads(other.stdout) == _ids(path)
    assert len(set(_ids(path))) == 6


def test_run_id_changes_when_any_value_changes(tmp_path: Path) -> None:
    base = _ids(write_suite(tmp_path, SUITE, "base.yaml"))
    variants = {
        "seed": SUITE.replace("seeds: 3", "seeds: [0, 1, 5]"),
        "learning rate": SUITE.replace("3.0e-4", "3.1e-4"),
        "static hyperparameter": SUITE.replace("[32, 32]", "[32, 64]"),
        "another gamma": SUITE.replace("learning_rate", "gamma: 0.9, learning_rate"),
        "budget": SUITE.replace("4096", "8192"),
        "exp_name": SUITE.replace("- algo: ppo", "- algo: ppo\n    exp_name: other"),
        "environment": SUITE.replace("Acrobot-v1", "MountainCar-v0"),
    }
    for what, text in variants.items():
        changed = _ids(write_suite(tmp_path, text, f"{what}.yaml"))
        differing = sum(a != b for a, b in zip(base, changed, strict=True))
        assert differing > 0, what
    unchanged = _ids(write_suite(tmp_path, SUITE.replace("name: ids", "name: renamed"), "r.yaml"))
    assert unchanged == base, "the suite name is not part of a run's identity"
    explicit_default = _ids(write_suite(
        tmp_path, SUITE.replace("learning_rate", "gamma: 0.99, learning_rate"), "d.yaml"))
    assert explicit_default == base, "writing a default explicitly is the same run"


def test_jobs_batch_seeds_and_traced_values_but_not_static_ones(tmp_path: Path) -> None:
    text = """
    name: jobs
    algorithms:
      - algo: ppo
      - algo: ppo
        exp_name: lr
        hyperparameters: {learning_rate: 1.0e-3}
      - algo: ppo
        exp_name: wide
        hyperparameters: {hidden_sizes: [128, 128]}
    environments: [CartPole-v1]
    seeds: 3
    total_timesteps: 4096
    """
    runs = expand(load_suite(write_suite(tmp_path, text)))
    jobs = plan_jobs(runs, runs_per_job=4)
    sizes = sorted(len(job.runs) for job in jobs)
    assert sizes == [2, 3, 4], "6 batchable runs split 4 + 2; the wide network is its own job"
    assert sorted(r.run_id for job in jobs for r in job.runs) == sorted(r.run_id for r in runs)
    assert len({job.job_id for job in jobs}) == len(jobs)

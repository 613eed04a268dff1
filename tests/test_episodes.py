"""Every finished episode is stored: the episode table equals a plain Python replay of the same
steps (same count, same returns and lengths, same ends), on both backends; evaluation episodes
are told apart and scored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import results
from harness.algos.base import Agent
from harness.envs import gymnasium_backend
from harness.jobs import plan_jobs
from harness.runs import expand
from harness.store import RunRecord, SuitePaths
from harness.store.tables import run_tables
from harness.suite import load_suite
from harness.training import backends
from harness.training.job import job_layout, train_job
from tests.conftest import write_suite

SUITE = """
name: episodes
algorithms: [{{algo: {algo}}}]
environments: [{env}]
seeds: 2
total_timesteps: {steps}
"""


def _replay(rewards: np.ndarray, done: np.ndarray, terminated: np.ndarray,
            num_envs: int) -> list[tuple[int, float, int, bool]]:
    """Episodes of one run by walking its steps one at a time: `rewards` etc. are
    `[vector steps, envs]`; the step at which an episode ends is counted as CleanRL does."""
    found = []
    total = [np.float32(0.0)] * num_envs
    length = [0] * num_envs
    for step in range(rewards.shape[0]):
        for env in range(num_envs):
            total[env] = np.float32(total[env] + np.float32(rewards[step, env]))
            length[env] += 1
            if done[step, env]:
                found.append(((step + 1) * num_envs, float(total[env]), length[env],
                              bool(terminated[step, env])))
                total[env], length[env] = np.float32(0.0), 0
    return found


def _stored(paths: SuitePaths, run_id: str) -> list[tuple[int, float, int, bool]]:
    record = RunRecord(paths.run(run_id))
    episodes = run_tables(record, record.status())[1].to_pandas()
    return list(zip(episodes["global_step"], episodes["episodic_return"],
                    episodes["episodic_length"], episodes["terminated"], strict=True))


def _job(directory: Path, algo: str, env: str, steps: int):
    suite = load_suite(write_suite(directory, SUITE.format(algo=algo, env=env, steps=steps)))
    (job,) = plan_jobs(expand(suite), runs_per_job=8)
    return job


@pytest.mark.parametrize(("algo", "steps"), [("ppo", 10240), ("dqn", 6000)])
def test_gymnax_episodes_equal_a_plain_replay_of_the_same_steps(
        algo: str, steps: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = _job(tmp_path, algo, "CartPole-v1", steps)
    paths = SuitePaths(tmp_path / "results", job.suite)
    assert train_job(job, paths) == []

    module = backends.ALGORITHMS[algo].load()
    plain = module.make_agent

    def recording(*args: object) -> Agent:
        agent = plain(*args)

        def learn(state, key, traj, hp, index):  # noqa: ANN001, ANN202 - the Agent signature
            state, metrics = agent.learn(state, key, traj, hp, index)
            return state, {**metrics, "test/reward": traj.reward, "test/done": traj.done,
                           "test/terminated": traj.terminated}

        return agent._replace(learn=learn)

    monkeypatch.setattr(module, "make_agent", recording)
    import jax
    import jax.numpy as jnp

    runs = list(job.runs)
    layout = job_layout(runs[0])
    keys = jnp.stack([jax.random.PRNGKey(run.seed) for run in runs])
    hp = {name: jnp.asarray([run.hyperparameters.traced_values()[name] for run in runs],
                            jnp.float32) for name in runs[0].hyperparameters.traced_names()}
    program = backends.make_program(runs, layout, keys, hp, 0)
    state = program.init(keys, hp)
    steps_seen: dict[str, list] = {"test/reward": [], "test/done": [], "test/terminated": []}
    for chunk in range(layout.num_chunks):
        state, out = program.run_chunk(state, hp, np.full(len(runs), chunk))
        valid = layout.valid_updates(chunk)
        for name in steps_seen:
            steps_seen[name].append(out.metrics[name][:, :valid])
    num_envs = runs[0].hyperparameters.num_envs
    for i, run in enumerate(runs):
        per_step = {name: np.concatenate([part[i] for part in parts]).reshape(-1, num_envs)
                    for name, parts in steps_seen.items()}
        replayed = _replay(per_step["test/reward"], per_step["test/done"],
                           per_step["test/terminated"], num_envs)
        stored = _stored(paths, run.run_id)
        assert len(stored) == len(replayed) > 10
        assert stored == replayed, run.seed


def test_gymnasium_episodes_equal_a_plain_replay_of_the_same_steps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = _job(tmp_path, "ppo", "{id: CartPole-v1, backend: gymnasium}", 4096)
    paths = SuitePaths(tmp_path / "results", job.suite)
    seen: list = []
    step = gymnasium_backend.GymnasiumVecEnv.step

    def recording(self, action):  # noqa: ANN001, ANN202 - the method's signature
        out = step(self, action)
        seen.append(out)
        return out

    monkeypatch.setattr(gymnasium_backend.GymnasiumVecEnv, "step", recording)
    assert train_job(job, paths) == []
    num_envs = job.runs[0].hyperparameters.num_envs
    for i, run in enumerate(job.runs):
        replayed = _replay(np.stack([out.reward[i] for out in seen]),
                           np.stack([out.done[i] for out in seen]),
                           np.stack([out.terminated[i] for out in seen]), num_envs)
        assert _stored(paths, run.run_id) == replayed


def test_evaluation_episodes_are_stored_apart_and_scored(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, SUITE.format(algo="ppo", env="CartPole-v1", steps=10240)
                        + "evaluation: {every: 5120, episodes: 3}\n")
    job = plan_jobs(expand(load_suite(suite)), runs_per_job=8)[0]
    paths = SuitePaths(tmp_path / "results", job.suite)
    assert train_job(job, paths) == []
    episodes = results.episodes(suite, root=tmp_path / "results", kind="eval")
    assert sorted(set(episodes["global_step"])) == [5120, 10240]
    assert episodes.groupby(["run_id", "global_step"]).size().eq(3).all()
    assert ((episodes["episodic_length"] == 500) == ~episodes["terminated"]).all(), \
        "a greedy CartPole episode is truncated exactly when it reaches the time limit"
    scores = results.final_scores(suite, root=tmp_path / "results", reduction="eval")
    last = episodes[episodes["global_step"] == 10240].groupby("run_id")["episodic_return"].mean()
    pd.testing.assert_series_equal(scores.set_index("run_id")["score"].sort_index(),
                                   last.sort_index(), check_names=False, check_index_type=False)
    tidy = results.load(suite, root=tmp_path / "results", metrics="eval/episodic_return")
    assert len(tidy) == len(episodes)

"""Every bad suite file gets one clear line, exit code 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import cli
from harness.suite import SuiteError, load_suite
from tests.conftest import write_suite

VALID = """
name: ok
algorithms:
  - algo: ppo
    hyperparameters:
      learning_rate: 3e-4
    env_overrides:
      Acrobot-v1: {ent_coef: 0.0}
environments: [CartPole-v1, Acrobot-v1]
seeds: [3, 1]
total_timesteps: 2048
"""

BASE = "algorithms: [{algo: ppo}]\nenvironments: [CartPole-v1]\nseeds: 2\ntotal_timesteps: 1024\n"

# (file text, line the message names or None, substrings the message must contain)
BAD_SUITES = {
    "yaml syntax": ("name: x\nalgorithms: [{algo: ppo\nseeds: 2\n", 3, ["invalid YAML"]),
    "duplicate yaml key": ("name: x\nname: y\n" + BASE, 2, ["duplicate key", "name"]),
    "unknown top-level key": (BASE.replace("total_timesteps", "total_timestep"), 4,
                              ["total_timestep", "unknown key", "did you mean 'total_timesteps'"]),
    "unknown algorithm key": (BASE.replace("{algo: ppo}", "{algo: ppo, hyperparams: {}}"), 1,
                              ["algorithms[0].hyperparams", "unknown key",
                               "valid keys: algo, exp_name=None, hyperparameters"]),
    "unknown algorithm": (BASE.replace("ppo", "ppx"), 1, ["algorithms[0].algo",
                                                         "unknown algorithm 'ppx'", "ppo"]),
    "unknown environment": (BASE.replace("CartPole-v1", "CartPol-v1"), 2,
                            ["environments[0]", "'CartPol-v1'", "did you mean CartPole-v1"]),
    "wrong type": (BASE.replace("seeds: 2", "seeds: two"), 3, ["seeds", "'two'"]),
    "wrong hyperparameter type": (
        BASE.replace("{algo: ppo}", "{algo: ppo, hyperparameters: {num_envs: 4.5}}"), 1,
        ["algorithms[0].hyperparameters.num_envs", "expected an integer, got 4.5"]),
    "bool for int": (BASE.replace("{algo: ppo}", "{algo: ppo, hyperparameters: {num_envs: true}}"),
                     1, ["num_envs", "expected an integer, got True"]),
    "zero budget": (BASE.replace("1024", "0"), 4, ["total_timesteps", "> 0"]),
    "budget below one update": (BASE.replace("1024", "100"), 4,
                                ["total_timesteps", "100 is less than one ppo update", "512"]),
    "zero seeds": (BASE.replace("seeds: 2", "seeds: 0"), 3, ["seeds", "positive seed count"]),
    "negative seed count": (BASE.replace("seeds: 2", "seeds: -3"), 3, ["seeds"]),
    "duplicate seeds": (BASE.replace("seeds: 2", "seeds: [1, 2, 1]"), 3,
                        ["seeds", "duplicate seeds [1]"]),
    "unknown hyperparameter": (
        BASE.replace("{algo: ppo}", "{algo: ppo, hyperparameters: {learning_rat: 0.1}}"), 1,
        ["algorithms[0].hyperparameters.learning_rat", "unknown hyperparameter 'learning_rat'",
         "did you mean 'learning_rate'", "num_envs=4"]),
    "unknown override hyperparameter": (
        BASE.replace("{algo: ppo}", "{algo: ppo, env_overrides: {CartPole-v1: {gama: 0.9}}}"), 1,
        ["env_overrides.CartPole-v1.gama", "did you mean 'gamma'"]),
    "override for absent env": (
        BASE.replace("{algo: ppo}", "{algo: ppo, env_overrides: {Acrobot-v1: {gamma: 0.9}}}"), 1,
        ["'Acrobot-v1', which is not in environments"]),
    "out of range hyperparameter": (
        BASE.replace("{algo: ppo}", "{algo: ppo, hyperparameters: {gamma: 1.5}}"), 1,
        ["hyperparameters.gamma", "<= 1"]),
    "minibatches do not divide batch": (
        BASE.replace("{algo: ppo}", "{algo: ppo, hyperparameters: {num_minibatches: 3}}"), 1,
        ["num_minibatches 3 does not divide", "512"]),
    "continuous env for discrete algo": (BASE.replace("CartPole-v1", "Pendulum-v1"), 1,
                                         ["ppo supports discrete", "Pendulum-v1 has continuous"]),
    "empty file": ("", None, ["the suite file is empty"]),
    "only comments": ("# nothing\n", None, ["the suite file is empty"]),
    "top level list": ("- a\n- b\n", 1, ["expected a mapping", "got a list"]),
    "no algorithms": (BASE.replace("[{algo: ppo}]", "[]"), 1, ["algorithms", "at least one"]),
    "no environments": (BASE.replace("[CartPole-v1]", "[]"), 2, ["environments",
                                                                 "at least one"]),
    "duplicate environment": (BASE.replace("[CartPole-v1]", "[CartPole-v1, CartPole-v1]"), 2,
                              ["environments[1]", "listed twice"]),
    "duplicate exp_name": (BASE.replace("[{algo: ppo}]", "[{algo: ppo}, {algo: ppo}]"), 1,
                           ["algorithms[1].exp_name", "'ppo' is used by algorithms[0]"]),
    "suite name escapes": ("name: ../../etc\n" + BASE, 1, ["name", "not a safe file name"]),
    "suite name with slash": ("name: a/b\n" + BASE, 1, ["not a safe file name"]),
    "exp_name escapes": (BASE.replace("{algo: ppo}", "{algo: ppo, exp_name: ..}"), 1,
                         ["algorithms[0].exp_name", "not a safe file name"]),
    "runner key typo": (BASE + "runner: {wrokers: 2}\n", 5, ["runner.wrokers",
                                                              "did you mean 'workers'"]),
    "non-positive workers": (BASE + "runner: {workers: 0}\n", 5, ["runner.workers", "> 0"]),
    "unknown engine": (BASE + "runner: {engine: cloud}\n", 5, ["runner.engine", "'local'"]),
    "unknown gymnasium version": (BASE.replace("CartPole-v1", "HalfCheetah-v9"), 2,
                                  ["environments[0]", "did you mean HalfCheetah-v5"]),
    "uninstalled namespace": (BASE.replace("CartPole-v1", "ALE/Pong-v5"), 2,
                              ["'ALE/Pong-v5' needs the package", "pip install ale-py"]),
    "uninstalled dependency": (BASE.replace("CartPole-v1", "LunarLander-v3"), 2,
                               ["LunarLander-v3 cannot be built here", "gymnasium[box2d]"]),
    "unsupported observation space": (BASE.replace("CartPole-v1", "Blackjack-v1"), 2,
                                      ["Tuple observation space"]),
    "backend typo": (BASE.replace("[CartPole-v1]", "[{id: CartPole-v1, backend: jax}]"), 2,
                     ["environments[0].backend", "'gymnax' or 'gymnasium'"]),
    "gymnax backend for a gymnasium id": (
        BASE.replace("[CartPole-v1]", "[{id: HalfCheetah-v5, backend: gymnax}]"), 2,
        ["'HalfCheetah-v5' is not a gymnax environment"]),
    "algorithm budget below one update": (
        BASE.replace("{algo: ppo}", "{algo: ppo, total_timesteps: 10}"), 1,
        ["algorithms[0].total_timesteps", "10 is less than one ppo update"]),
    "evaluation key typo": (BASE + "evaluation: {every: 512, episods: 3}\n", 5,
                            ["evaluation.episods", "did you mean 'episodes'"]),
}


def _tree(directory: Path) -> set[Path]:
    return set(directory.rglob("*"))


@pytest.mark.parametrize("case", list(BAD_SUITES))
def test_bad_suite_gets_one_line_exit_2_and_writes_nothing(case: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    text, line, fragments = BAD_SUITES[case]
    suite = tmp_path / "bad.yaml"
    suite.write_text(text, encoding="utf-8")
    before = _tree(tmp_path)
    for command in ("plan", "run", "status"):
        code = cli.main([command, str(suite), "--results-dir", str(tmp_path / "results")])
        assert code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        location = f"{suite}:{line}: " if line is not None else f"{suite}: "
        assert err.startswith(f"error: {location}"), err
        for fragment in fragments:
            assert fragment in err, (fragment, err)
    assert _tree(tmp_path) == before


def test_valid_suite_loads_as_written(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, VALID))
    assert suite.name == "ok"
    assert suite.seed_list == [3, 1]
    assert suite.algorithms[0].hyperparameters == {"learning_rate": 3e-4}
    acrobot = suite.algorithms[0].resolve("Acrobot-v1")
    assert acrobot.ent_coef == 0.0 and acrobot.learning_rate == 3e-4
    cartpole = suite.algorithms[0].resolve("CartPole-v1")
    assert cartpole.ent_coef == 0.01 and cartpole.num_envs == 4


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, BASE, name="my-suite.yaml"))
    assert suite.name == "my-suite"


def test_unknown_suite_name_lists_known_ones(tmp_path: Path) -> None:
    from harness.suite import find_suite

    (tmp_path / "alpha.yaml").write_text(BASE)
    with pytest.raises(SuiteError, match="no suite named 'beta'.*known: alpha"):
        find_suite("beta", tmp_path)


def test_shipped_suites_validate_without_mutation() -> None:
    shipped = sorted(Path("suites").glob("*.yaml"))
    assert {p.stem for p in shipped} >= {"smoke", "classic-control"}
    for path in shipped:
        suite = load_suite(path)
        snapshot = suite.model_dump()
        for entry in suite.algorithms:
            for env_id in suite.environments:
                entry.resolve(env_id)
        assert suite.model_dump() == snapshot

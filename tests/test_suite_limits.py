"""Odd suite files (binary, huge, deep, alias bombs, non-finite or out-of-range numbers) get one
line and exit code 2 quickly; integral floats such as `1e6` count as the integers they equal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness import cli
from harness.runs import expand
from harness.suite import SuiteError, load_suite
from harness.suite.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_LINES, MAX_NODES
from harness.suite.runner_settings import RunnerSettings
from harness.suite.schema import MAX_SEEDS, MAX_TIMESTEPS
from tests.conftest import write_suite

BASE = "algorithms: [{algo: ppo}]\nenvironments: [CartPole-v1]\nseeds: 2\ntotal_timesteps: 1024\n"
DQN = "algorithms: [{algo: dqn}]\nenvironments: [CartPole-v1]\nseeds: 2\ntotal_timesteps: 20000\n"
FAST_S = 5.0
"""Generous bound on the time to reject a file (the target is 1 s; CI machines are shared)."""


def _bomb(levels: int = 9) -> str:
    text = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, levels):
        text += f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n"
    return text


def _seeds(count: int) -> str:
    return BASE.replace("seeds: 2", f"seeds: [{', '.join(map(str, range(count)))}]")


def _algorithms(count: int) -> str:
    entries = ", ".join(f"{{algo: ppo, exp_name: p{i}}}" for i in range(count))
    return BASE.replace("[{algo: ppo}]", f"[{entries}]")


def _hyperparameters(values: str, base: str = BASE) -> str:
    """`base` with `hyperparameters: {values}` on its one algorithm entry."""
    return base.replace("}]", f", hyperparameters: {{{values}}}}}]", 1)


def _plan(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[str, float]:
    """`harness plan PATH`'s one error line and its time, checking exit code 2 and no writes."""
    results = tmp_path / "results"
    start = time.perf_counter()
    code = cli.main(["plan", str(path), "--results-dir", str(results)])
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}"), err
    assert not results.exists()
    return err, elapsed


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "odd.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# (file content, substrings the one error line must contain)
ODD_FILES: dict[str, tuple[str | bytes, list[str]]] = {
    "utf-16": (BASE.encode("utf-16"), [":1: not UTF-8 text (byte 0xff at offset 0)"]),
    "latin-1": (("description: café\n" + BASE).encode("latin-1"),
                [":1: not UTF-8 text (byte 0xe9 at offset 16)"]),
    "nul byte": ("description: a\x00b\n" + BASE,
                 [":1: invalid YAML: unacceptable character #x0000"]),
    "control character": (BASE + "description: a\x07b\n",
                          [":5: invalid YAML: unacceptable character #x0007"]),
    "bad !!int": ("description: !!int abc\n" + BASE,
                  ["invalid YAML: cannot build a value (ValueError: invalid literal for int()"]),
    "bad !!int 0x": ("description: !!int 0x\n" + BASE,
                     ["invalid YAML: cannot build a value (IndexError: string index out of range"]),
    "bad !!bool": ("description: !!bool ''\n" + BASE,
                   ["invalid YAML: cannot build a value (KeyError: '')"]),
    "bad !!omap": ("description: !!omap 68o\n" + BASE,
                   ["invalid YAML: cannot build a value (AttributeError: "]),
    "5,000 digits": ("description: " + "9" * 5000 + "\n" + BASE,
                     ["invalid YAML: cannot build a value (ValueError: Exceeds the limit (4300"]),
    "line break in a key": ('"a\\nb": 1\n' + BASE, [":1: a b: unknown key 'a\\nb'"]),
    "anchor defined twice": ("a: &x 1\nb: &x 2\n" + BASE,
                             [":2: b: anchor &x is defined twice"]),
    "too many lines": (BASE + "#\n" * MAX_LINES,
                       [f"the file has {MAX_LINES + 4:,} lines, more than the {MAX_LINES:,}"]),
    "alias bomb": (BASE + _bomb(), [":9: l4[0]: ", f"more than {MAX_NODES:,} YAML nodes"]),
    "deep flow nesting": (BASE + "a: " + "[" * 5000 + "]" * 5000 + "\n",
                          [":5: a[0]", f"nested deeper than {MAX_DEPTH} levels"]),
    "deep block nesting": (BASE + "".join(" " * i + "k:\n" for i in range(200)),
                           [":69: k.k.k", f"nested deeper than {MAX_DEPTH} levels"]),
    "deep alias": (BASE + "x: &x " + "[" * 40 + "]" * 40 + "\ny: " + "[" * 30 + "*x" + "]" * 30,
                   [":6: y[0]", f"alias *x nests deeper than {MAX_DEPTH} levels"]),
    "100,000 seeds": (_seeds(100_000), ["bytes, more than the"]),
    "15,000 seeds": (_seeds(15_000), [":3: seeds[", f"more than {MAX_NODES:,} YAML nodes"]),
    "10,001 seeds": (_seeds(MAX_SEEDS + 1),
                     [":3: seeds: expected at most 10,000 seeds, got a list of 10,001"]),
    "10**12 seeds": (BASE.replace("seeds: 2", "seeds: 1000000000000"),
                     [":3: seeds: expected at most 10,000 seeds, got 1000000000000"]),
    "10,000 duplicate seeds": (BASE.replace("seeds: 2", f"seeds: [{', '.join(['7'] * 10_000)}]"),
                               [":3: seeds: duplicate seeds [7]"]),
    "110,000 runs": (_algorithms(11).replace("seeds: 2", "seeds: 1e4"),
                     ["configurations x environments x seeds = 11 x 1 x 10,000 = 110,000 runs"]),
    "inf learning rate": (_hyperparameters("learning_rate: .inf"),
                          [":1: algorithms[0].hyperparameters.learning_rate: "
                           "expected a finite number, got inf"]),
    "-inf max_grad_norm": (_hyperparameters("max_grad_norm: -.inf"),
                           ["hyperparameters.max_grad_norm: expected a finite number, got -inf"]),
    "nan gamma": (_hyperparameters("gamma: .nan"),
                  ["hyperparameters.gamma: expected a finite number, got nan"]),
    "nan override": (BASE.replace("{algo: ppo}", "{algo: ppo, env_overrides: "
                                                 "{CartPole-v1: {ent_coef: .nan}}}"),
                     ["env_overrides.CartPole-v1.ent_coef: expected a finite number, got nan"]),
    "inf stall_timeout": (BASE + "runner: {stall_timeout: .inf}\n",
                          [":5: runner.stall_timeout: expected a finite number, got inf"]),
    "nan ray cpus": (BASE + "runner: {ray: {cpus_per_job: .nan}}\n",
                     [":5: runner.ray.cpus_per_job: expected a finite number, got nan"]),
    "inf integer": (_hyperparameters("num_envs: .inf"),
                    ["hyperparameters.num_envs: expected an integer, got inf"]),
    "1e30 budget": (BASE.replace("1024", "1e30"),
                    [":4: total_timesteps: expected at most 2**31 - 1 = 2147483647 steps",
                     "counts environment steps in int32"]),
    "2**31 budget": (BASE.replace("1024", str(2**31)),
                     [":4: total_timesteps: expected at most 2**31 - 1", "got 2147483648"]),
    "algorithm budget 1e10": (BASE.replace("{algo: ppo}", "{algo: ppo, total_timesteps: 1e10}"),
                              [":1: algorithms[0].total_timesteps: expected at most 2**31 - 1"]),
    "evaluation every 1e12": (BASE + "evaluation: {every: 1e12}\n",
                              [":5: evaluation.every: expected at most 2**31 - 1"]),
    "evaluation episodes 1e6": (BASE + "evaluation: {every: 512, episodes: 1e6}\n",
                                [":5: evaluation.episodes: expected a value <= 10000"]),
    "runs_per_job 1e5": (BASE + "runs_per_job: 1e5\n",
                         [":5: runs_per_job: expected a value <= 10000, got 100000"]),
    "fractional budget": (BASE.replace("1024", "1024.5"),
                          [":4: total_timesteps: expected an integer, got 1024.5"]),
    "fractional hyperparameter": (_hyperparameters("num_envs: 1.5"),
                                  ["hyperparameters.num_envs: expected an integer, got 1.5"]),
    "fractional hidden size": (_hyperparameters("hidden_sizes: [64, 6.5]"),
                               ["hyperparameters.hidden_sizes[1]: expected an integer, got 6.5"]),
    "fractional seed count": (BASE.replace("seeds: 2", "seeds: 2.5"),
                              [":3: seeds: expected a positive seed count", "got 2.5"]),
    "fractional runner setting": (BASE + "runner: {workers: 2.5}\n",
                                  [":5: runner.workers: expected an integer, got 2.5"]),
    "zero max_rows": (BASE + "logging: {max_rows: 0}\n", [":5: logging.max_rows", "> 0"]),
    "max_rows typo": (BASE + "logging: {max_row: 10}\n",
                      [":5: logging.max_row: unknown key", "did you mean 'max_rows'"]),
}
SLOW_CASES = {"alias bomb", "deep flow nesting", "100,000 seeds", "15,000 seeds",
              "10,000 duplicate seeds", "110,000 runs"}


@pytest.mark.parametrize("case", list(ODD_FILES))
def test_odd_file_gets_one_line_and_exit_2_quickly(case: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    content, fragments = ODD_FILES[case]
    path = _write(tmp_path, content)
    err, elapsed = _plan(path, tmp_path, capsys)
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    if case in SLOW_CASES:
        assert elapsed < FAST_S, (case, elapsed)


def test_50_mb_of_comments_is_rejected_unread(tmp_path: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "odd.yaml"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(BASE)
        for _ in range(50 * 2**20 // 2**16):
            stream.write(("# " + "x" * 61 + "\n") * 2**10)
    err, elapsed = _plan(path, tmp_path, capsys)
    size = path.stat().st_size
    assert f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,}" in err
    assert elapsed < FAST_S


def test_run_fails_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, BASE + _bomb())
    code = cli.main(["run", str(path), "--results-dir", str(tmp_path / "results")])
    assert code == 2
    assert "YAML nodes" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_integral_floats_are_the_integers_they_equal(tmp_path: Path) -> None:
    text = (_hyperparameters("num_envs: 8.0, num_steps: 2.56e2, hidden_sizes: [6.4e1, 64]")
            .replace("1024", "2.5e5").replace("seeds: 2", "seeds: 3.0")
            + "runs_per_job: 4.0\nevaluation: {every: 1e4, episodes: 1e1}\n"
            + "runner: {workers: 2.0, retries: 0.0, slurm: {time_min: 1.2e2}}\n"
            + "logging: {max_rows: 1e3}\n")
    suite = load_suite(write_suite(tmp_path, text))
    config = suite.algorithms[0].resolve("CartPole-v1")
    values = [suite.total_timesteps, suite.seeds, suite.runs_per_job, suite.evaluation.every,
              suite.evaluation.episodes, suite.runner.workers, suite.runner.retries,
              suite.runner.slurm.time_min, suite.logging.max_rows, config.num_envs,
              config.num_steps, *config.hidden_sizes]
    assert values == [250_000, 3, 4, 10_000, 10, 2, 0, 120, 1000, 8, 256, 64, 64]
    assert all(type(value) is int for value in values)


def test_budget_written_as_1e6_keeps_the_run_id(tmp_path: Path) -> None:
    written = {}
    for form, budget, starts in (("ints", "1000000", "10000"), ("floats", "1e6", "1e4")):
        directory = tmp_path / form
        directory.mkdir()
        text = _hyperparameters(f"learning_starts: {starts}", DQN).replace("20000", budget)
        written[form] = expand(load_suite(write_suite(directory, text)))[0]
    assert written["floats"].run_id == written["ints"].run_id
    assert written["floats"].config == written["ints"].config
    assert written["floats"].config["total_timesteps"] == 1_000_000
    assert type(written["floats"].hyperparameters.learning_starts) is int


def test_float_settings_still_take_integers(tmp_path: Path) -> None:
    text = _hyperparameters("learning_rate: 1, max_grad_norm: 2") + "runner: {stall_timeout: 30}\n"
    suite = load_suite(write_suite(tmp_path, text))
    config = suite.algorithms[0].resolve("CartPole-v1")
    assert (config.learning_rate, config.max_grad_norm) == (1.0, 2.0)
    assert suite.runner.stall_timeout == 30.0


def test_largest_budget_is_accepted(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, BASE.replace("1024", str(MAX_TIMESTEPS))))
    assert suite.total_timesteps == 2**31 - 1


def test_largest_seed_list_is_accepted(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, _seeds(MAX_SEEDS)))
    assert suite.seed_list == list(range(MAX_SEEDS))


def test_logging_and_stall_timeout_defaults(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, BASE))
    assert suite.logging.max_rows is None
    assert suite.runner.stall_timeout == 600.0
    suite = load_suite(write_suite(tmp_path, BASE + "logging: {max_rows: 500}\n"))
    assert suite.logging.max_rows == 500


def test_stall_timeout_can_be_overridden() -> None:
    settings = RunnerSettings().with_overrides({"stall_timeout": 45.5, "retries": 1})
    assert (settings.stall_timeout, settings.retries) == (45.5, 1)
    with pytest.raises(ValueError, match="stall_timeout"):
        RunnerSettings().with_overrides({"stall_timeout": -1.0})


def test_limit_error_names_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(SuiteError) as caught:
        load_suite(write_suite(tmp_path, BASE + _bomb()))
    assert caught.value.file == str(tmp_path / "suite.yaml")
    assert caught.value.line == 9
    assert caught.value.loc == ("l4", 0)

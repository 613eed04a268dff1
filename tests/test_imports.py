"""The CLI's inspection commands and `harness.results` never import JAX (they must start fast)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_suite

SUITE = """
name: light
algorithms: [{algo: ppo}]
environments: [CartPole-v1]
seeds: 2
total_timesteps: 1024
"""

CHECK = """
import sys
{body}
heavy = sorted(name for name in ("jax", "jaxlib", "gymnax", "flax", "optax", "wandb")
               if name in sys.modules)
print("heavy:", ",".join(heavy))
"""


def _heavy_modules(body: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", CHECK.format(body=body)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [["--help"], ["envs"], ["plan", "SUITE"], ["status", "SUITE"],
                                  ["plan", "SUITE", "--runs"]])
def test_inspection_commands_do_not_import_jax(argv: list[str], tmp_path: Path) -> None:
    suite = write_suite(tmp_path, SUITE)
    args = [str(suite) if arg == "SUITE" else arg for arg in argv]
    body = ("from harness.cli import main\n"
            "try:\n"
            f"    code = main({args!r})\n"
            "except SystemExit as exit:\n"
            "    code = exit.code\n"
            "assert code == 0, code\n")
    assert _heavy_modules(body, tmp_path) == "heavy:"


def test_the_pandas_api_does_not_import_jax(tmp_path: Path) -> None:
    assert _heavy_modules("from harness import results", tmp_path) == "heavy:"

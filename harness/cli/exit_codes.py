"""Exit codes of the `harness` command."""

EXIT_FAILED_RUNS = 1
"""Some run (or pulled run, or reproduced metric) did not come out right."""
EXIT_BAD_INPUT = 2
"""The input was wrong (suite file, flag, run id, project path); nothing was written."""

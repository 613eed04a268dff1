"""RL benchmark harness: suite → runs → jobs → JAX training core → results store → analysis."""

__version__ = "0.1.0"

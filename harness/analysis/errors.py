"""The error analysis raises for input it cannot answer (the CLI prints it as one line)."""

from __future__ import annotations


class AnalysisError(ValueError):
    """Nothing could be computed from the selection: the message says what was wrong."""

"""How an exception is told in one line (status files, events, tables)."""

from __future__ import annotations


def error_line(err: BaseException) -> str:
    """`Type: first line of the message`, or just the type when the message is empty."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__

"""The one error a suite file can cause, rendered as `FILE:LINE: key.path: message`."""

from __future__ import annotations

from collections.abc import Sequence

Loc = Sequence[str | int]


def format_loc(loc: Loc) -> str:
    """Render a key path like `algorithms[0].hyperparameters.learning_rate`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class SuiteError(ValueError):
    """A suite file that cannot be run; `str()` is one line naming file, line and key path
    (line breaks in a key or a value shown become spaces)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 loc: Loc = ()) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.loc = tuple(loc)
        where = ":".join(str(p) for p in (file, line) if p is not None)
        parts = [p for p in (where, format_loc(self.loc), message) if p]
        super().__init__(" ".join(": ".join(parts).splitlines()))


class LocatedError(ValueError):
    """A semantic check's failure at a key path, before the file and line are known."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message

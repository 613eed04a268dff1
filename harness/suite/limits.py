"""Bounds on a suite file's text and shape, checked before any of it becomes Python objects.

A file beyond them is rejected in milliseconds, however large, deep or alias-laden it is. Within
them, ruamel's pure-Python parser (about 50 µs per YAML node to walk the events, 100-150 µs to
load them) takes a few seconds at most, on a file of about MAX_NODES nodes; the shipped suites
are under 1 KB and 100 nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_FILE_BYTES = 256 * 1024
"""Most bytes in a suite file (10,000 seeds listed one per line take about 130 KB)."""

MAX_LINES = 20_000
"""Most lines in a suite file (ruamel's time on a run of comment lines grows faster than their
number)."""

MAX_NODES = 12_000
"""Most YAML nodes (mappings, lists, keys and values) a suite file may expand to, each alias
counted as a copy of its anchor's subtree: room for the longest seed list and a large suite
around it, and a bound on memory against alias bombs ("billion laughs")."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists, aliases expanded (a suite needs 6)."""


class LimitError(ValueError):
    """A suite file beyond one of the bounds above, or with an anchor defined twice (which
    YAML tools resolve differently); `line` is set where the scanner knows it."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class _Collection:
    """A mapping or list whose end has not been reached yet."""

    mapping: bool
    anchor: str | None
    first: int
    """Nodes counted before this one."""
    entries: int = 0
    """Children finished so far (keys and values alike, in a mapping)."""
    height: int = 0
    """Deepest nesting among the children finished so far."""
    key: str | None = None
    """The latest scalar key (in a mapping)."""


class NodeCounter:
    """Follows a YAML event stream: how many nodes it expands to, how deep, and where it is."""

    def __init__(self) -> None:
        self.nodes = 0
        self.open: list[_Collection] = []
        self.anchors: dict[str, tuple[int, int]] = {}
        """Anchor name -> (nodes, height) of the subtree it names."""

    @property
    def loc(self) -> tuple[str | int, ...]:
        """The key path of the node seen last."""
        parts = [c.key if c.mapping else c.entries for c in self.open]
        return tuple(part for part in parts if part is not None)

    def scalar(self, value: str, anchor: str | None) -> None:
        """A scalar (a key or a value)."""
        self._begin(value)
        self._grow(1)
        self._define(anchor, 1, 0)
        self._finish(0)

    def alias(self, name: str) -> None:
        """An alias: a copy of its anchor's subtree (an unknown one is left to the parser)."""
        self._begin(None)
        nodes, height = self.anchors.get(name, (1, 0))
        self._grow(nodes)
        if len(self.open) + height > MAX_DEPTH:
            raise LimitError(f"alias *{name} nests deeper than {MAX_DEPTH} levels")
        self._finish(height)

    def start(self, anchor: str | None, *, mapping: bool) -> None:
        """A mapping or a list begins."""
        self._begin(None)
        self.open.append(_Collection(mapping, anchor, self.nodes))
        self._grow(1)
        if len(self.open) > MAX_DEPTH:
            raise LimitError(f"nested deeper than {MAX_DEPTH} levels")

    def end(self) -> None:
        """The innermost open mapping or list ends."""
        done = self.open.pop()
        self._define(done.anchor, self.nodes - done.first, done.height + 1)
        self._finish(done.height + 1)

    def _begin(self, key: str | None) -> None:
        parent = self.open[-1] if self.open else None
        if parent is not None and parent.mapping and parent.entries % 2 == 0:
            parent.key = key

    def _grow(self, nodes: int) -> None:
        self.nodes += nodes
        if self.nodes > MAX_NODES:
            raise LimitError(
                f"more than {MAX_NODES:,} YAML nodes (aliases expanded); "
                f"a suite file may hold at most {MAX_NODES:,}")

    def _define(self, anchor: str | None, nodes: int, height: int) -> None:
        if anchor is None:
            return
        if anchor in self.anchors:
            raise LimitError(f"anchor &{anchor} is defined twice; give each anchor its own name")
        self.anchors[anchor] = (nodes, height)

    def _finish(self, height: int) -> None:
        if self.open:
            parent = self.open[-1]
            parent.entries += 1
            parent.height = max(parent.height, height)

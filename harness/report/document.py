"""The report document model: a report is sections of blocks (text, tables, figures, code, details).

Writers (`markdown.py`, `html.py`) render exactly this model; `check_report` is what they run
before writing anything, so a bad report fails without leaving files behind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_FLOAT_FORMAT = "{:.4g}"
"""How floats are shown when a table names no format (CSV exports always keep full precision)."""
FIGURE_SUFFIXES = (".png", ".svg")
"""The figure files a report can show."""
FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
"""What a table `name` must look like: it becomes `<name>.csv` and `<name>.tex`."""


@dataclass(frozen=True)
class Text:
    """Paragraphs (split by blank lines) of Markdown: `**bold**`, `` `code` ``, `[text](url)`."""

    markdown: str


@dataclass(frozen=True)
class Code:
    """A block of preformatted text, e.g. a run's resolved config as JSON."""

    text: str
    language: str = ""


@dataclass(frozen=True, eq=False)
class Table:
    """A titled table of `frame`; `name` is the file stem of its CSV and LaTeX exports.

    A named or non-default index is shown as leading columns. `float_format` is one format
    string for every float column, or a mapping from column to format (others get the default).
    """

    title: str
    frame: pd.DataFrame
    name: str
    note: str = ""
    float_format: str | Mapping[str, str] = DEFAULT_FLOAT_FORMAT

    def __post_init__(self) -> None:
        if not FILE_STEM.fullmatch(self.name):
            raise ValueError(f"table name {self.name!r} is not a file-safe stem "
                             f"(letters, digits, '_', '.', '-'; starting with a letter or digit)")
        columns = self.columns()
        if isinstance(self.float_format, Mapping):
            unknown = sorted(set(self.float_format) - set(columns))
            if unknown:
                raise ValueError(f"table {self.name!r}: float_format names unknown columns "
                                 f"{unknown}; its columns are {columns}")
        for column in columns:
            fmt = self.format_of(column)
            try:
                fmt.format(1.5)
            except (ValueError, IndexError, KeyError) as err:
                raise ValueError(f"table {self.name!r}: float format {fmt!r} for column "
                                 f"{column!r} does not format a float ({err})") from None

    def data(self) -> pd.DataFrame:
        """The frame as shown: a meaningful index becomes leading columns, labels become text."""
        frame = self.frame
        plain_index = isinstance(frame.index, pd.RangeIndex) and all(
            name is None for name in frame.index.names)
        frame = frame.reset_index(drop=plain_index)
        frame.columns = [_label(column) for column in frame.columns]
        return frame

    def columns(self) -> list[str]:
        """The column headings as shown."""
        return list(self.data().columns)

    def numeric(self) -> list[bool]:
        """For each shown column, whether it holds numbers (right-aligned by the writers)."""
        data = self.data()
        return [pd.api.types.is_numeric_dtype(data[column])
                and not pd.api.types.is_bool_dtype(data[column]) for column in data.columns]

    def format_of(self, column: str) -> str:
        """The format string used for floats in `column`."""
        if isinstance(self.float_format, Mapping):
            return self.float_format.get(column, DEFAULT_FLOAT_FORMAT)
        return self.float_format

    def rows(self, missing: str) -> list[list[str]]:
        """Every cell as display text (floats formatted, missing values shown as `missing`)."""
        data = self.data()
        formats = [self.format_of(column) for column in data.columns]
        return [[_cell(value, fmt, missing) for value, fmt in zip(row, formats, strict=True)]
                for row in data.itertuples(index=False, name=None)]


@dataclass(frozen=True)
class Figure:
    """A titled figure already written to disk as a PNG and/or an SVG file."""

    title: str
    files: Sequence[Path]
    caption: str = ""

    def __post_init__(self) -> None:
        suffixes = [Path(file).suffix.lower() for file in self.files]
        if not suffixes:
            raise ValueError(f"figure {self.title!r} has no files")
        wrong = [str(file) for file, suffix in zip(self.files, suffixes, strict=True)
                 if suffix not in FIGURE_SUFFIXES]
        if wrong:
            raise ValueError(f"figure {self.title!r}: {wrong} are not {'/'.join(FIGURE_SUFFIXES)}")
        if len(set(suffixes)) != len(suffixes):
            raise ValueError(f"figure {self.title!r} has more than one file of a kind: "
                             f"{[str(file) for file in self.files]}")

    def file(self, prefer: Sequence[str]) -> Path:
        """The figure's file of the first kind in `prefer` (e.g. `(".svg", ".png")`) it has."""
        by_suffix = {Path(file).suffix.lower(): Path(file) for file in self.files}
        for suffix in prefer:
            if suffix in by_suffix:
                return by_suffix[suffix]
        raise ValueError(f"figure {self.title!r} has none of {list(prefer)}")


@dataclass(frozen=True)
class Details:
    """Collapsible blocks behind a one-line summary (long configs, provenance)."""

    summary: str
    blocks: Sequence[Block]


@dataclass(frozen=True)
class Section:
    """A headed section: its blocks, then its subsections one heading level down."""

    title: str
    blocks: Sequence[Block]
    sections: Sequence[Section] = ()


@dataclass(frozen=True)
class Report:
    """A whole report; `generated` is its provenance line (commit, time)."""

    title: str
    sections: Sequence[Section]
    generated: str


Block = Text | Table | Figure | Details | Code
"""What a section holds."""


def iter_blocks(report: Report) -> Iterator[Block]:
    """Every block of `report` in document order, including those inside details."""
    for section in report.sections:
        yield from _section_blocks(section)


def check_report(report: Report) -> None:
    """Raise ValueError when two tables share a name or a figure file does not exist."""
    seen: set[str] = set()
    for block in iter_blocks(report):
        if isinstance(block, Table):
            if block.name in seen:
                raise ValueError(f"two tables in report {report.title!r} are named "
                                 f"{block.name!r}; table names must be unique")
            seen.add(block.name)
        elif isinstance(block, Figure):
            for file in block.files:
                if not Path(file).is_file():
                    raise ValueError(f"figure {block.title!r}: file {str(file)!r} does not exist")


def _section_blocks(section: Section) -> Iterator[Block]:
    for block in section.blocks:
        yield from _nested(block)
    for subsection in section.sections:
        yield from _section_blocks(subsection)


def _nested(block: Block) -> Iterator[Block]:
    yield block
    if isinstance(block, Details):
        for inner in block.blocks:
            yield from _nested(inner)


def _label(column: object) -> str:
    if isinstance(column, tuple):
        return " / ".join(str(level) for level in column if str(level))
    return str(column)


def _cell(value: object, fmt: str, missing: str) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return missing
    if isinstance(value, float | np.floating):
        return fmt.format(value)
    return str(value)

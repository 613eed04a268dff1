"""Write a report as `report.md`: GitHub pipe tables, PNG figures by relative path, exports."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote

from harness.report.document import (
    Block,
    Code,
    Details,
    Figure,
    Report,
    Section,
    Table,
    Text,
    check_report,
    iter_blocks,
)
from harness.report.exports import TABLES_DIR, write_table_exports
from harness.store.atomic import atomic_path, write_atomic

REPORT_FILE = "report.md"
"""The Markdown file's name inside the report directory."""
FIGURES_DIR = "figures"
"""Where figures kept outside the report directory are copied."""
MARKDOWN_FIGURE_PREFERENCE = (".png", ".svg")
"""PNG first: every Markdown viewer shows it."""
MISSING = "—"
"""How a missing table value is shown."""


def write_markdown(report: Report, directory: Path) -> Path:
    """Write `directory/report.md` with its figures and table exports; the report's path."""
    check_report(report)
    directory.mkdir(parents=True, exist_ok=True)
    links = _place_figures(report, directory)
    for block in iter_blocks(report):
        if isinstance(block, Table):
            write_table_exports(block, directory / TABLES_DIR)
    lines = [f"# {_inline(report.title)}", "", _inline(report.generated), ""]
    for section in report.sections:
        lines += _section(section, 2, links)
    path = directory / REPORT_FILE
    text = "\n".join(lines).rstrip("\n") + "\n"
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
    return path


def pipe_table(header: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    """A GitHub pipe table, one line per string (numbers right-aligned, cell markup escaped)."""
    header = [_pipe_cell(cell) for cell in header]
    rows = [[_pipe_cell(cell) for cell in row] for row in rows]
    widths = [max(3, len(heading), *(len(row[i]) for row in rows))
              for i, heading in enumerate(header)]
    rule = ["-" * (width - 1) + ":" if right else "-" * width
            for width, right in zip(widths, numeric, strict=True)]

    def line(cells: list[str]) -> str:
        padded = [cell.rjust(width) if right else cell.ljust(width)
                  for cell, width, right in zip(cells, widths, numeric, strict=True)]
        return "| " + " | ".join(padded) + " |"

    return [line(header), line(rule), *(line(row) for row in rows)]


def _section(section: Section, level: int, links: dict[Path, str]) -> list[str]:
    lines = [f"{'#' * min(level, 6)} {_inline(section.title)}", ""]
    for block in section.blocks:
        lines += _block(block, level, links)
    for subsection in section.sections:
        lines += _section(subsection, level + 1, links)
    return lines


def _block(block: Block, level: int, links: dict[Path, str]) -> list[str]:
    if isinstance(block, Text):
        return [block.markdown.strip(), ""]
    if isinstance(block, Code):
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", block.text)),
                                     default=0))
        return [fence + block.language, block.text.rstrip("\n"), fence, ""]
    if isinstance(block, Table):
        exports = (f"Exports: [CSV]({TABLES_DIR}/{quote(block.name)}.csv) · "
                   f"[LaTeX]({TABLES_DIR}/{quote(block.name)}.tex)")
        table = pipe_table(block.columns(), block.rows(missing=MISSING), block.numeric())
        note = [block.note.strip(), ""] if block.note.strip() else []
        return [f"**{_inline(block.title)}**", "", *table, "", *note, exports, ""]
    if isinstance(block, Figure):
        source = block.file(MARKDOWN_FIGURE_PREFERENCE)
        alt = re.sub(r"([\[\]\\])", r"\\\1", _inline(block.title))
        caption = [block.caption.strip(), ""] if block.caption.strip() else []
        return [f"**{_inline(block.title)}**", "", f"![{alt}]({links[source]})", "", *caption]
    if not isinstance(block, Details):
        raise TypeError(f"not a report block: {block!r}")
    lines = [f"{'#' * min(level + 1, 6)} {_inline(block.summary)}", ""]
    for inner in block.blocks:
        lines += _block(inner, level + 1, links)
    return lines


def _place_figures(report: Report, directory: Path) -> dict[Path, str]:
    """Map each shown figure file to its link; files outside `directory` are copied in."""
    root = directory.resolve()
    links: dict[Path, str] = {}
    taken: set[str] = set()
    for block in iter_blocks(report):
        if not isinstance(block, Figure):
            continue
        source = block.file(MARKDOWN_FIGURE_PREFERENCE)
        if source in links:
            continue
        resolved = source.resolve()
        if resolved.is_relative_to(root):
            links[source] = quote(resolved.relative_to(root).as_posix())
            continue
        name = _free_name(source, taken)
        taken.add(name)
        with atomic_path(directory / FIGURES_DIR / name) as tmp:
            shutil.copyfile(source, tmp)
        links[source] = f"{FIGURES_DIR}/{quote(name)}"
    return links


def _free_name(source: Path, taken: set[str]) -> str:
    name, number = source.name, 1
    while name in taken:
        number += 1
        name = f"{source.stem}-{number}{source.suffix}"
    return name


def _inline(text: str) -> str:
    return " ".join(text.split())


def _pipe_cell(text: str) -> str:
    return re.sub(r"([\\|*`<\[\]])", r"\\\1", _inline(text))

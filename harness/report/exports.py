"""Table exports beside a report: `<name>.csv` at full precision and `<name>.tex` for papers."""

from __future__ import annotations

from pathlib import Path

from harness.report.document import Table
from harness.store.atomic import write_atomic

TABLES_DIR = "tables"
"""The folder, beside a report, that holds its table exports."""
LATEX_MISSING = "--"
"""How a missing value is typeset."""
_LATEX_SPECIAL = str.maketrans({
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
    "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}",
})


def latex_escape(text: str) -> str:
    """`text` with LaTeX's special characters (`& % $ # _ { } ~ ^ \\ | < >`) made literal."""
    return " ".join(text.split()).translate(_LATEX_SPECIAL)


def table_csv(table: Table) -> str:
    """The table as CSV: every shown column, floats at full (round-trip) precision."""
    return table.data().to_csv(index=False, lineterminator="\n")


def table_latex(table: Table) -> str:
    """The table as a booktabs `tabular` (needs `\\usepackage{booktabs}`), cells as displayed."""
    spec = "".join("r" if numeric else "l" for numeric in table.numeric())
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             _latex_row(table.columns()), r"\midrule"]
    lines += [_latex_row(row) for row in table.rows(missing=LATEX_MISSING)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table_exports(table: Table, directory: Path) -> list[Path]:
    """Write `directory/<name>.csv` and `directory/<name>.tex` atomically; their paths."""
    written = []
    for suffix, text in ((".csv", table_csv(table)), (".tex", table_latex(table))):
        path = directory / f"{table.name}{suffix}"
        data = text.encode("utf-8")
        write_atomic(path, lambda handle, data=data: handle.write(data))
        written.append(path)
    return written


def _latex_row(cells: list[str]) -> str:
    return " & ".join(latex_escape(cell) for cell in cells) + r" \\"

"""Write a report as ONE self-contained HTML file: inline CSS, figures as data URIs, no script.

The page loads nothing from anywhere (a Content-Security-Policy forbids it), so it opens from
disk, from an e-mail attachment or offline, and looks the same in ten years.
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

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
from harness.report.exports import TABLES_DIR, table_csv, table_latex, write_table_exports
from harness.store.atomic import write_atomic

HTML_FIGURE_PREFERENCE = (".svg", ".png")
"""SVG first: it stays sharp at any zoom."""
MISSING = "—"
"""How a missing table value is shown."""
CONTENT_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                  "base-uri 'none'; form-action 'none'")
"""Nothing but inline styles and data-URI images may load: the page is self-contained."""
LINK_SCHEMES = ("http:", "https:", "mailto:")
"""Schemes a Text link may use (besides `#anchors` and relative paths); others stay text."""
_MEDIA = {".svg": "image/svg+xml", ".png": "image/png"}
_INLINE = re.compile(r"`(?P<code>[^`]+)`|\*\*(?P<bold>.+?)\*\*"
                     r"|\[(?P<text>[^\]]+)\]\((?P<url>[^)\s]+)\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
STYLE = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --soft: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
h1 { font-size: 2rem; margin: 0 0 .25rem; }
h2 { font-size: 1.5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
h2, h3, h4, h5, h6 { margin: 2rem 0 .75rem; scroll-margin-top: 1rem; }
a { color: var(--accent); }
.generated { color: var(--muted); margin: 0 0 1.5rem; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: .75rem 1.25rem; margin-bottom: 2rem; }
nav.toc h2 { font-size: 1rem; margin: 0 0 .25rem; border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.25rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .875em; }
:not(pre) > code { background: var(--soft); padding: .1em .3em; border-radius: 4px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: .75rem 1rem; overflow: auto; max-height: 32rem; }
.table { margin: 1.5rem 0; }
.scroll { overflow: auto; max-height: 80vh; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: .5rem .75rem; }
th, td { padding: .35rem .75rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; white-space: nowrap; }
thead th { position: sticky; top: 0; background: var(--soft); z-index: 1; }
tbody tr:nth-child(even) { background: #fbfcfd; }
th.num, td.num { text-align: right; }
.note, .exports, figcaption { color: var(--muted); font-size: .9rem; margin: .4rem 0 0; }
figure { margin: 1.5rem 0; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption strong { color: var(--ink); }
details { border: 1px solid var(--line); border-radius: 6px; padding: .5rem 1rem;
  margin: 1rem 0; }
summary { cursor: pointer; font-weight: 600; }
@media print { .scroll, pre { max-height: none; overflow: visible; } }
"""


def write_html(report: Report, path: Path) -> Path:
    """Write `report` as one self-contained HTML file at `path` (exports beside it); the path."""
    check_report(report)
    for block in iter_blocks(report):
        if isinstance(block, Table):
            write_table_exports(block, path.parent / TABLES_DIR)
    page = render_html(report)
    write_atomic(path, lambda handle: handle.write(page.encode("utf-8")))
    return path


def render_html(report: Report) -> str:
    """The whole page as text (figure files are read and inlined)."""
    slugs: set[str] = set()
    contents, body = [], []
    for section in report.sections:
        entry, html = _section(section, 2, slugs)
        contents.append(entry)
        body.append(html)
    title = escape(report.title)
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_POLICY)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>", f"<style>{STYLE}</style>", "</head>", "<body>", "<main>",
        f"<header><h1>{title}</h1>", f'<p class="generated">{escape(report.generated)}</p>',
        "</header>",
        '<nav class="toc" aria-label="Contents"><h2>Contents</h2>',
        f"<ol>{''.join(contents)}</ol></nav>", *body, "</main>", "</body>", "</html>", "",
    ])


def inline_html(markdown: str) -> str:
    """One paragraph of Markdown as escaped HTML; only `**bold**`, `` `code` `` and links."""
    parts, position = [], 0
    for match in _INLINE.finditer(markdown):
        parts.append(escape(markdown[position:match.start()]))
        if match["code"] is not None:
            parts.append(f"<code>{escape(match['code'])}</code>")
        elif match["bold"] is not None:
            parts.append(f"<strong>{inline_html(match['bold'])}</strong>")
        elif _allowed_link(match["url"]):
            parts.append(f'<a href="{escape(match["url"])}">{inline_html(match["text"])}</a>')
        else:
            parts.append(escape(match[0]))
        position = match.end()
    parts.append(escape(markdown[position:]))
    return "".join(parts)


def _section(section: Section, level: int, slugs: set[str]) -> tuple[str, str]:
    """The section's table-of-contents entry and its HTML."""
    slug = _unique_slug(section.title, slugs)
    heading = min(level, 6)
    children = [_section(subsection, level + 1, slugs) for subsection in section.sections]
    nested = f"<ol>{''.join(entry for entry, _ in children)}</ol>" if children else ""
    entry = f'<li><a href="#{slug}">{escape(section.title)}</a>{nested}</li>'
    html = "\n".join([f'<section id="{slug}">',
                      f"<h{heading}>{escape(section.title)}</h{heading}>",
                      *(_block(block) for block in section.blocks),
                      *(child for _, child in children), "</section>"])
    return entry, html


def _block(block: Block) -> str:
    if isinstance(block, Text):
        paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", block.markdown)]
        return "\n".join(f"<p>{inline_html(part)}</p>" for part in paragraphs if part)
    if isinstance(block, Code):
        language = f' class="language-{escape(block.language)}"' if block.language else ""
        return f"<pre><code{language}>{escape(block.text.rstrip())}</code></pre>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Figure):
        source = block.file(HTML_FIGURE_PREFERENCE)
        uri = _data_uri(_MEDIA[source.suffix.lower()], source.read_bytes())
        caption = f" {inline_html(block.caption)}" if block.caption.strip() else ""
        return "\n".join(["<figure>", f'<img src="{uri}" alt="{escape(block.title)}">',
                          f"<figcaption><strong>{escape(block.title)}</strong>{caption}"
                          "</figcaption>", "</figure>"])
    if isinstance(block, Details):
        inner = "\n".join(_block(child) for child in block.blocks)
        return f"<details>\n<summary>{escape(block.summary)}</summary>\n{inner}\n</details>"
    raise TypeError(f"not a report block: {block!r}")


def _table(table: Table) -> str:
    classes = [' class="num"' if numeric else "" for numeric in table.numeric()]

    def cells(tag: str, values: list[str]) -> str:
        return "".join(f"<{tag}{css}>{escape(value)}</{tag}>"
                       for value, css in zip(values, classes, strict=True))

    head = "<tr>" + cells("th", table.columns()).replace("<th", '<th scope="col"') + "</tr>"
    rows = "\n".join(f"<tr>{cells('td', row)}</tr>" for row in table.rows(missing=MISSING))
    note = f'<p class="note">{inline_html(table.note)}</p>' if table.note.strip() else ""
    csv = _data_uri("text/csv;charset=utf-8", table_csv(table).encode("utf-8"))
    tex = _data_uri("application/x-tex;charset=utf-8", table_latex(table).encode("utf-8"))
    name = escape(table.name)
    exports = (f'<p class="exports">Download <a download="{name}.csv" href="{csv}">CSV</a>'
               f' · <a download="{name}.tex" href="{tex}">LaTeX</a></p>')
    return "\n".join([f'<div class="table" id="table-{name}">', '<div class="scroll">',
                      f"<table><caption>{escape(table.title)}</caption>",
                      f"<thead>{head}</thead>", f"<tbody>\n{rows}\n</tbody>", "</table>",
                      "</div>", note, exports, "</div>"])


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _allowed_link(url: str) -> bool:
    return not _SCHEME.match(url) or url.lower().startswith(LINK_SCHEMES)


def _unique_slug(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    taken.add(slug)
    return slug

"""Report writers: Markdown with exports, one self-contained HTML file, checked in Chromium.

The browser tests skip without Chromium (and fail when HARNESS_REQUIRE_BROWSER=1, as in CI).
`HARNESS_REPORT_SCREENSHOT=docs/report-screenshot.png .venv/bin/python -m pytest
tests/test_report_render.py -q -k screenshot` refreshes the screenshot kept in the docs.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure as PlotFigure
from PIL import Image

from harness.report.document import (
    Code,
    Details,
    Figure,
    Report,
    Section,
    Table,
    Text,
    iter_blocks,
)
from harness.report.exports import latex_escape, write_table_exports
from harness.report.html import inline_html, render_html, write_html
from harness.report.markdown import write_markdown
from harness.store.atomic import write_atomic
from tests import browser

SCREENSHOT_ENV = "HARNESS_REPORT_SCREENSHOT"
"""Where to keep a copy of the screenshot test's picture (e.g. docs/report-screenshot.png)."""
WINDOW = (1280, 2000)
VOID_ELEMENTS = {"meta", "img", "br", "hr", "link", "input", "source", "wbr"}


def _plot(directory: Path, kind: str) -> list[Path]:
    """A small matplotlib figure saved as `directory/curve.png` and `directory/curve.svg`."""
    directory.mkdir(parents=True)
    figure = PlotFigure(figsize=(7, 3.2), layout="constrained")
    axes = figure.add_subplot()
    steps = np.linspace(0, 1e5, 40)
    for rate, algorithm in ((2e4, "ppo"), (5e4, "dqn")):
        returns = 500 * (1 - np.exp(-steps / rate))
        if kind == "curves":
            axes.plot(steps, returns, label=algorithm)
        else:
            axes.bar([algorithm], [returns[-1]])
    axes.set_xlabel("global_step")
    axes.set_ylabel("episodic return")
    if kind == "curves":
        axes.legend()
    files = [directory / "curve.png", directory / "curve.svg"]
    for file in files:
        figure.savefig(file)
    return files


def _sample_report(root: Path) -> Report:
    """Two tables (one with awkward characters and a gap), two figures, details, nesting."""
    aggregate = pd.DataFrame(
        {"env_id": ["CartPole-v1", "CartPole-v1", "Acrobot-v1"],
         "IQM_return": [487.123456789, 451.9, -80.25], "CI low": [470.1, np.nan, -90.0],
         "runs": [10, 10, 10]},
        index=pd.Index(["ppo", "ppo_lr", "dqn | x & 5% #1"], name="exp_name"))
    tests = pd.DataFrame({"pair": ["ppo vs dqn", "ppo vs ppo_lr"],
                          "p_value": [0.0012345678, 0.5], "effect": [1.23456, -0.2]})
    config = json.dumps({"env_id": "CartPole-v1", "learning_rate": 2.5e-4}, indent=2)
    return Report("Classic control: PPO vs DQN", [
        Section("Summary", [
            Text("**PPO** beats DQN on `CartPole-v1`; see [the curves](#learning-curves).\n\n"
                 "Scores are <normalised> & bootstrapped."),
            Table("Aggregate return (IQM, 95% CI)", aggregate, "aggregate_returns",
                  note="Bootstrap CIs over 10 seeds."),
            Table("Pairwise tests", tests, "pairwise_tests", float_format={"p_value": "{:.2e}"}),
        ]),
        Section("Learning curves", [
            Figure("Episodic return against steps", _plot(root / "plots" / "a", "curves"),
                   "Mean over seeds."),
            Figure("Final return", _plot(root / "plots" / "b", "bars")),
        ], sections=[Section("Provenance", [
            Details("Run configs", [Code(config, "json")])])]),
        Section("Summary", [Text("A second section with the same title.")]),
    ], generated="commit abc1234 · 2024-05-01 12:00 UTC")


def _tables(report: Report) -> list[Table]:
    return [block for block in iter_blocks(report) if isinstance(block, Table)]


class _Page(HTMLParser):
    """Collects a page's tags, ids, links and sources, and every structural mismatch."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.srcs: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)
        self.close()
        self.problems += [f"<{tag}> never closed" for tag in self.stack]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        self.tags.append((tag, values))
        self.ids += [values["id"]] if "id" in values else []
        self.hrefs += [values["href"]] if "href" in values else []
        self.srcs += [values["src"]] if "src" in values else []
        if tag not in VOID_ELEMENTS:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()

    def count(self, tag: str, **attrs: str) -> int:
        """How many `tag` elements have all of `attrs` (`class_` is `class`, `_` is `-`)."""
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        return sum(1 for name, values in self.tags if name == tag
                   and all(values.get(key) == value for key, value in wanted.items()))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Report, Path]:
    """The sample report and the folder its figures were drawn in."""
    root = tmp_path_factory.mktemp("report")
    return _sample_report(root), root


@pytest.fixture(scope="module")
def html_page(sample: tuple[Report, Path]) -> Path:
    """The sample report written as HTML."""
    report, root = sample
    return write_html(report, root / "html" / "report.html")


@pytest.fixture(scope="module")
def visited(html_page: Path) -> browser.PageVisit:
    """The sample HTML report as headless Chromium rendered it."""
    return browser.visit(html_page, browser.require_chromium(), *WINDOW)


def test_markdown_has_pipe_tables_exports_and_figure_links_that_exist(
        sample: tuple[Report, Path], tmp_path: Path) -> None:
    report, _ = sample
    path = write_markdown(report, tmp_path / "md")
    text = path.read_text(encoding="utf-8")
    assert path == tmp_path / "md" / "report.md"
    assert text.startswith("# Classic control: PPO vs DQN\n")
    assert re.search(r"^\| exp_name +\| env_id +\| IQM_return \| CI low \| runs \|\n"
                     r"\| -+ \| -+ \| -+: \| -+: \| -+: \|$", text, re.MULTILINE)
    assert re.search(r"^\| dqn \\\| x & 5% #1 +\| Acrobot-v1 +\| +-80\.25 \| +-90 \| +10 \|$",
                     text, re.MULTILINE)
    assert "| 1.23e-03 |" in text and "—" in text
    assert "#### Run configs" in text and '```json\n{\n  "env_id"' in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links == ["figures/curve.png", "figures/curve-2.png"]
    assert all((path.parent / link).is_file() for link in links)
    for table in _tables(report):
        assert f"(tables/{table.name}.csv)" in text
        assert (path.parent / "tables" / f"{table.name}.tex").is_file()
    assert not [file for file in (tmp_path / "md").rglob("*.tmp")]


def test_markdown_links_figures_inside_its_directory_without_copying(tmp_path: Path) -> None:
    files = _plot(tmp_path / "out" / "plots", "curves")
    report = Report("r", [Section("s", [Figure("curve", files)])], generated="now")
    text = write_markdown(report, tmp_path / "out").read_text(encoding="utf-8")
    assert "![curve](plots/curve.png)" in text
    assert not (tmp_path / "out" / "figures").exists()


def test_csv_export_round_trips_at_full_precision(sample: tuple[Report, Path],
                                                  tmp_path: Path) -> None:
    for table in _tables(sample[0]):
        csv, _ = write_table_exports(table, tmp_path)
        pd.testing.assert_frame_equal(pd.read_csv(csv), table.data(), check_exact=True)


def test_latex_export_is_booktabs_with_special_characters_escaped(
        sample: tuple[Report, Path], tmp_path: Path) -> None:
    table = _tables(sample[0])[0]
    _, tex = write_table_exports(table, tmp_path)
    text = tex.read_text(encoding="utf-8")
    assert text.startswith("\\begin{tabular}{llrrr}\n\\toprule\n")
    assert "\\midrule" in text and text.endswith("\\bottomrule\n\\end{tabular}\n")
    assert "exp\\_name & env\\_id & IQM\\_return & CI low & runs \\\\" in text
    assert "dqn \\textbar{} x \\& 5\\% \\#1 & Acrobot-v1 & -80.25 & -90 & 10 \\\\" in text
    assert "ppo\\_lr & CartPole-v1 & 451.9 & -- & 10" in text
    assert "_" not in text.replace("\\_", "")


@pytest.mark.parametrize(("raw", "escaped"), [
    ("a&b", r"a\&b"), ("5%", r"5\%"), ("$x$", r"\$x\$"), ("#1", r"\#1"), ("a_b", r"a\_b"),
    ("{x}", r"\{x\}"), ("~", r"\textasciitilde{}"), ("^", r"\textasciicircum{}"),
    ("\\", r"\textbackslash{}"), ("\\_", r"\textbackslash{}\_"),
])
def test_latex_escape_makes_each_special_character_literal(raw: str, escaped: str) -> None:
    assert latex_escape(raw) == escaped


def test_two_tables_with_one_name_are_refused_naming_it_and_nothing_is_written(
        tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0]})
    report = Report("r", [Section("a", [Table("one", frame, "scores")]),
                          Section("b", [Details("more", [Table("two", frame, "scores")])])],
                    generated="now")
    for write in (lambda: write_markdown(report, tmp_path / "md"),
                  lambda: write_html(report, tmp_path / "page.html")):
        with pytest.raises(ValueError, match="'scores'"):
            write()
    assert list(tmp_path.iterdir()) == []


def test_a_missing_figure_file_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "curve.png"
    report = Report("r", [Section("a", [Figure("curve", [missing])])], generated="now")
    for write in (lambda: write_markdown(report, tmp_path / "md"),
                  lambda: write_html(report, tmp_path / "page.html")):
        with pytest.raises(ValueError, match=re.escape(str(missing))):
            write()


def test_tables_refuse_unsafe_names_and_formats_for_unknown_columns() -> None:
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ValueError, match="file-safe"):
        Table("t", frame, "../escape")
    with pytest.raises(ValueError, match=r"unknown columns \['y'\]"):
        Table("t", frame, "t", float_format={"y": "{:.2f}"})
    with pytest.raises(ValueError, match="'{:d}'"):
        Table("t", frame, "t", float_format="{:d}")


def test_html_text_escapes_everything_but_bold_code_and_safe_links() -> None:
    rendered = inline_html("<b>x</b> & **y `<z>`** [a](#s) [bad](javascript:alert(1))")
    assert rendered == ("&lt;b&gt;x&lt;/b&gt; &amp; <strong>y <code>&lt;z&gt;</code></strong> "
                        '<a href="#s">a</a> [bad](javascript:alert(1))')


def test_html_is_one_self_contained_well_formed_file(sample: tuple[Report, Path],
                                                    html_page: Path) -> None:
    text = html_page.read_text(encoding="utf-8")
    page = _Page(text)
    assert page.problems == []
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    assert page.srcs and all(src.startswith("data:image/") for src in page.srcs)
    assert not page.count("script") and not page.count("link") and "url(" not in text
    assert page.count("meta", http_equiv="Content-Security-Policy") == 1
    internal = [href[1:] for href in page.hrefs if href.startswith("#")]
    assert set(internal) <= set(page.ids) and len(page.ids) == len(set(page.ids))
    assert {"summary", "summary-2", "learning-curves", "provenance"} <= set(internal)
    assert "&lt;normalised&gt; &amp; bootstrapped" in text
    assert text == render_html(sample[0])


def test_html_download_links_carry_the_exports(sample: tuple[Report, Path],
                                               html_page: Path) -> None:
    page = _Page(html_page.read_text(encoding="utf-8"))
    for table in _tables(sample[0]):
        for suffix in (".csv", ".tex"):
            link = next(values["href"] for tag, values in page.tags
                        if tag == "a" and values.get("download") == f"{table.name}{suffix}")
            exported = html_page.parent / "tables" / f"{table.name}{suffix}"
            assert base64.b64decode(link.split(",", 1)[1]) == exported.read_bytes()


def test_browser_renders_every_table_and_figure(sample: tuple[Report, Path],
                                               visited: browser.PageVisit) -> None:
    page = _Page(visited.dom)
    for table in _tables(sample[0]):
        assert f'id="table-{table.name}"' in visited.dom
        assert f"<caption>{table.title}</caption>" in visited.dom
    assert page.count("table") == 2 and page.count("thead") == 2
    assert page.count("tr") == 2 + 3 + 2
    assert page.count("td", class_="num") == 3 * 3 + 2 * 2
    assert page.count("img") == 2 and visited.broken_images == ()
    assert page.count("details") == 1 and page.count("nav", class_="toc") == 1
    assert visited.scroll_width <= WINDOW[0]


def test_browser_sees_no_console_errors_and_no_request_leaves_the_disk(
        html_page: Path, visited: browser.PageVisit) -> None:
    assert visited.errors == ()
    assert visited.requests[0] == html_page.resolve().as_uri()
    assert all(url.startswith(("file:", "data:")) for url in visited.requests)


def test_browser_reports_broken_scripts_failed_loads_and_console_errors(
        tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><img alt='gone' src='missing.png'>"
                    "<script>oops(;</script><script>console.error('said-error');"
                    "undefinedFunction();</script></body></html>", encoding="utf-8")
    seen = browser.visit(page, browser.require_chromium(), 400, 300)
    assert any("SyntaxError" in error for error in seen.errors)
    assert any("undefinedFunction is not defined" in error for error in seen.errors)
    assert "said-error" in seen.errors
    assert any("missing.png" in error for error in seen.errors)
    assert seen.broken_images == ("gone",)


def test_screenshot_is_a_non_blank_png_of_the_window_size(visited: browser.PageVisit) -> None:
    picture = Image.open(io.BytesIO(visited.screenshot))
    assert picture.format == "PNG" and picture.size == WINDOW
    colours = picture.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50
    assert max(count for count, _ in colours) < 0.97 * WINDOW[0] * WINDOW[1]
    if os.environ.get(SCREENSHOT_ENV):
        write_atomic(Path(os.environ[SCREENSHOT_ENV]),
                     lambda handle: handle.write(visited.screenshot))


@pytest.mark.parametrize(("required", "outcome"), [("1", pytest.fail.Exception),
                                                   ("", pytest.skip.Exception)])
def test_a_missing_browser_skips_or_fails_with_install_instructions(
        monkeypatch: pytest.MonkeyPatch, required: str, outcome: type[BaseException]) -> None:
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    monkeypatch.setenv(browser.REQUIRE_ENV, required)
    with pytest.raises(outcome, match=re.escape("apt-get install -y chromium")):
        browser.require_chromium()

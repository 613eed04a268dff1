"""Figures of the analysis layer, each written as `<stem>.png` and `<stem>.svg`.

Every function takes one tidy table with fixed columns (documented per function), draws on a
`matplotlib.figure.Figure` with the Agg canvas (no pyplot, no global figure state) and returns
the two paths written. The SVG is byte-for-byte reproducible: its ids come from a fixed
`svg.hashsalt` and it carries no date. Each algorithm's artists carry an SVG id (`gid`) naming
their role and the algorithm's position in the legend order, e.g. `curve-0`, `band-0`,
`interval-2-0` (panel 2, algorithm 0), so a reader of the SVG finds one group per algorithm.

Colours are stable per exp_name: `algorithm_colors(names)` gives each name of the sorted set
its colour of the tab10 (or, past ten names, tab20) palette; pass the same mapping, made
from every exp_name of a report, as `colors=` to each plot so subsets keep their colours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.names import GLOBAL_STEP

SVG_HASH_SALT = "rl-harness"
"""Fixed salt for the ids matplotlib writes into SVG files: re-rendering gives the same bytes."""
DPI = 150
X_LABELS = {GLOBAL_STEP: "environment steps", "wall_time": "wall time (s)"}
"""Axis label per learning-curve x axis (`x_name` column)."""
BAND_ALPHA = 0.2


def algorithm_colors(names: Iterable[str]) -> dict[str, str]:
    """A hex colour per distinct name: the sorted names take tab10 in turn (tab20 past 10)."""
    ordered = sorted({str(name) for name in names})
    if not ordered:
        raise ValueError("no algorithm names to colour")
    palette = matplotlib.colormaps["tab10" if len(ordered) <= 10 else "tab20"]
    count = palette.N
    return {name: matplotlib.colors.to_hex(palette(i % count)) for i, name in
            enumerate(ordered)}


def _checked(table: pd.DataFrame, columns: Sequence[str], what: str) -> pd.DataFrame:
    """`table` if it has rows and every column of `columns`, else ValueError."""
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{what} must be a pandas DataFrame, not {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)} "
                         f"(needs {', '.join(columns)})")
    if table.empty:
        raise ValueError(f"{what} is empty: nothing to plot")
    return table


def _palette(names: Sequence[str], colors: Mapping[str, str] | None) -> dict[str, str]:
    if colors is None:
        return algorithm_colors(names)
    missing = [n for n in names if n not in colors]
    if missing:
        raise ValueError(f"colors has no colour for {', '.join(missing)}")
    return {n: colors[n] for n in names}


def _order(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance."""
    return [str(v) for v in dict.fromkeys(values.astype(str))]


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    return figure, list(axes)


def _save(figure: Figure, stem: str | Path) -> list[Path]:
    """Write `<stem>.png` and `<stem>.svg` (reproducible); return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png, svg = stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")
    figure.savefig(png, format="png", dpi=DPI)
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASH_SALT}):
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


def _curves(axis: Axes, table: pd.DataFrame, x: str, colors: Mapping[str, str] | None,
            step: bool = False) -> None:
    """One line per exp_name with its `lower`..`upper` band, in order of appearance."""
    names = _order(table["exp_name"])
    palette = _palette(names, colors)
    where = "post" if step else None
    for index, name in enumerate(names):
        rows = table[table["exp_name"].astype(str) == name].sort_values(x, kind="stable")
        at = rows[x].to_numpy(np.float64)
        lower, upper = rows["lower"].to_numpy(np.float64), rows["upper"].to_numpy(np.float64)
        color = palette[name]
        band = ~(np.isnan(lower) | np.isnan(upper))
        if band.any():
            axis.fill_between(at, lower, upper, where=band, color=color, alpha=BAND_ALPHA,
                              linewidth=0, step=where, gid=f"band-{index}")
        draw = axis.step if step else axis.plot
        kwargs = {"where": "post"} if step else {}
        (line,) = draw(at, rows["estimate"].to_numpy(np.float64), color=color, label=name,
                       linewidth=1.5, **kwargs)
        line.set_gid(f"curve-{index}")
    axis.legend(loc="best", fontsize="small", frameon=False)
    axis.grid(alpha=0.3)


def plot_learning_curves(curves: pd.DataFrame, stem: str | Path, *, title: str | None = None,
                         colors: Mapping[str, str] | None = None) -> list[Path]:
    """Learning curves of one env_id: one line per exp_name with its CI band.

    `curves` is `curves.learning_curves(...)` for one env_id: columns `exp_name, env_id, x,
    estimate, lower, upper` (NaN band: drawn without one), and optionally `x_name`
    (`global_step` or `wall_time`, the x label) and `metric` (the y label). With a `seeds`
    column, points where fewer than half of an exp_name's seeds stand (the ends, where runs
    stopped logging at different steps) are not drawn. The title defaults to the env_id."""
    table = _checked(curves, ["exp_name", "env_id", "x", "estimate", "lower", "upper"],
                     "curves")
    if "seeds" in table.columns:
        most = table.groupby("exp_name", observed=True)["seeds"].transform("max")
        table = table[2 * table["seeds"] >= most]
    envs = _order(table["env_id"])
    if len(envs) != 1:
        raise ValueError(f"curves hold {len(envs)} env_ids ({', '.join(envs)}); "
                         "plot one env_id per figure")
    figure, (axis,) = _figure(6.4, 4.2)
    _curves(axis, table, "x", colors)
    x_name = _order(table["x_name"])[0] if "x_name" in table.columns else "x"
    axis.set_xlabel(X_LABELS.get(x_name, x_name))
    axis.set_ylabel(_order(table["metric"])[0] if "metric" in table.columns else "score")
    axis.set_title(envs[0] if title is None else title)
    return _save(figure, stem)


def _intervals(axis: Axes, rows: pd.DataFrame, labels: list[str], colors: list[str],
               gid: str) -> None:
    """Horizontal `lower`..`upper` bars with a tick at `estimate`, first row at the top."""
    y = np.arange(len(rows))[::-1]
    lower, upper = rows["lower"].to_numpy(np.float64), rows["upper"].to_numpy(np.float64)
    estimate = rows["estimate"].to_numpy(np.float64)
    bars = axis.barh(y, upper - lower, left=lower, height=0.6, color=colors, alpha=0.75)
    for index, bar in enumerate(bars):
        bar.set_gid(f"{gid}-{index}")
    axis.vlines(estimate, y - 0.3, y + 0.3, colors="black", linewidth=1.5)
    values = np.concatenate([lower, upper, estimate])
    low, high = np.nanmin(values), np.nanmax(values)
    pad = 0.08 * (high - low) if high > low else max(0.05 * abs(high), 0.05)
    axis.set_xlim(low - pad, high + pad)  # intervals at the edge stay visible
    axis.set_yticks(y, labels)
    axis.set_ylim(-0.6, len(rows) - 0.4)
    axis.grid(axis="x", alpha=0.3)


def plot_aggregates(table: pd.DataFrame, stem: str | Path, *,
                    colors: Mapping[str, str] | None = None) -> list[Path]:
    """One panel per statistic (e.g. IQM, Median, Mean, Optimality Gap), a horizontal interval
    per algorithm with a tick at its estimate.

    `table` columns: `exp_name, statistic, estimate, lower, upper`, one row per pair; panels
    and algorithms in order of first appearance."""
    table = _checked(table, ["exp_name", "statistic", "estimate", "lower", "upper"],
                     "aggregate table")
    statistics, names = _order(table["statistic"]), _order(table["exp_name"])
    palette = _palette(names, colors)
    figure, axes = _figure(2.6 * len(statistics) + 1.2, 0.45 * len(names) + 1.2,
                           len(statistics))
    for panel, (axis, statistic) in enumerate(zip(axes, statistics, strict=True)):
        rows = table[table["statistic"].astype(str) == statistic]
        rows = rows.set_index(rows["exp_name"].astype(str)).reindex(names)
        if rows["estimate"].isna().all():
            raise ValueError(f"statistic {statistic!r} has no estimate")
        _intervals(axis, rows, names if panel == 0 else [""] * len(names),
                   [palette[n] for n in names], f"interval-{panel}")
        axis.set_title(statistic)
    figure.supxlabel("normalized score")
    return _save(figure, stem)


def plot_performance_profiles(table: pd.DataFrame, stem: str | Path, *,
                              colors: Mapping[str, str] | None = None) -> list[Path]:
    """Performance profiles: per exp_name a step curve of the fraction of runs scoring above
    tau, with its band.

    `table` columns: `exp_name, tau, fraction, lower, upper`, one row per algorithm and tau."""
    table = _checked(table, ["exp_name", "tau", "fraction", "lower", "upper"],
                     "performance profile table")
    figure, (axis,) = _figure(6.4, 4.2)
    _curves(axis, table.rename(columns={"fraction": "estimate"}), "tau", colors, step=True)
    axis.set_xlabel(r"normalized score $\tau$")
    axis.set_ylabel(r"fraction of runs with score $> \tau$")
    axis.set_ylim(-0.02, 1.02)
    return _save(figure, stem)


def plot_probability_of_improvement(table: pd.DataFrame, stem: str | Path, *,
                                    colors: Mapping[str, str] | None = None) -> list[Path]:
    """P(X > Y) per pair as a horizontal interval (coloured by X), a dashed line at 0.5.

    `table` columns: `exp_name_x, exp_name_y, estimate, lower, upper`, one row per pair, in
    the order drawn from the top."""
    table = _checked(table, ["exp_name_x", "exp_name_y", "estimate", "lower", "upper"],
                     "probability of improvement table")
    xs, ys = table["exp_name_x"].astype(str).tolist(), table["exp_name_y"].astype(str).tolist()
    palette = _palette(list(dict.fromkeys(xs + ys)), colors)
    labels = [f"{x} vs {y}" for x, y in zip(xs, ys, strict=True)]
    # long names (a sweep's configurations) need room beside the axis: wider, and on two lines
    if max(len(label) for label in labels) > 40:
        labels = [f"{x}\nvs {y}" for x, y in zip(xs, ys, strict=True)]
    width = max(len(line) for label in labels for line in label.split("\n"))
    figure, (axis,) = _figure(max(6.4, 3.5 + 0.075 * width),
                              (0.75 if "\n" in labels[0] else 0.45) * len(table) + 1.2)
    _intervals(axis, table, labels, [palette[x] for x in xs], "pair")
    axis.axvline(0.5, color="grey", linestyle="--", linewidth=1)
    axis.set_xlim(0.0, 1.0)
    axis.set_xlabel("P(X > Y)")
    return _save(figure, stem)


def plot_sample_efficiency(table: pd.DataFrame, stem: str | Path, *,
                           ylabel: str = "IQM normalized score",
                           colors: Mapping[str, str] | None = None) -> list[Path]:
    """Aggregate score over tasks against environment steps: a line per exp_name with its band.

    `table` columns: `exp_name, global_step, estimate, lower, upper` (e.g. the IQM over tasks of
    normalized scores at each step)."""
    table = _checked(table, ["exp_name", GLOBAL_STEP, "estimate", "lower", "upper"],
                     "sample efficiency table")
    figure, (axis,) = _figure(6.4, 4.2)
    _curves(axis, table, GLOBAL_STEP, colors)
    axis.set_xlabel(X_LABELS[GLOBAL_STEP])
    axis.set_ylabel(ylabel)
    return _save(figure, stem)


def plot_sweep(table: pd.DataFrame, parameter: str, stem: str | Path, *,
               ylabel: str = "IQM score") -> list[Path]:
    """One sweep's configurations: score against one swept hyperparameter, a point with its
    interval per configuration, the best one starred; log x when the values are positive and
    span a factor of 10 or more.

    `table` columns: `exp_name, rank, iqm, lower, upper` and `parameter` (one sweep's rows of
    `sweeps.sweep_table`)."""
    table = _checked(table, ["exp_name", "rank", "iqm", "lower", "upper", parameter],
                     "sweep table")
    x = pd.to_numeric(table[parameter], errors="coerce").to_numpy(np.float64)
    if np.isnan(x).any():
        raise ValueError(f"sweep parameter {parameter!r} has non-numeric values")
    y = table["iqm"].to_numpy(np.float64)
    below = y - table["lower"].to_numpy(np.float64)
    above = table["upper"].to_numpy(np.float64) - y
    figure, (axis,) = _figure(6.4, 4.2)
    axis.errorbar(x, y, yerr=np.vstack([below, above]), fmt="o", color="tab:blue",
                  ecolor="tab:blue", alpha=0.8, capsize=3, gid="configurations")
    best = int(np.argmin(table["rank"].to_numpy()))
    axis.plot([x[best]], [y[best]], marker="*", markersize=14, color="tab:orange",
              linestyle="none", label=f"best: {table['exp_name'].iloc[best]}", gid="best")
    if x.min() > 0 and x.max() >= 10 * x.min():
        axis.set_xscale("log")
    axis.set_xlabel(parameter)
    axis.set_ylabel(ylabel)
    axis.legend(loc="best", fontsize="small", frameon=False)
    axis.grid(alpha=0.3)
    return _save(figure, stem)

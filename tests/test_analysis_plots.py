"""Plots: each writes a PNG and a reproducible SVG with one group per algorithm; bad tables fail."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis import plots

NAMES = ["ppo", "dqn", "sac"]
STATISTICS = ["IQM", "Median", "Mean", "Optimality Gap"]
SVG = "{http://www.w3.org/2000/svg}"


def _bands(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(lower=frame[column] - 0.1, upper=frame[column] + 0.1)


def learning_table() -> pd.DataFrame:
    x = np.linspace(0, 1000, 30)
    parts = [pd.DataFrame({"exp_name": name, "env_id": "CartPole-v1", "x_name": "global_step",
                           "metric": "charts/episodic_return", "x": x, "estimate": x / 1000 + i,
                           "seeds": 3}) for i, name in enumerate(NAMES)]
    table = _bands(pd.concat(parts, ignore_index=True), "estimate")
    table.loc[0, ["lower", "upper"]] = np.nan  # a point where one seed stands: no band
    return table


def aggregate_table() -> pd.DataFrame:
    rows = [{"exp_name": name, "statistic": statistic, "estimate": 0.1 * (i + j)}
            for j, statistic in enumerate(STATISTICS) for i, name in enumerate(NAMES)]
    return _bands(pd.DataFrame(rows), "estimate")


def profile_table() -> pd.DataFrame:
    tau = np.linspace(0, 2, 25)
    parts = [pd.DataFrame({"exp_name": name, "tau": tau,
                           "fraction": np.clip(1 - tau / (2 + i), 0, 1)})
             for i, name in enumerate(NAMES)]
    return _bands(pd.concat(parts, ignore_index=True), "fraction")


def improvement_table() -> pd.DataFrame:
    pairs = [("ppo", "dqn", 0.7), ("ppo", "sac", 0.4), ("dqn", "sac", 0.5)]
    return _bands(pd.DataFrame(pairs, columns=["exp_name_x", "exp_name_y", "estimate"]),
                  "estimate")


def efficiency_table() -> pd.DataFrame:
    steps = np.linspace(0, 1e5, 20)
    parts = [pd.DataFrame({"exp_name": name, "global_step": steps, "estimate": steps / 1e5 * i})
             for i, name in enumerate(NAMES)]
    return _bands(pd.concat(parts, ignore_index=True), "estimate")


Plot = Callable[..., list[Path]]
CASES: list[tuple[Plot, Callable[[], pd.DataFrame], list[str]]] = [
    (plots.plot_learning_curves, learning_table, ["curve"]),
    (plots.plot_aggregates, aggregate_table, [f"interval-{i}" for i in range(len(STATISTICS))]),
    (plots.plot_performance_profiles, profile_table, ["curve"]),
    (plots.plot_probability_of_improvement, improvement_table, ["pair"]),
    (plots.plot_sample_efficiency, efficiency_table, ["curve"]),
]
IDS = [plot.__name__ for plot, _, _ in CASES]


def group_ids(svg: Path) -> list[str]:
    """The ids of every SVG group."""
    return [g.get("id", "") for g in ET.parse(svg).getroot().iter(f"{SVG}g")]


@pytest.mark.parametrize(("plot", "make", "roles"), CASES, ids=IDS)
def test_each_plot_writes_a_png_and_an_svg_with_one_group_per_algorithm(
        tmp_path: Path, plot: Plot, make: Callable[[], pd.DataFrame], roles: list[str]) -> None:
    table = make()
    png, svg = plot(table, tmp_path / "figure")
    assert (png.name, svg.name) == ("figure.png", "figure.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ids = group_ids(svg)
    for role in roles:
        found = sorted(i for i in ids if re.fullmatch(rf"{role}-\d+", i))
        assert found == [f"{role}-{n}" for n in range(len(table) if role == "pair"
                                                      else len(NAMES))]


@pytest.mark.parametrize(("plot", "make", "roles"), CASES, ids=IDS)
def test_each_plot_renders_the_same_svg_twice(tmp_path: Path, plot: Plot,
                                              make: Callable[[], pd.DataFrame],
                                              roles: list[str]) -> None:
    _, first = plot(make(), tmp_path / "a" / "figure")
    _, second = plot(make(), tmp_path / "b" / "figure")
    assert first.read_bytes() == second.read_bytes()
    assert b"<dc:date>" not in first.read_bytes()


def test_learning_curves_draw_bands_only_where_they_exist(tmp_path: Path) -> None:
    _, svg = plots.plot_learning_curves(learning_table(), tmp_path / "curves")
    assert sorted(i for i in group_ids(svg) if i.startswith("band-")) == \
        ["band-0", "band-1", "band-2"]
    single = learning_table().assign(lower=np.nan, upper=np.nan)
    _, svg = plots.plot_learning_curves(single, tmp_path / "single")
    assert not [i for i in group_ids(svg) if i.startswith("band-")]


def test_a_given_colour_mapping_colours_each_algorithm(tmp_path: Path) -> None:
    colors = {"ppo": "#123456", "dqn": "#abcdef", "sac": "#00ff00", "td3": "#ff0000"}
    _, svg = plots.plot_sample_efficiency(efficiency_table(), tmp_path / "eff", colors=colors)
    root = ET.parse(svg).getroot()
    for index, name in enumerate(NAMES):
        group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == f"curve-{index}")
        assert f"stroke: {colors[name]}" in ET.tostring(group, encoding="unicode")


def test_algorithm_colors_depend_on_the_set_of_names_only() -> None:
    colors = plots.algorithm_colors(["sac", "ppo", "dqn", "ppo"])
    assert colors == plots.algorithm_colors(["dqn", "ppo", "sac"])
    assert len(set(colors.values())) == 3


@pytest.mark.parametrize(("plot", "make", "roles"), CASES, ids=IDS)
def test_each_plot_rejects_an_empty_table(tmp_path: Path, plot: Plot,
                                          make: Callable[[], pd.DataFrame],
                                          roles: list[str]) -> None:
    with pytest.raises(ValueError, match="is empty"):
        plot(make().iloc[:0], tmp_path / "empty")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("plot", "make", "roles"), CASES, ids=IDS)
def test_each_plot_names_the_columns_its_table_lacks(tmp_path: Path, plot: Plot,
                                                     make: Callable[[], pd.DataFrame],
                                                     roles: list[str]) -> None:
    with pytest.raises(ValueError, match="lacks column.*upper"):
        plot(make().drop(columns="upper"), tmp_path / "bad")


def test_learning_curves_of_two_envs_are_rejected(tmp_path: Path) -> None:
    table = learning_table()
    table.loc[table.index[-1], "env_id"] = "Acrobot-v1"
    with pytest.raises(ValueError, match="2 env_ids"):
        plots.plot_learning_curves(table, tmp_path / "two")


def test_a_colour_mapping_missing_an_algorithm_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no colour for sac"):
        plots.plot_aggregates(aggregate_table(), tmp_path / "agg",
                              colors={"ppo": "#000000", "dqn": "#111111"})


def test_learning_curves_leave_out_ends_where_fewer_than_half_the_seeds_stand(
        tmp_path: Path) -> None:
    table = learning_table()
    table.loc[table["x"] > 900, "seeds"] = 1  # the last runs still logging, 1 of 3 seeds
    _, svg = plots.plot_learning_curves(table, tmp_path / "ends")
    curve = next(g for g in ET.parse(svg).getroot().iter(f"{SVG}g") if g.get("id") == "curve-0")
    drawn = next(curve.iter(f"{SVG}path")).get("d").count("L") + 1
    assert drawn == int((np.linspace(0, 1000, 30) <= 900).sum())

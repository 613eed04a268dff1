"""Assemble the report of one or more suites: per-task and aggregate tables, every environment's
learning curves, the AdaStop decisions, runtimes, and each run's config and provenance.

`write_report` builds everything in a fresh directory beside the destination and swaps it into
place at the end, so a reader sees the previous report or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness import __version__, results
from harness.analysis import plots
from harness.analysis.adastop import AdaStopInputError, scores_comparison
from harness.analysis.curves import learning_curves
from harness.analysis.errors import AnalysisError
from harness.analysis.scores import (
    ScoreArrays,
    Suites,
    normalize,
    run_scores,
    score_arrays,
    suite_list,
)
from harness.analysis.sweeps import SWEEP_COLUMNS, sweep_table, swept_parameters
from harness.analysis.tables import (
    ONE_SEED,
    aggregate_table,
    improvement_table,
    profile_table,
    runtime_table,
    sample_efficiency_table,
    task_table,
)
from harness.names import EPISODE_RETURN
from harness.references import load_normalization
from harness.report.document import (
    Block,
    Code,
    Details,
    Figure,
    Report,
    Section,
    Table,
    Text,
)
from harness.report.html import write_html
from harness.report.markdown import write_markdown
from harness.scores import DEFAULT_REDUCTION, Reduction
from harness.store import RunRecord
from harness.store.provenance import git_state
from harness.store.record import utc_now

FIGURES = "figures"
MAX_PAIRED = 5
"""With more algorithms (a sweep's configurations), P(X > Y) is shown for the best only."""
HTML_FILE = "report.html"


@dataclass(frozen=True)
class AdaStopSettings:
    """AdaStop's parameters for the report's comparisons."""

    n: int = 5
    K: int = 5
    alpha: float = 0.05
    B: int = 10_000


@dataclass(frozen=True)
class ReportSettings:
    """What a report computes and how."""

    reduction: Reduction = DEFAULT_REDUCTION
    exp_name: tuple[str, ...] | None = None
    env_id: tuple[str, ...] | None = None
    reps: int = 50_000
    """Bootstrap replicates of the aggregate intervals (rliable's recommendation)."""
    band_reps: int = 2_000
    """Bootstrap replicates of profile, improvement and curve bands."""
    confidence: float = 0.95
    method: str = "percentile"
    seed: int = 0
    x: str = "global_step"
    metric: str = EPISODE_RETURN
    """The metric of the learning curves."""
    adastop: AdaStopSettings = field(default_factory=AdaStopSettings)


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written."""

    directory: Path
    markdown: Path
    html: Path


class _Builder:
    """Computes the report's tables and figures into `directory`."""

    def __init__(self, suites: Suites, root: str | Path | None, directory: Path,
                 settings: ReportSettings) -> None:
        self.suites = suite_list(suites)
        self.root = root
        self.figures = directory / FIGURES
        self.figures.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.scores = run_scores(self.suites, root=root, reduction=settings.reduction,
                                 exp_name=settings.exp_name, env_id=settings.env_id)
        self.colors = plots.algorithm_colors(sorted(self.scores["exp_name"].unique()))
        self.normalization = load_normalization()
        """The declared random and reference scores, read once for every section."""

    def overview(self) -> Section:
        scores, settings = self.scores, self.settings
        lines = [f"**{len(scores)}** finished runs of **{scores['exp_name'].nunique()}** "
                 f"algorithms on **{scores['env_id'].nunique()}** environments, from "
                 + ", ".join(f"`{s}`" for s in self.suites) + ".",
                 f"Final score: {settings.reduction.describe()} (`{settings.reduction.key}`).",
                 f"Intervals: {settings.confidence:.0%} stratified bootstrap ({settings.method}, "
                 f"{settings.reps:,} replicates for aggregates, {settings.band_reps:,} for "
                 f"bands), seed {settings.seed}."]
        return Section("Overview", [Text("\n\n".join(lines))])

    def per_task(self) -> Section:
        table = task_table(self.scores)
        return Section("Scores per task", [Table(
            "Final score per algorithm and environment", table, "per_task",
            note="std over seeds (ddof 1); IQM: the mean of the middle 50% of seeds; reference: "
                 "published score from suites/references/ (* not comparable)")])

    def _normalised(self) -> tuple[ScoreArrays | None, str, pd.DataFrame | None]:
        """Score arrays for the aggregates, their scale, and the normalisation used."""
        table = self.normalization
        try:
            return score_arrays(normalize(self.scores, table)), "normalized score", table
        except AnalysisError as err:
            if self.scores["env_id"].nunique() == 1:
                return score_arrays(self.scores, "score"), "score", None
            return None, str(err), None

    def aggregates(self) -> Section:
        arrays, scale, normalization = self._normalised()
        if arrays is None:
            return Section("Aggregates", [Text(
                f"No aggregate over tasks: {scale}. Scores of different environments are only "
                "comparable once normalised by declared random and reference scores.")])
        settings, blocks = self.settings, []
        if arrays.dropped:
            blocks.append(Text("Left out of the aggregates (not run by every algorithm): "
                               + ", ".join(f"`{t}`" for t in arrays.dropped) + "."))
        aggregate = aggregate_table(arrays, reps=settings.reps, confidence=settings.confidence,
                                    method=settings.method, seed=settings.seed)
        note = f"{ONE_SEED}: {', '.join(arrays.single_run)}" if arrays.single_run else ""
        blocks += [Table(f"Aggregate {scale} over {len(arrays.tasks)} tasks", aggregate,
                         "aggregates", note=note),
                   Figure("Aggregate estimates", plots.plot_aggregates(
                       aggregate, self.figures / "aggregates", colors=self.colors),
                       f"{settings.confidence:.0%} intervals")]
        profile = profile_table(arrays, reps=settings.band_reps, confidence=settings.confidence,
                                seed=settings.seed)
        blocks.append(Figure("Performance profiles", plots.plot_performance_profiles(
            profile, self.figures / "profiles", colors=self.colors),
            f"share of runs with a {scale} above tau, averaged over tasks"))
        pairs, title = None, "Probability of improvement P(X > Y)"
        if len(arrays.arrays) > MAX_PAIRED:
            best = aggregate[aggregate["statistic"] == "IQM"].sort_values(
                "estimate", ascending=False)["exp_name"].iloc[0]
            pairs = [(best, other) for other in sorted(arrays.arrays) if other != best]
            title += f" of the best by IQM, {best}, over each other algorithm"
        improvement = improvement_table(arrays, pairs, reps=settings.band_reps,
                                        confidence=settings.confidence, seed=settings.seed)
        if not improvement.empty:
            blocks += [Table(title, improvement, "improvement"),
                       Figure("Probability of improvement",
                                    plots.plot_probability_of_improvement(
                                        improvement, self.figures / "improvement",
                                        colors=self.colors))]
        efficiency = sample_efficiency_table(
            self.scores[self.scores["env_id"].isin(arrays.tasks)], self.suites, root=self.root,
            normalization=normalization, reps=settings.band_reps,
            confidence=settings.confidence, seed=settings.seed)
        blocks.append(Figure("Sample efficiency", plots.plot_sample_efficiency(
            efficiency, self.figures / "sample_efficiency", ylabel=f"IQM {scale}",
            colors=self.colors), "IQM over runs and tasks of the last-100-episode score at "
            "each step"))
        return Section("Aggregates", blocks)

    def sweeps(self) -> Section | None:
        """Each sweep's configurations ranked, and its score against each swept value."""
        settings = self.settings
        try:
            table = sweep_table(self.scores, self.suites, root=self.root,
                                normalization=self.normalization, reps=settings.band_reps,
                                confidence=settings.confidence, seed=settings.seed)
        except AnalysisError as err:
            return Section("Sweeps", [Text(f"No sweep ranking: {err}.")])
        if table.empty:
            return None
        blocks: list[Block] = []
        for i, (name, rows) in enumerate(table.groupby("sweep", sort=True)):
            parameters = swept_parameters(table, str(name))
            rows = rows[[*SWEEP_COLUMNS, *parameters]].drop(columns="sweep")
            scale = "IQM normalized score" if rows["tasks"].iloc[0] > 1 else "IQM score"
            best = ", ".join(f"`{row.exp_name}` {row.iqm:.4g} [{row.lower:.4g}, "
                             f"{row.upper:.4g}]" for row in rows.head(3).itertuples())
            blocks += [Text(f"**{name}**: {len(rows)} configurations ranked by the {scale} "
                            f"of their runs; best: {best}."),
                       Table(f"Configurations of {name}, best first", rows, f"sweep-{i}")]
            blocks += [Figure(f"{name}: {scale} against {parameter}", plots.plot_sweep(
                rows, parameter, self.figures / f"sweep-{i}-{j}", ylabel=scale),
                f"{settings.confidence:.0%} intervals; the star is the best configuration")
                for j, parameter in enumerate(parameters)]
        return Section("Sweeps", blocks)

    def curves(self) -> Section:
        settings, blocks = self.settings, []
        curves = learning_curves(self.suites, root=self.root, exp_name=settings.exp_name,
                                 env_id=settings.env_id, metric=settings.metric, x=settings.x,
                                 reps=settings.band_reps, confidence=settings.confidence,
                                 seed=settings.seed)
        for index, (env_id, rows) in enumerate(curves.groupby("env_id", sort=True)):
            files = plots.plot_learning_curves(rows, self.figures / f"curves-{index}",
                                               title=str(env_id), colors=self.colors)
            blocks.append(Figure(str(env_id), files, f"mean {settings.metric} over seeds "
                                 f"with its {settings.confidence:.0%} band"))
        return Section("Learning curves", blocks or [Text("No episodes to draw.")])

    def adastop(self) -> Section:
        """AdaStop per environment over every algorithm of the report (suites mixed)."""
        settings = self.settings.adastop
        label = " + ".join(str(s) for s in self.suites)
        seeds = self.scores.groupby(["exp_name", "env_id"]).size().unstack()
        enough = seeds.index[(seeds >= settings.n).all(axis=1)].tolist()
        left_out = sorted(set(seeds.index) - set(enough))
        blocks: list[Block] = []
        if left_out:
            blocks.append(Text(f"Left out of AdaStop (fewer than n={settings.n} seeds on some "
                               "environment): " + ", ".join(f"`{n}`" for n in left_out) + "."))
        if len(enough) < 2:
            return Section("AdaStop comparisons", [*blocks, Text(
                f"No AdaStop comparison: it needs at least 2 algorithms with n={settings.n} "
                "seeds on every environment.")])
        try:
            comparison = scores_comparison(
                self.scores, label, algos=enough, reduction=self.settings.reduction,
                n=settings.n, K=settings.K, alpha=settings.alpha, B=settings.B,
                seed=self.settings.seed)
        except AdaStopInputError as err:
            return Section("AdaStop comparisons",
                           [*blocks, Text(f"No AdaStop comparison: {err}.")])
        columns = ["env_id", "algo_1", "algo_2", "decision", "mean_1", "mean_2",
                   "seed_list_1", "seed_list_2", "interims", "next_seeds_1", "next_seeds_2"]
        return Section("AdaStop comparisons", [*blocks, Table(
            "AdaStop decisions", comparison.table[columns], "adastop", note=(
                f"n={settings.n} seeds per interim, K={settings.K}, alpha={settings.alpha}, "
                f"B={settings.B}; decision: algo_1's mean score is larger / smaller than / equal "
                "to algo_2's; continue: undecided, train next_seeds"))])

    def runtime(self) -> Section:
        table = runtime_table(self.suites, root=self.root,
                              exp_names=sorted(self.scores["exp_name"].unique()))
        seconds = {column: "{:.1f}" for column in ("compile_seconds", "train_seconds",
                                                   "wall_seconds")}
        return Section("Runtime", [Table("Mean time per run", table, "runtime", note=(
            "wall = compile + train seconds of the run's job (seeds batched in one job share "
            "them); sps: environment steps per training second"),
            float_format={**seconds, "sps": "{:,.0f}"})])

    def runs(self) -> Section:
        scores = self.scores
        table = scores[["suite", "exp_name", "env_id", "seed", "run_id", "score", "episodes"]]
        details = [Details(f"{row.exp_name} · {row.env_id} · seed {row.seed} · {row.run_id}",
                           _run_blocks(row.suite, row.run_id, self.root))
                   for row in scores.itertuples()]
        return Section("Runs", [Table("Every run scored", table, "runs"), *details])


def _run_blocks(suite: str, run_id: str, root: str | Path | None) -> list[Code]:
    record = RunRecord(results.suite_paths(suite, root).run(run_id))
    metadata = record.metadata()
    provenance = {key: metadata[key] for key in ("provenance", "devices", "attempts", "wandb",
                                                 "source") if key in metadata}
    return [Code(json.dumps(record.config(), indent=2, sort_keys=True, default=str), "json"),
            Code(json.dumps(provenance, indent=2, sort_keys=True, default=str), "json")]


def build_report(suites: Suites, directory: Path, *, root: str | Path | None = None,
                 settings: ReportSettings | None = None) -> Report:
    """The report's document, its figures written under `directory/figures`."""
    settings = settings or ReportSettings()
    builder = _Builder(suites, root, directory, settings)
    sections = [builder.overview(), builder.per_task(), builder.aggregates(), builder.sweeps(),
                builder.curves(), builder.adastop(), builder.runtime(), builder.runs()]
    sections = [section for section in sections if section is not None]
    names = " + ".join(str(s) for s in builder.suites)
    git = git_state()
    commit = f" (commit {git['commit'][:12]}{', dirty' if git.get('dirty') else ''})" \
        if git.get("commit") else ""
    generated = f"Generated {utc_now()} by harness {__version__}{commit}."
    return Report(f"Benchmark report: {names}", sections, generated)


def default_directory(suites: Suites, root: str | Path | None = None) -> Path:
    """`<results root>/reports/<suite>[+<suite>...]`."""
    chosen = suite_list(suites)
    try:
        base = results.suite_paths(chosen[0], root).root
    except FileNotFoundError as err:
        raise AnalysisError(str(err)) from None
    name = "+".join(results.suite_paths(s, root).suite for s in chosen)
    return base / "reports" / name


def write_report(suites: Suites, *, root: str | Path | None = None,
                 directory: Path | None = None,
                 settings: ReportSettings | None = None) -> ReportFiles:
    """Write the Markdown and HTML reports (with figures, CSV and LaTeX tables) to `directory`
    (default `default_directory`), replacing an earlier report there whole."""
    directory = Path(directory or default_directory(suites, root))
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.{secrets.token_hex(6)}.building")
    try:
        report = build_report(suites, staging, root=root, settings=settings)
        write_markdown(report, staging)
        write_html(report, staging / HTML_FILE)
        _swap_in(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    markdown = directory / "report.md"
    return ReportFiles(directory, markdown, directory / HTML_FILE)


def _swap_in(staging: Path, directory: Path, tries: int = 10) -> None:
    """Put `staging` where `directory` is, moving an earlier report aside first (another
    process writing the same report at once may put its own in between: try again)."""
    for _ in range(tries):
        old = directory.with_name(f".{directory.name}.{secrets.token_hex(6)}.old")
        with contextlib.suppress(FileNotFoundError):
            os.replace(directory, old)
        try:
            os.replace(staging, directory)
            return
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        finally:
            shutil.rmtree(old, ignore_errors=True)
    raise OSError(f"could not put the report in place at {directory}: other processes keep "
                  "writing it")

"""Figures of runs and comparisons, labelled in Chinese or English, with 95% bands.

Every figure function takes run results (or what :mod:`sim.analysis` computes from them) and a
language, and returns a matplotlib ``Figure``; :func:`save` writes it as PNG and SVG and fails if
any glyph was missing from the font (a Chinese label drawn as empty boxes is an error, not a
warning).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sim.errors import SimError
from sim.experiment.statistics import UNITS, bands, describe, group_reps
from sim.model.metrics import BREAKDOWNS
from sim.present.fonts import use_cjk_font
from sim.present.i18n import t
from sim.present.narrative import metric_label

__all__ = ["style", "axis_label", "percent_axis", "timeseries", "sector_timeseries", "breakdowns", "tradeoff",
           "differences", "save",
           "COLORS"]

COLORS = ("#4c566a", "#c0392b", "#2e86c1", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#7f8c8d")
"""Scenario colours, baseline first (grey-blue), then alternatives."""


def style() -> str:
    """Register the CJK font and a plain report style; return the font's name."""
    name = use_cjk_font()
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 150, "axes.spines.top": False, "axes.spines.right": False,
        "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 11, "axes.labelsize": 10,
        "legend.fontsize": 9, "legend.frameon": False, "svg.fonttype": "path",
    })
    return name


def axis_label(name: str, lang: str) -> str:
    """A metric's name with its unit (shares have none: their axis is in %)."""
    unit = UNITS[name]
    if unit == "share":
        return metric_label(name, lang)
    open_, close = ("（", "）") if lang == "zh" else (" (", ")")
    return f"{metric_label(name, lang)}{open_}{t('unit.' + unit, lang)}{close}"


def percent_axis(ax, name: str) -> None:
    """Show the y axis in percent when the metric is a share, else as plain numbers with separators.

    (matplotlib's default would show large money amounts as ``1e7`` offsets, which readers misread.)
    """
    if UNITS[name] == "share":
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{100 * v:.0f}%"))
    else:
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}"))


def timeseries(series: dict[str, pd.DataFrame], metrics: tuple[str, ...], lang: str, ncols: int = 2) -> plt.Figure:
    """One panel per metric: each scenario's monthly mean over replications with its 95% band.

    ``series`` maps scenario name -> long time series (:attr:`sim.experiment.runner.RunResult.timeseries`).
    """
    n = len(metrics)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 3.1 * nrows), squeeze=False, layout="constrained")
    for ax, name in zip(axes.flat, metrics):
        for i, (scn, ts) in enumerate(series.items()):
            b = bands(ts, name)
            c = COLORS[i % len(COLORS)]
            ax.plot(b["month"] + 1, b["mean"], color=c, lw=1.6, label=scn)
            ax.fill_between(b["month"] + 1, b["lo"], b["hi"], color=c, alpha=0.2, lw=0)
        ax.set_title(axis_label(name, lang))
        ax.set_xlabel(t("label.month", lang))
        percent_axis(ax, name)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="best")
    fig.suptitle(t("label.band", lang), fontsize=9, x=0.99, ha="right", color="#555555")
    return fig


def sector_timeseries(series: dict[str, pd.DataFrame], metric: str, lang: str, ncols: int = 5) -> plt.Figure:
    """One small panel per sector: each scenario's monthly mean of a breakdown metric with its 95% band
    (e.g. consumer harm by sector over time, a 2022-target indicator). Panels share the y axis."""
    sectors = BREAKDOWNS["sector"]
    nrows = -(-len(sectors) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.3 * ncols, 2.2 * nrows + 0.6), squeeze=False, sharex=True,
                             sharey=True, layout="constrained")
    for ax, g in zip(axes.flat, sectors):
        for i, (scn, ts) in enumerate(series.items()):
            b = bands(ts, metric, "sector", g)
            c = COLORS[i % len(COLORS)]
            ax.plot(b["month"] + 1, b["mean"], color=c, lw=1.3, label=scn)
            ax.fill_between(b["month"] + 1, b["lo"], b["hi"], color=c, alpha=0.2, lw=0)
        ax.set_title(t(f"sector.{g}", lang), fontsize=9)
        percent_axis(ax, metric)
    for ax in axes.flat[len(sectors):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(t("label.month", lang))
    fig.suptitle(axis_label(metric, lang) + "  ·  " + t("label.band", lang), fontsize=10)
    fig.legend(*axes.flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(series))
    return fig


def breakdowns(series: dict[str, pd.DataFrame], lang: str, metric: str = "compliance_rate") -> plt.Figure:
    """Compliance (or another group metric) by sector, tier and type: bars per scenario with 95% intervals."""
    fig = plt.figure(figsize=(10.4, 7.4), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1])
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])]
    k = len(series)
    width = 0.8 / k
    for ax, (by, groups) in zip(axes, BREAKDOWNS.items()):
        x = np.arange(len(groups))
        for i, (scn, ts) in enumerate(series.items()):
            d = describe(group_reps(ts, by, metric)).reindex(list(groups))
            err = np.vstack([d["mean"] - d["lo"], d["hi"] - d["mean"]]).clip(min=0)
            ax.bar(x + (i - (k - 1) / 2) * width, d["mean"], width, yerr=err, capsize=2,
                   color=COLORS[i % len(COLORS)], label=scn, error_kw={"lw": 0.8})
        names = [g if by == "tier" else t(f"{by}.{g}", lang) for g in groups]
        ax.set_xticks(x, names, rotation=25 if by == "sector" else 0, ha="right" if by == "sector" else "center")
        ax.set_title(t(f"by.{by}", lang))
        ax.set_ylim(0, 1)
        percent_axis(ax, metric)
    axes[0].set_ylabel(metric_label(metric, lang))
    axes[1].set_ylabel(metric_label(metric, lang))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper center", ncols=len(series))
    return fig


def tradeoff(tables: dict[str, pd.DataFrame], lang: str) -> plt.Figure:
    """Compliance against spot checks a month and against checks of compliant merchants, per scenario.

    Points are means over replications, bars their 95% intervals (:func:`sim.analysis.rep_table` values).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 4), layout="constrained", sharey=True)
    for ax, xname in zip(axes, ("inspections", "burden_on_compliant")):
        for i, (scn, tab) in enumerate(tables.items()):
            d = describe(tab[[xname, "compliance_rate"]])
            x, y = d.loc[xname], d.loc["compliance_rate"]
            c = COLORS[i % len(COLORS)]
            ax.errorbar(x["mean"], y["mean"], xerr=[[x["mean"] - x["lo"]], [x["hi"] - x["mean"]]],
                        yerr=[[y["mean"] - y["lo"]], [y["hi"] - y["mean"]]], fmt="o", color=c, capsize=3, ms=6)
            ax.annotate(scn, (x["mean"], y["mean"]), xytext=(6, 6), textcoords="offset points", fontsize=9, color=c)
        ax.set_xlabel(axis_label(xname, lang))
        ax.set_xlim(left=0)
        ax.margins(x=0.25, y=0.25)
    axes[0].set_ylabel(metric_label("compliance_rate", lang))
    percent_axis(axes[0], "compliance_rate")
    return fig


def differences(diffs: pd.DataFrame, metrics: tuple[str, ...], lang: str) -> plt.Figure:
    """Relative change against the baseline (%) with 95% intervals, per metric and alternative.

    ``diffs`` is :func:`sim.analysis.compare` output. The axis is linear within ±20% and
    logarithmic beyond, so a 6% change and a 13-fold one both read. A metric whose baseline mean is
    0 has no relative change and is left out; an interval that includes zero is drawn hollow.
    """
    alts = list(dict.fromkeys(diffs.index.get_level_values("scenario")))
    shown = [m for m in metrics if all(diffs.loc[(a, m), "base"] > 0 for a in alts)]
    k = len(alts)
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(shown) * max(1, k) + 1.4), layout="constrained")
    for i, name in enumerate(shown):
        for j, alt in enumerate(alts):
            r = diffs.loc[(alt, name)]
            rel, lo, hi = (100 * r[c] / r["base"] for c in ("diff", "lo", "hi"))
            y = -i - (j - (k - 1) / 2) * (0.7 / max(k, 1))
            c = COLORS[(j + 1) % len(COLORS)]
            ax.errorbar(rel, y, xerr=[[rel - lo], [hi - rel]], fmt="o", color=c, capsize=3,
                        mfc=c if r["sign"] else "white", label=alt if i == 0 else None)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_xscale("symlog", linthresh=20)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:+,.0f}%" if v else "0"))
    ax.set_yticks([-i for i in range(len(shown))], [metric_label(m, lang) for m in shown])
    ax.set_xlabel(t("label.relative_to_baseline", lang))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=max(1, k))
    return fig


def save(fig: plt.Figure, name: str, folder: str | Path | None) -> list[Path]:
    """Write ``fig`` as ``name.png`` and ``name.svg`` into ``folder`` (nothing if ``folder`` is empty).

    Raises :class:`sim.errors.SimError` if any text needed a glyph the font lacks.
    """
    if not folder:
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.svg"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for p in paths:
            fig.savefig(p, bbox_inches="tight")
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    if missing:
        raise SimError(f"figure {name}: {missing[0]} (install fonts-wqy-microhei or set SIM_CJK_FONT)")
    return paths

"""Where the effect comes from, for people: the decomposition of :mod:`sim.experiment.decompose` as a table,
a figure and a CSV, in Chinese or English."""

from __future__ import annotations

import html
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from sim.experiment.decompose import COMPONENTS, Decomposition, decompose, window_reps
from sim.experiment.statistics import interval
from sim.present.fonts import use_cjk_font
from sim.present.i18n import t

__all__ = ["decompose_all", "first_year_effect", "decomposition_frame", "decomposition_html", "figure",
           "to_csv"]


def decompose_all(scenarios: dict, baseline: str, results: dict, reps: int, seed: int, engine: str,
                  progress: bool = False) -> dict[str, Decomposition]:
    """Decompose every scenario's effect on compliance against ``baseline``.

    ``scenarios`` maps names to validated scenarios, ``results`` names to their runs (:class:`RunResult`, all
    with ``reps`` replications and ``seed``), which are reused; only the counterfactuals are run.
    """
    base = scenarios[baseline]
    return {name: decompose(scn, base, reps=reps, seed=seed, engine=engine, progress=progress,
                            runs={"scenario": results[name], "baseline": results[baseline]})
            for name, scn in scenarios.items() if name != baseline}


def first_year_effect(dec: Decomposition) -> tuple[float, float, float]:
    """The scenario's effect on the decomposed metric in its first 12 months (mean, lo, hi; paired, the
    metric's unit): the transient, to read beside the steady state the decomposition is taken over."""
    a = window_reps(dec.runs["scenario"].timeseries, dec.metric, (0, 11))
    b = window_reps(dec.runs["baseline"].timeseries, dec.metric, (0, 11))
    return interval((a - b).to_numpy())


def decomposition_frame(decs: dict[str, Decomposition], lang: str) -> pd.DataFrame:
    """One row per scenario and component (then the total, then the first year's total): the effect on
    compliance in percentage points with its 95% interval and share of the total; labels in ``lang``."""
    rows = []
    for name, dec in decs.items():
        for comp, r in dec.table.iterrows():
            rows.append({"scenario": name, "component": comp, "label": r[lang], "diff_pp": 100 * r["diff"],
                         "lo_pp": 100 * r["lo"], "hi_pp": 100 * r["hi"], "share": r["share"]})
        mean, lo, hi = first_year_effect(dec)
        rows.append({"scenario": name, "component": "total_first_year", "label": t("label.first_year_total", lang),
                     "diff_pp": 100 * mean, "lo_pp": 100 * lo, "hi_pp": 100 * hi, "share": math.nan})
    return pd.DataFrame(rows)


def _pp(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:+.1f}"


def decomposition_html(decs: dict[str, Decomposition], lang: str) -> str:
    """The decomposition as an HTML table per scenario with the note that says how it is built."""
    df = decomposition_frame(decs, lang)
    parts = []
    for name, g in df.groupby("scenario", sort=False):
        dec = decs[name]
        head = "<tr>" + "".join(f"<th>{html.escape(t(k, lang))}</th>" for k in (
            "label.component", "label.compliance_pp", "label.interval", "label.share")) + "</tr>"
        body = "".join(
            f"<tr><td>{html.escape(r.label)}</td><td>{_pp(r.diff_pp)}</td><td>{_pp(r.lo_pp)} … {_pp(r.hi_pp)}</td>"
            f"<td>{'' if math.isnan(r.share) else f'{r.share:.0%}'}</td></tr>" for r in g.itertuples())
        caption = t("caption.decomposition", lang, name=name, volume=dec.volume)
        parts.append(f'<table class="decomposition"><caption>{html.escape(caption)}</caption>{head}{body}</table>')
    note = t("note.decomposition", lang)
    return "".join(parts) + f'<p class="note">{html.escape(note)}</p>'


def figure(decs: dict[str, Decomposition], lang: str) -> plt.Figure:
    """Each component's effect on compliance (percentage points) with its 95% interval, per scenario, and the
    total; an interval that includes zero is drawn hollow."""
    use_cjk_font()
    names = list(decs)
    labels = [c.en if lang == "en" else c.zh for c in COMPONENTS] + [t("label.total", lang)]
    keys = [c.name for c in COMPONENTS] + ["total"]
    k = len(names)
    fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(keys) * max(1, k) + 1.4), layout="constrained")
    from sim.present.figures import COLORS
    for j, name in enumerate(names):
        tab = decs[name].table
        for i, key in enumerate(keys):
            r = tab.loc[key]
            d, lo, hi = 100 * r["diff"], 100 * r["lo"], 100 * r["hi"]
            y = -i - (j - (k - 1) / 2) * (0.7 / max(k, 1))
            c = COLORS[(j + 1) % len(COLORS)]
            ax.barh(y, d, height=0.6 / max(k, 1), color=c if (lo > 0 or hi < 0) else "white", edgecolor=c,
                    label=name if i == 0 else None)
            ax.errorbar(d, y, xerr=[[d - lo], [hi - d]], fmt="none", ecolor="#333333", capsize=3, lw=0.8)
    ax.axvline(0, color="#333333", lw=0.8)
    ax.set_yticks([-i for i in range(len(keys))], labels)
    ax.set_xlabel(t("label.compliance_pp", lang))
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=max(1, k))
    return fig


def to_csv(decs: dict[str, Decomposition], path: str | Path, lang: str = "en") -> Path:
    """Write :func:`decomposition_frame` to ``path`` (CSV); returns the path."""
    path = Path(path)
    decomposition_frame(decs, lang).to_csv(path, index=False)
    return path

"""Charts of a calibration (:mod:`sim.experiment.calibration`): the fit, moment by moment, and the slices.

:func:`fit_chart`: observed moments (points with 95% intervals from the data's covariance) against the
model's at the estimate (bars: the 95% band of one replication), by tier and by sector, one panel per kind
of moment. :func:`slices_chart`: the objective across each parameter's range with the others at the
estimate (flat: the records do not identify it), the estimate and its interval marked.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from sim.present.figures import style
from sim.present.i18n import t

__all__ = ["fit_chart", "slices_chart", "MOMENT_LABELS"]

MOMENT_LABELS = {
    "hit_rate": ("发现问题率", "Problems found per check"),
    "check_share": ("抽查中各等级占比", "Share of checks by tier"),
    "tier_share": ("各等级市场主体占比", "Tier mix of merchants"),
    "listings_per_check": ("每次抽查新增列入名单", "New listings per check"),
    "serious_share": ("严重问题占比", "Serious share of problems"),
    "penalty_per_problem": ("每个问题的罚没（千元）", "Penalty per problem (thousand CNY)"),
}
"""Each moment's name in Chinese and English."""


def _label(m: dict, lang: str) -> str:
    """A moment's group and year, e.g. ``D y2`` or ``零售业 (all years)``."""
    group = m["tier"] or (t(f"sector.{m['sector']}", lang) if m["sector"] else ("全部" if lang == "zh" else "all"))
    year = ("各年" if lang == "zh" else "all years") if m["year"] < 0 else (
        f"第{m['year'] + 1}年" if lang == "zh" else f"y{m['year'] + 1}")
    return f"{group} {year}"


def fit_chart(result, lang: str = "en") -> plt.Figure:
    """Observed against simulated moments (:class:`sim.experiment.calibration.CalibrationResult`)."""
    style()
    fit = result.fit
    kinds = [k for k in MOMENT_LABELS if (fit["moment"] == k).any()]
    rows = [fit[fit["moment"] == k] for k in kinds]
    heights = [max(1.6, 0.22 * len(r) + 0.8) for r in rows]
    fig, axes = plt.subplots(len(kinds), 1, figsize=(8.5, sum(heights)), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, kind, r in zip(axes[:, 0], kinds, rows):
        y = np.arange(len(r))[::-1]
        ax.barh(y, r["sim_hi"] - r["sim_lo"], left=r["sim_lo"], height=0.6, color="#2e86c1", alpha=0.25,
                label="模型（单次重复的95%区间）" if lang == "zh" else "model (95% band of one replication)")
        ax.plot(r["simulated"], y, "|", color="#2e86c1", markersize=12)
        ax.errorbar(r["observed"], y, xerr=1.96 * r["observed_se"], fmt="o", color="#c0392b", markersize=4,
                    capsize=2, label="记录（95%区间）" if lang == "zh" else "records (95% interval)")
        ax.set_yticks(y, [_label(m, lang) for m in r.to_dict("records")], fontsize=8)
        ax.set_title(MOMENT_LABELS[kind][0 if lang == "zh" else 1], loc="left")
        ax.grid(axis="y", alpha=0)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    head = (f"拟合：J = {result.J:.1f}，自由度 {result.df}，p = {result.p_value:.3f}" if lang == "zh" else
            f"fit: J = {result.J:.1f} on {result.df} degrees of freedom, p = {result.p_value:.3f}")
    fig.suptitle(head, x=0.01, ha="left", fontsize=11)
    fig.tight_layout()
    return fig


def slices_chart(result, lang: str = "en") -> plt.Figure:
    """The objective across each parameter's range, others at the estimate; the chi-squared(1) 95% rise
    dashed above the minimum."""
    from sim.experiment.calibration import CHI2_1_95

    style()
    k = len(result.params)
    cols = min(k, 3)
    nrows = (k + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(3.4 * cols, 2.8 * nrows), squeeze=False)
    q_min = float(result.evaluations["Q"].min()) if len(result.evaluations) else 0.0
    for j, p in enumerate(result.params):
        ax = axes[j // cols, j % cols]
        xs, qs = result.slices[p.path]
        qs = np.where(np.isfinite(qs), qs, np.nan)
        ax.plot(xs, qs, "o-", color="#4c566a", markersize=3)
        ax.axhline(q_min + CHI2_1_95, color="#c0392b", linestyle="--", linewidth=0.8)
        ax.axvspan(result.lo[j], result.hi[j], color="#2e86c1", alpha=0.15)
        ax.axvline(result.estimate[j], color="#2e86c1")
        if p.log:
            ax.set_xscale("log")
        ax.set_title(f"{p.path.split('.')[-1]}: {result.status[j]}", fontsize=9)
        ax.set_xlabel(p.path, fontsize=7)
        ax.set_ylabel("Q")
    for j in range(k, nrows * cols):
        axes[j // cols, j % cols].set_visible(False)
    fig.tight_layout()
    return fig

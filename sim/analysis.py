"""From run results to what a planner reads: per-replication values, intervals, paired differences,
the indicators of the plan's 2022 targets, and the plain-language summary.

Every number here starts from a replication's average over the last :data:`SUMMARY_MONTHS` months
(:func:`per_rep`). Scenarios run with the same base seed share their random numbers replication by
replication (common random numbers: replication ``r`` of every scenario draws from the ``r``-th
child of ``SeedSequence(seed)``), so a difference between two scenarios is taken replication by
replication (:func:`paired`) and its interval is that of a paired t-test.

The summary (:func:`summary_claims`) never claims a difference whose 95% interval includes zero:
each sentence carries the interval it rests on, and a direction only when the interval excludes zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from sim.i18n import t
from sim.metrics import METRICS

__all__ = ["SUMMARY_MONTHS", "DERIVED", "UNITS", "TARGETS", "SENTENCE_METRICS", "per_rep", "rep_table",
           "group_reps", "add_derived", "interval", "describe", "paired", "compare", "bands", "bands_many",
           "target_table", "Claim",
           "summary_claims", "format_value", "metric_label"]

SUMMARY_MONTHS = 12
"""Summaries average the last 12 months of each replication."""

DERIVED = {
    "checks_per_merchant_year": ("checks/merchant/year", "higher",
                                 "Spot checks a year per merchant (12 x checks a month / merchants)"),
    "harm_per_merchant": ("CNY/merchant/month", "lower", "Consumer harm a month per merchant"),
}
"""Indicators computed from metrics, per replication: name -> (unit, better, meaning)."""

UNITS = {m.name: m.unit for m in METRICS} | {k: v[0] for k, v in DERIVED.items()}
"""Unit of every metric and derived indicator."""


TARGETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("target.full_process", ("full_process_share", "checks_per_merchant_year", "hit_rate", "burden_on_compliant")),
    ("target.joint", ("red_list_share", "blacklist_share", "compliance_rate_strategic")),
    ("target.consumer", ("consumer_satisfaction", "consumer_harm", "harm_per_merchant")),
    ("target.integrity", ("integrity_awareness", "compliance_rate", "compliance_rate_honest")),
)
"""The plan's targets to 2022 (BRIEF.md, section 一) and the indicators that stand for each."""

SENTENCE_METRICS = ("compliance_rate", "inspections", "burden_on_compliant", "consumer_harm")
"""Metrics the generated summary speaks of, in this order, for each alternative."""


def per_rep(ts: pd.DataFrame, months: int = SUMMARY_MONTHS) -> pd.DataFrame:
    """Each replication's average of every metric over its last ``months`` months.

    ``ts`` is a run's long time series (:class:`sim.runner.RunResult`); returns one row per
    replication (index ``rep``) and one column per metric, in the metric's unit.
    """
    tot = ts[ts["by"] == "all"]
    last = tot["month"].max()
    window = tot[tot["month"] > last - months]
    return window.groupby("rep")[[m.name for m in METRICS]].mean()


def group_reps(ts: pd.DataFrame, by: str, metric: str = "compliance_rate",
               months: int = SUMMARY_MONTHS) -> pd.DataFrame:
    """Each replication's average of a breakdown's ``metric`` over its last ``months`` months.

    ``by`` is ``sector``, ``tier`` or ``type``; returns one row per replication and one column per
    group (groups with no merchants in the window are NaN), in the metric's unit.
    """
    sel = ts[ts["by"] == by]
    last = sel["month"].max()
    window = sel[sel["month"] > last - months]
    return window.groupby(["rep", "group"])[metric].mean().unstack("group")


def rep_table(ts: pd.DataFrame, months: int = SUMMARY_MONTHS) -> pd.DataFrame:
    """:func:`per_rep` plus the :data:`DERIVED` indicators, one row per replication."""
    return add_derived(per_rep(ts, months).copy())


def add_derived(table: pd.DataFrame) -> pd.DataFrame:
    """Add the :data:`DERIVED` indicators to a table of per-run metric averages (in place; returned)."""
    merchants = table["merchants"].where(table["merchants"] > 0)
    table["checks_per_merchant_year"] = 12.0 * table["inspections"] / merchants
    table["harm_per_merchant"] = table["consumer_harm"] / merchants
    return table


def interval(x: np.ndarray | pd.Series, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided t-interval of the mean of ``x`` (NaNs dropped): ``(mean, lo, hi)``.

    One value gives ``(x, x, x)``; none gives NaNs. Same unit as ``x``.
    """
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if len(x) == 1:
        return (mean, mean, mean)
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    return (mean, mean - half, mean + half)


def describe(reps: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% interval of every column of a replication table: index metric, columns mean/lo/hi.

    Intervals are clipped to the metric's range (>= 0; <= 1 for shares), as in ``summary.json``.
    """
    rows = {}
    for col in reps.columns:
        mean, lo, hi = interval(reps[col])
        top = 1.0 if UNITS.get(col) == "share" else math.inf
        rows[col] = {"mean": mean, "lo": max(0.0, lo) if not math.isnan(lo) else lo,
                     "hi": min(top, hi) if not math.isnan(hi) else hi}
    return pd.DataFrame.from_dict(rows, orient="index")


def paired(base: pd.DataFrame, alt: pd.DataFrame) -> pd.DataFrame:
    """Paired differences ``alt - base`` per metric over the replications both tables hold.

    Parameters
    ----------
    base, alt : DataFrame
        Replication tables (:func:`rep_table`) of two scenarios run with the same seed, indexed by
        replication.

    Returns
    -------
    DataFrame, index metric, columns:
        ``base``, ``alt`` (means), ``diff`` (mean of ``alt - base``, the metric's unit), ``lo``, ``hi``
        (its paired 95% t-interval), ``rel`` (``diff / base``; NaN when the base mean is 0),
        ``effect`` (``diff`` over the pooled standard deviation of the two scenarios' replications:
        Cohen's d; NaN when both are constant), ``n`` (pairs), ``sign`` (+1 or -1 when the interval
        excludes zero, else 0).
    """
    common = base.index.intersection(alt.index)
    rows = {}
    for col in base.columns.intersection(alt.columns):
        b = base.loc[common, col].to_numpy(dtype=float)
        a = alt.loc[common, col].to_numpy(dtype=float)
        ok = ~(np.isnan(a) | np.isnan(b))
        a, b = a[ok], b[ok]
        diff, lo, hi = interval(a - b)
        bm = float(b.mean()) if len(b) else math.nan
        am = float(a.mean()) if len(a) else math.nan
        pooled = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if len(a) > 1 else math.nan
        rows[col] = {
            "base": bm, "alt": am, "diff": diff, "lo": lo, "hi": hi,
            "rel": diff / bm if bm else math.nan,  # NaN base stays NaN
            "effect": diff / pooled if pooled and pooled > 0 else math.nan,
            "n": int(len(a)),
            "sign": int(np.sign(diff)) if len(a) > 1 and (lo > 0 or hi < 0) else 0,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def compare(tables: dict[str, pd.DataFrame], baseline: str) -> pd.DataFrame:
    """:func:`paired` of every scenario against ``baseline``, stacked: index (scenario, metric)."""
    if baseline not in tables:
        raise KeyError(f"baseline {baseline!r} is not among the scenarios {list(tables)}")
    parts = {name: paired(tables[baseline], tab) for name, tab in tables.items() if name != baseline}
    if not parts:
        return pd.DataFrame(columns=["base", "alt", "diff", "lo", "hi", "rel", "effect", "n", "sign"])
    return pd.concat(parts, names=["scenario", "metric"])


def bands(ts: pd.DataFrame, metric: str, by: str = "all", group: str = "all") -> pd.DataFrame:
    """Per month: mean over replications of ``metric`` and its 95% t-interval (columns month, mean, lo, hi).

    The same interval as :func:`interval`, computed for all months at once; one replication gives
    ``lo == hi == mean``.
    """
    return bands_many(ts, (metric,), by, group)[metric]


def bands_many(ts: pd.DataFrame, metrics, by: str = "all", group: str = "all") -> dict[str, pd.DataFrame]:
    """:func:`bands` of several metrics from one grouping of the time series (metric -> frame)."""
    sel = ts[(ts["by"] == by) & (ts["group"] == group)]
    g = sel.groupby("month")[list(metrics)].agg(["mean", "std", "count"])
    month = g.index.to_numpy(dtype=int)
    out = {}
    for metric in metrics:
        n = g[(metric, "count")].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            half = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)) * g[(metric, "std")].to_numpy()
                            / np.sqrt(n), 0.0)
        mean = g[(metric, "mean")].to_numpy(dtype=float)
        out[metric] = pd.DataFrame({"month": month, "mean": mean, "lo": mean - half, "hi": mean + half})
    return out


# --- text -----------------------------------------------------------------------------------------------------------


def metric_label(name: str, lang: str) -> str:
    """The metric's name in ``lang``."""
    return t(f"metric.{name}", lang)


def _num(v: float) -> str:
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def format_value(name: str, v: float, lang: str, signed: bool = False) -> str:
    """A metric value for a reader: shares as percentages, CNY with separators, counts to 3 figures.

    ``signed`` puts a sign before positive values (for differences). NaN is shown as ``-``.
    """
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    sign = "+" if signed and v > 0 else ""
    unit = UNITS.get(name, "")
    if unit == "share":
        return f"{sign}{100 * v:.1f}%"
    if unit.startswith("CNY"):
        return f"{sign}{_num(v)}元" if lang == "zh" else f"{sign}CNY {_num(v)}".replace("CNY -", "-CNY ")
    return f"{sign}{_num(v)}"


def _points(v: float, signed: bool = False) -> str:
    """A difference of shares in percentage points, e.g. ``+6.3``."""
    return f"{'+' if signed and v > 0 else ''}{100 * v:.1f}"


@dataclass(frozen=True)
class Claim:
    """One sentence of the summary and the numbers it rests on.

    ``direction`` is +1 (the alternative is higher), -1 (lower) or 0 (no claim: the interval
    ``[lo, hi]`` of the difference includes zero, or there is nothing to compare).
    """

    kind: str
    scenario: str
    metric: str
    direction: int
    diff: float
    lo: float
    hi: float
    text: str


def _change(base: float, alt: float, lang: str) -> str:
    """The change from ``base`` to ``alt`` (both > 0) in words: a ratio from 2x up, else a percentage."""
    ratio = alt / base
    if ratio >= 2:
        return f"为基准的{ratio:.1f}倍" if lang == "zh" else f"{ratio:.1f} times the baseline"
    pct = (ratio - 1) * 100
    if lang == "zh":
        return f"{'增加' if pct > 0 else '减少'}{abs(pct):.0f}%"
    return f"{pct:+.0f}%"


def _metric_claim(alt: str, name: str, row: pd.Series, lang: str) -> Claim:
    share = UNITS[name] == "share"
    label = metric_label(name, lang)
    fields = {"alt": alt, "metric": label,
              "base_value": format_value(name, row["base"], lang), "alt_value": format_value(name, row["alt"], lang)}
    if share:
        fields |= {"lo": _points(row["lo"], True), "hi": _points(row["hi"], True)}
    else:
        fields |= {"lo": format_value(name, row["lo"], lang, True), "hi": format_value(name, row["hi"], lang, True)}
    direction = int(row["sign"])
    if direction == 0:
        diff = _points(row["diff"], True) if share else format_value(name, row["diff"], lang, True)
        text = t("sent.same", lang, diff=diff, **fields)
    elif share:
        text = t("sent.share.up" if direction > 0 else "sent.share.down", lang, diff=_points(abs(row["diff"])),
                 **fields)
    elif row["base"] > 0:
        change = _change(row["base"], row["alt"], lang)
        key = "sent.level.up" if direction > 0 else "sent.level.down"
        text = t(key, lang, change=change, **fields)
    else:
        text = t("sent.level.from_zero", lang, **fields)
    return Claim("metric", alt, name, direction, float(row["diff"]), float(row["lo"]), float(row["hi"]), text)


def summary_claims(tables: dict[str, pd.DataFrame], baseline: str, lang: str) -> list[Claim]:
    """The generated summary: a few sentences, each a :class:`Claim` with the numbers behind it.

    Parameters
    ----------
    tables : dict
        Scenario name -> replication table (:func:`rep_table`), all run with the same seed and
        replications (common random numbers).
    baseline : str
        Name of the baseline scenario.
    lang : str
        ``zh`` or ``en``.

    The sentences: the baseline's compliance and checks; for each alternative, what it does to
    compliance, spot checks, checks of compliant merchants and consumer harm (a direction only
    when the paired 95% interval excludes zero, else "cannot be told apart"), and the inspection
    cost of each point of compliance gained (when both differences are clear); with two or more
    alternatives that raise compliance, which raises it most, claimed only if its paired
    difference with the runner-up excludes zero.
    """
    base = tables[baseline]
    bc = describe(base[["compliance_rate", "inspections"]])
    claims = [Claim("base", baseline, "compliance_rate", 0, math.nan, math.nan, math.nan,
                    t("sent.base", lang, base=baseline,
                      value=format_value("compliance_rate", bc.loc["compliance_rate", "mean"], lang),
                      checks=format_value("inspections", bc.loc["inspections", "mean"], lang)))]
    alts = [n for n in tables if n != baseline]
    if not alts:
        return claims + [Claim("none", baseline, "", 0, math.nan, math.nan, math.nan, t("sent.no_alternative", lang))]
    diffs = compare(tables, baseline)
    for alt in alts:
        d = diffs.loc[alt]
        for name in SENTENCE_METRICS:
            claims.append(_metric_claim(alt, name, d.loc[name], lang))
        c, k = d.loc["compliance_rate"], d.loc["inspection_cost"]
        if c["sign"] > 0 and k["sign"] > 0:
            cost = k["diff"] / (100 * c["diff"])
            claims.append(Claim("cost", alt, "inspection_cost", 1, float(cost), math.nan, math.nan,
                                t("sent.cost_per_point", lang, alt=alt,
                                  cost=format_value("inspection_cost", cost, lang))))
    raisers = [a for a in alts if diffs.loc[(a, "compliance_rate"), "sign"] > 0]
    if len(raisers) >= 2:
        raisers.sort(key=lambda a: -diffs.loc[(a, "compliance_rate"), "diff"])
        best, second = raisers[:2]
        d = paired(tables[second][["compliance_rate"]], tables[best][["compliance_rate"]]).loc["compliance_rate"]
        key = "sent.best" if d["sign"] > 0 else "sent.best_tie"
        claims.append(Claim("best", best, "compliance_rate", int(d["sign"]), float(d["diff"]), float(d["lo"]),
                            float(d["hi"]), t(key, lang, best=best, second=second, diff=_points(d["diff"], True),
                                               lo=_points(d["lo"], True), hi=_points(d["hi"], True))))
    return claims


def target_table(tables: dict[str, pd.DataFrame], baseline: str, lang: str) -> pd.DataFrame:
    """The indicators of the plan's 2022 targets, per scenario, as text for a report.

    One row per (target, indicator); a column for the unit and one per scenario holding
    ``mean [lo, hi]`` (95% interval). An alternative's cell ends in ↑ or ↓ when its paired
    difference from the baseline has an interval that excludes zero.
    """
    summaries = {n: describe(tab) for n, tab in tables.items()}
    diffs = compare(tables, baseline)
    rows = []
    for target, names in TARGETS:
        for name in names:
            row = {t("label.target", lang): t(target, lang), t("label.indicator", lang): metric_label(name, lang),
                   t("label.unit", lang): t(f"unit.{UNITS[name]}", lang)}
            for scn, s in summaries.items():
                m = s.loc[name]
                cell = (f"{format_value(name, m['mean'], lang)} "
                        f"[{format_value(name, m['lo'], lang)}, {format_value(name, m['hi'], lang)}]")
                if scn != baseline:
                    sign = diffs.loc[(scn, name), "sign"]
                    cell += {1: " ↑", -1: " ↓"}.get(int(sign), "")
                row[scn] = cell
            rows.append(row)
    return pd.DataFrame(rows)

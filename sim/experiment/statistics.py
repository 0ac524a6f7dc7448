"""Statistics of replicated runs: per-replication values, intervals, paired differences, bands.

Every number here starts from a replication's average over the last :data:`SUMMARY_MONTHS` months
(:func:`per_rep`). Scenarios run with the same base seed share their random numbers replication by
replication (common random numbers: replication ``r`` of every scenario draws from the ``r``-th
child of ``SeedSequence(seed)``), so a difference between two scenarios is taken replication by
replication (:func:`paired`) and its interval is that of a paired t-test.

What the numbers say in words is :mod:`sim.present.narrative`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.metrics import METRICS, Metric

__all__ = ["SUMMARY_MONTHS", "DERIVED", "UNITS", "CAPACITY_TOLERANCE", "capacity_excess", "per_rep", "rep_table",
           "group_reps", "add_derived", "interval", "describe", "paired", "compare", "bands", "bands_many"]

SUMMARY_MONTHS = 12
"""Summaries average the last 12 months of each replication."""

DERIVED: tuple[Metric, ...] = (
    Metric("checks_per_merchant_year", "checks/merchant/year", "年抽查覆盖率（次/户·年）", "Checks per merchant a year",
           "Spot checks a year per merchant (12 x checks a month / merchants)", better="higher", source="derived"),
    Metric("harm_per_merchant", "CNY/merchant/month", "户均消费者损害", "Consumer harm per merchant",
           "Consumer harm a month per merchant", better="lower", source="derived"),
)
"""Indicators computed from metrics, per replication (:func:`add_derived`)."""

UNITS = {m.name: m.unit for m in METRICS + DERIVED}
"""Unit of every metric and derived indicator."""


CAPACITY_TOLERANCE = 0.05
"""A run whose requested checks exceed those the capacity allows by more than this share says so."""


def capacity_excess(means: dict) -> float | None:
    """By how much the checks the sampling ratios ask for exceed the checks made, as a share of those made
    (0.4: 40% more was asked than the capacity allowed), when above :data:`CAPACITY_TOLERANCE`; else ``None``.

    ``means`` maps metric names to a value or to ``{"mean": value, ...}`` (a ``summary.json``), and needs
    ``inspections_requested`` and ``inspections`` (checks/month).
    """
    def mean(name):
        v = means[name]
        return float(v["mean"] if isinstance(v, dict) else v)
    asked, made = mean("inspections_requested"), mean("inspections")
    if not asked > made * (1.0 + CAPACITY_TOLERANCE):
        return None
    return math.inf if made <= 0 else asked / made - 1.0


def per_rep(ts: pd.DataFrame, months: int = SUMMARY_MONTHS) -> pd.DataFrame:
    """Each replication's average of every metric over its last ``months`` months.

    ``ts`` is a run's long time series (:class:`sim.experiment.runner.RunResult`); returns one row per
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

"""What the numbers say, in Chinese and English: metric labels, formatted values, the indicators of the
plan's 2022 targets, and the plain-language summary.

The summary (:func:`summary_claims`) never claims a difference whose 95% interval includes zero:
each sentence carries the interval it rests on, and a direction only when the interval excludes zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from sim.experiment.statistics import UNITS, capacity_excess, compare, describe, paired
from sim.present.i18n import t

__all__ = ["TARGETS", "SENTENCE_METRICS", "target_table", "Claim", "summary_claims", "format_value", "metric_label"]

TARGETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("target.full_process", ("full_process_share", "checks_per_merchant_year", "hit_rate", "burden_on_compliant")),
    ("target.joint", ("red_list_share", "blacklist_share", "compliance_rate_strategic")),
    ("target.consumer", ("consumer_satisfaction", "consumer_harm", "harm_per_merchant")),
    ("target.integrity", ("integrity_awareness", "compliance_rate", "compliance_rate_honest")),
)
"""The plan's targets to 2022 (BRIEF.md, section 一) and the indicators that stand for each."""

SENTENCE_METRICS = ("compliance_rate", "inspections", "burden_on_compliant", "consumer_harm")
"""Metrics the generated summary speaks of, in this order, for each alternative."""


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
    for name, tab in tables.items():  # a plan whose ratios its capacity cannot carry out is not the plan
        means = tab[["inspections_requested", "inspections"]].mean()
        excess = capacity_excess(means.to_dict())
        if excess is not None:
            asked = format_value("inspections", means["inspections_requested"], lang)
            text = (t("sent.capacity", lang, scenario=name, asked=asked, excess=f"{100 * excess:.0f}",
                      made=format_value("inspections", means["inspections"], lang)) if math.isfinite(excess)
                    else t("sent.capacity_none", lang, scenario=name, asked=asked))
            claims.append(Claim("capacity", name, "inspections_requested", 1, float(excess), math.nan, math.nan, text))
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

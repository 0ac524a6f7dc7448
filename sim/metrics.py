"""Outcome metrics: their names, units, which way is better, and how a month is counted.

Both engines hand :func:`month_record` the same per-merchant arrays, so a
metric is defined once whatever engine produced it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rules import BLACK, KEY, RED
from sim.scenario import SECTORS, TIERS, TYPES

__all__ = ["Metric", "METRICS", "GROUP_METRICS", "BREAKDOWNS", "month_record"]


@dataclass(frozen=True)
class Metric:
    """A named outcome: unit, meaning and direction (``higher``/``lower`` is better, or ``None``)."""

    name: str
    unit: str
    meaning: str
    better: str | None = None


METRICS: tuple[Metric, ...] = (
    Metric("compliance_rate", "share", "Share of trading merchants that complied this month", "higher"),
    Metric("violations", "merchants/month", "Merchants that violated", "lower"),
    Metric("severe_violations", "merchants/month", "Merchants that committed a severe violation", "lower"),
    Metric("inspections", "checks/month", "Spot checks made", None),
    Metric("inspections_requested", "checks/month", "Checks the sampling ratios asked for", None),
    Metric("capacity_shortfall", "checks/month", "Requested checks not made for lack of capacity", "lower"),
    Metric("hit_rate", "share", "True detections per check", "higher"),
    Metric("burden_on_compliant", "checks/month", "Checks of merchants that complied", "lower"),
    Metric("detections", "records/month", "Violations found by checks", None),
    Metric("false_positives", "records/month", "Violations wrongly recorded against compliant merchants", "lower"),
    Metric("inspection_cost", "CNY/month", "Cost of the checks made", "lower"),
    Metric("fines", "CNY/month", "Fines imposed on recorded violations", None),
    Metric("consumer_harm", "CNY/month", "Harm to consumers from violations", "lower"),
    Metric("red_list_share", "share", "Share of merchants on the red list", "higher"),
    Metric("key_attention_share", "share", "Share of merchants on the key-attention list", "lower"),
    Metric("blacklist_share", "share", "Share of merchants on the blacklist", "lower"),
    Metric("new_blacklistings", "merchants/month", "Merchants put on the blacklist", None),
    Metric("new_key_listings", "merchants/month", "Merchants put on the key-attention list", None),
    Metric("wrongful_listings", "merchants/month", "New listings resting on a false record", "lower"),
    Metric("appeals", "appeals/month", "Appeals against blacklist recognition", None),
    Metric("appeals_won", "appeals/month", "Appeals that stopped a listing", None),
    Metric("repairs", "merchants/month", "Early list exits by credit repair", None),
    Metric("entries", "merchants/month", "New merchants admitted", None),
    Metric("entries_refused", "merchants/month", "Applicants refused by ex-ante credit review", None),
    Metric("exits", "merchants/month", "Merchants that left the market", None),
    Metric("merchants", "merchants", "Merchants in the population (trading or banned)", None),
    Metric("incentive_value", "CNY/month", "Fast-track value paid out to red-listed merchants", None),
) + tuple(
    Metric(f"tier_share_{t}", "share", f"Share of merchants in tier {t}", None) for t in TIERS
) + tuple(
    Metric(f"compliance_rate_{t}", "share", f"Compliance of trading {t} merchants", "higher") for t in TYPES
)

GROUP_METRICS = ("merchants", "operating", "violations", "inspections", "burden_on_compliant",
                 "detections", "consumer_harm", "red", "key_attention", "blacklist", "compliance_rate")
"""Columns of the per-sector, per-tier and per-type breakdowns."""

BREAKDOWNS = {"sector": SECTORS, "tier": TIERS, "type": TYPES}


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def month_record(m: dict, counters: dict, cost_per_check: float) -> tuple[dict, list[dict]]:
    """Count one month.

    Parameters
    ----------
    m : dict of arrays
        Per merchant present this month: ``sector``, ``mtype``, ``tier``,
        ``list_state``, ``operating``, ``violated``, ``checked``, ``detected``
        (true detections), ``false_positive``, ``severe``, ``harm`` and ``fine`` (CNY).
    counters : dict
        Engine counts of the month: ``inspections_requested``, ``capacity_shortfall`` (expected
        requested checks not made: requested x (1 - capacity scale)),
        ``new_blacklistings``, ``new_key_listings``, ``wrongful_listings``,
        ``appeals``, ``appeals_won``, ``repairs``, ``entries``,
        ``entries_refused``, ``exits``, ``incentive_value``.
    cost_per_check : float
        CNY per check.

    Returns
    -------
    totals : dict
        One value per metric in :data:`METRICS`.
    groups : list of dict
        One row per (breakdown, group) with :data:`GROUP_METRICS`.
    """
    n = len(m["sector"])
    operating = m["operating"]
    violated = m["violated"] & operating
    compliant = operating & ~violated
    checked = m["checked"]
    ls = m["list_state"]
    inspections = int(checked.sum())
    detections = int(m["detected"].sum())
    totals = {
        "compliance_rate": _ratio(compliant.sum(), operating.sum()),
        "violations": int(violated.sum()),
        "severe_violations": int((violated & m["severe"]).sum()),
        "inspections": inspections,
        "inspections_requested": float(counters["inspections_requested"]),
        "capacity_shortfall": float(counters["capacity_shortfall"]),
        "hit_rate": _ratio(detections, inspections),
        "burden_on_compliant": int((checked & compliant).sum()),
        "detections": detections,
        "false_positives": int(m["false_positive"].sum()),
        "inspection_cost": inspections * cost_per_check,
        "fines": float(m["fine"].sum()),
        "consumer_harm": float(m["harm"].sum()),
        "red_list_share": _ratio((ls == RED).sum(), n),
        "key_attention_share": _ratio((ls == KEY).sum(), n),
        "blacklist_share": _ratio((ls == BLACK).sum(), n),
    }
    for k in ("new_blacklistings", "new_key_listings", "wrongful_listings", "appeals", "appeals_won",
              "repairs", "entries", "entries_refused", "exits"):
        totals[k] = int(counters[k])
    totals["merchants"] = n
    totals["incentive_value"] = float(counters["incentive_value"])
    tier_counts = np.bincount(m["tier"], minlength=len(TIERS))
    for i, t in enumerate(TIERS):
        totals[f"tier_share_{t}"] = _ratio(tier_counts[i], n)
    for i, t in enumerate(TYPES):
        sel = m["mtype"] == i
        totals[f"compliance_rate_{t}"] = _ratio((compliant & sel).sum(), (operating & sel).sum())

    groups: list[dict] = []
    columns = {
        "merchants": np.ones(n), "operating": operating, "violations": violated, "inspections": checked,
        "burden_on_compliant": checked & compliant, "detections": m["detected"], "consumer_harm": m["harm"],
        "red": ls == RED, "key_attention": ls == KEY, "blacklist": ls == BLACK,
    }
    for by, names in BREAKDOWNS.items():
        key = {"sector": m["sector"], "tier": m["tier"], "type": m["mtype"]}[by]
        sums = {c: np.bincount(key, weights=v.astype(np.float64), minlength=len(names))
                for c, v in columns.items()}
        comp = np.bincount(key, weights=compliant.astype(np.float64), minlength=len(names))
        for i, g in enumerate(names):
            row = {"by": by, "group": g}
            for c in columns:
                row[c] = float(sums[c][i])
            row["compliance_rate"] = _ratio(comp[i], sums["operating"][i])
            groups.append(row)
    return totals, groups

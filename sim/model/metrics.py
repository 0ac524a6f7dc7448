"""Outcome metrics: their names, units, which way is better, and how a month is counted.

A month is first counted into a small table, the *tally* (:func:`tally`:
counts per sector, tier and type), and every metric is computed from that
table by :func:`month_record`. The Mesa engine tallies its agents' arrays with
:func:`tally`; the fast engine counts the same table inside its month loop.
Either way a metric is defined once.
"""

from __future__ import annotations

import numpy as np

from sim.model.mechanisms import CORE_OUTPUTS, MECHANISMS, Metric
from sim.model.rules import BLACK, KEY, RED
from sim.model.schema import SECTORS, TIERS, TYPES
from sim.model.vocabulary import TYPE_LABELS

__all__ = ["Metric", "METRICS", "COUNTERS", "GROUP_COUNTS", "GROUP_METRICS", "BREAKDOWNS", "TALLY_COLUMNS",
           "SUM_COLUMNS", "GROUP_OFFSETS", "N_GROUPS", "tally", "month_record"]


METRICS: tuple[Metric, ...] = CORE_OUTPUTS + tuple(o for m in MECHANISMS for o in m.outputs) + tuple(
    Metric(f"tier_share_{t}", "share", f"{t}级占比", f"Tier {t} share", f"Share of merchants in tier {t}",
           table=t == "D")
    for t in TIERS
) + tuple(
    Metric(f"compliance_rate_{t}", "share", f"{TYPE_LABELS[t][0]}合规率", f"Compliance of {t} merchants",
           f"Compliance of trading {t} merchants", better="higher")
    for t in TYPES
)
"""Every outcome, declared in the mechanism registry (:mod:`sim.model.mechanisms`): the model's own
outcomes, each mechanism's outputs in the registry's order, then tier shares and compliance by type."""

COUNTERS = tuple(m.name for m in METRICS if m.source != "tally")
"""Counts an engine keeps for each month besides the tally (see :func:`month_record`): the kernel's events
and the engine's own counts."""

GROUP_COUNTS = ("merchants", "operating", "violations", "inspections", "burden_on_compliant",
                "detections", "consumer_harm", "red", "key_attention", "blacklist")
GROUP_METRICS = GROUP_COUNTS + ("compliance_rate", "consumer_satisfaction", "integrity_awareness")
"""Columns of the per-sector, per-tier and per-type breakdowns."""

BREAKDOWNS = {"sector": SECTORS, "tier": TIERS, "type": TYPES}


TALLY_COLUMNS = ("merchants", "operating", "violations", "severe_violations", "compliant", "inspections",
                 "burden_on_compliant", "detections", "false_positives", "consumer_harm", "fines",
                 "red", "key_attention", "blacklist", "revenue", "revenue_compliant", "demand_lost",
                 "credit_demand", "norm", "wrongly_listed", "members")
"""Columns of a month's tally per group: counts of merchants; CNY for harm, fines, revenue (of trading
merchants, after credit's effects on demand), demand lost and credit demand; the sum of integrity norms."""

SUM_COLUMNS = ("consumer_harm", "fines", "revenue", "revenue_compliant", "demand_lost", "credit_demand", "norm",
               "wrongly_listed", "members")
"""Tally columns an engine adds up merchant by merchant (the others follow from each merchant's pattern)."""

GROUP_OFFSETS = {"sector": 0, "tier": len(SECTORS), "type": len(SECTORS) + len(TIERS)}
"""Row of the first group of each breakdown in a tally (sectors, then tiers, then types)."""

N_GROUPS = len(SECTORS) + len(TIERS) + len(TYPES)



def tally(m: dict) -> np.ndarray:
    """A month's tally from per-merchant arrays: shape (:data:`N_GROUPS`, len(:data:`TALLY_COLUMNS`)).

    Parameters
    ----------
    m : dict of arrays
        Per merchant present this month: ``sector``, ``mtype``, ``tier``,
        ``list_state``, ``operating``, ``violated``, ``checked``, ``detected``
        (true findings; a check's count as detections, a complaint investigation's do not), ``false_positive``,
        ``severe``, ``harm`` and ``fine`` (CNY),
        ``revenue`` (CNY, this month's after credit's effects; counted for trading merchants),
        ``demand_lost`` and ``credit_demand`` (CNY), ``norm`` (0-1), ``wrongly_listed`` and ``member``.

    Row ``GROUP_OFFSETS[by] + i`` counts the merchants of group ``i`` of
    breakdown ``by``; each breakdown's rows add up to the whole population.
    An engine may count the same table its own way (the fast engine does, in
    its month loop); this function is the definition.
    """
    operating = np.asarray(m["operating"], dtype=bool)
    violated = np.asarray(m["violated"], dtype=bool) & operating
    compliant = operating & ~violated
    checked = np.asarray(m["checked"], dtype=bool)
    ls = np.asarray(m["list_state"])
    revenue = np.asarray(m["revenue"], dtype=np.float64) * operating
    cols = np.stack([
        np.ones(len(ls)), operating, violated, violated & np.asarray(m["severe"], dtype=bool), compliant, checked,
        checked & compliant, checked & np.asarray(m["detected"], dtype=bool), m["false_positive"], m["harm"], m["fine"],
        ls == RED, ls == KEY, ls == BLACK, revenue, revenue * compliant, m["demand_lost"], m["credit_demand"],
        m["norm"], m["wrongly_listed"], m["member"],
    ], axis=1).astype(np.float64)
    out = np.zeros((N_GROUPS, len(TALLY_COLUMNS)))
    for by, key in (("sector", m["sector"]), ("tier", m["tier"]), ("type", m["mtype"])):
        n = len(BREAKDOWNS[by])
        key = np.asarray(key, dtype=np.int64)
        for j in range(len(TALLY_COLUMNS)):
            out[GROUP_OFFSETS[by]:GROUP_OFFSETS[by] + n, j] = np.bincount(key, weights=cols[:, j], minlength=n)
    return out


_COUNTED = tuple(m for m in METRICS if m.source != "tally")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def month_record(t: np.ndarray, counters: dict, cost_per_check: float, cost_per_member: float = 0.0,
                 associations: bool = True) -> tuple[dict, list[dict]]:
    """Count one month from its tally.

    Parameters
    ----------
    t : array (N_GROUPS, len(TALLY_COLUMNS))
        The month's tally (:func:`tally`).
    counters : dict
        The month's counts, one per name in :data:`COUNTERS` (the metrics whose ``source`` is the kernel or
        the engine; units in :data:`METRICS`), e.g. ``capacity_shortfall``: expected requested checks not
        made, requested x (1 - capacity scale).
    cost_per_check : float
        CNY per check.
    cost_per_member : float
        Associations' CNY per member and month.
    associations : bool
        Associations are on (``policy.associations.enabled``); off, nobody counts as a member.

    Returns
    -------
    totals : dict
        One value per metric in :data:`METRICS`.
    groups : list of dict
        One row per (breakdown, group) with :data:`GROUP_METRICS`.
    """
    by_sector = t[GROUP_OFFSETS["sector"]:GROUP_OFFSETS["sector"] + len(SECTORS)]
    # every breakdown covers the whole population; sectors give the totals (columns by name)
    s = dict(zip(TALLY_COLUMNS, by_sector.sum(axis=0)))
    n = int(round(s["merchants"]))
    inspections = int(round(s["inspections"]))
    detections = int(round(s["detections"]))
    members = int(round(s["members"])) if associations else 0  # membership acts only where associations are on
    totals = {
        "compliance_rate": _ratio(s["compliant"], s["operating"]),
        "violations": int(round(s["violations"])),
        "severe_violations": int(round(s["severe_violations"])),
        "inspections": inspections,
        "hit_rate": _ratio(detections, inspections),
        "burden_on_compliant": int(round(s["burden_on_compliant"])),
        "detections": detections,
        "false_positives": int(round(s["false_positives"])),
        "inspection_cost": inspections * cost_per_check,
        "fines": float(s["fines"]),
        "consumer_harm": float(s["consumer_harm"]),
        "red_list_share": _ratio(s["red"], n),
        "key_attention_share": _ratio(s["key_attention"], n),
        "blacklist_share": _ratio(s["blacklist"], n),
        "merchants": n,
        "wrongly_listed": int(round(s["wrongly_listed"])),
        "demand_lost_to_disclosure": float(s["demand_lost"]),
        "credit_demand": float(s["credit_demand"]),
        "association_members": members,
        "association_cost": members * cost_per_member,
        "consumer_satisfaction": _ratio(s["revenue_compliant"], s["revenue"]),
        "integrity_awareness": _ratio(s["norm"], n),
    }
    for m in _COUNTED:
        totals[m.name] = int(counters[m.name]) if m.integer else float(counters[m.name])
    o = GROUP_OFFSETS["tier"]
    for i, tier in enumerate(TIERS):
        g = dict(zip(TALLY_COLUMNS, t[o + i]))
        totals[f"tier_share_{tier}"] = _ratio(g["merchants"], n)
    o = GROUP_OFFSETS["type"]
    for i, typ in enumerate(TYPES):
        g = dict(zip(TALLY_COLUMNS, t[o + i]))
        totals[f"compliance_rate_{typ}"] = _ratio(g["compliant"], g["operating"])
    totals = {m.name: totals[m.name] for m in METRICS}  # in the registry's order

    groups: list[dict] = []
    for by, names in BREAKDOWNS.items():
        o = GROUP_OFFSETS[by]
        for i, group in enumerate(names):
            row = {"by": by, "group": group}
            g = dict(zip(TALLY_COLUMNS, t[o + i]))
            for c in GROUP_COUNTS:
                row[c] = float(g[c])
            row["compliance_rate"] = _ratio(g["compliant"], g["operating"])
            row["consumer_satisfaction"] = _ratio(g["revenue_compliant"], g["revenue"])
            row["integrity_awareness"] = _ratio(g["norm"], g["merchants"])
            groups.append(row)
    return totals, groups

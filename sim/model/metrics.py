"""Outcome metrics: their names, units, which way is better, and how a month is counted.

A month is first counted into a small table, the *tally* (:func:`tally`:
counts per sector, tier and type), and every metric is computed from that
table by :func:`month_record`. The Mesa engine tallies its agents' arrays with
:func:`tally`; the fast engine counts the same table inside its month loop.
Either way a metric is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.rules import BLACK, KEY, RED
from sim.model.schema import SECTORS, TIERS, TYPES

__all__ = ["Metric", "METRICS", "COUNTERS", "GROUP_COUNTS", "GROUP_METRICS", "BREAKDOWNS", "TALLY_COLUMNS",
           "SUM_COLUMNS", "GROUP_OFFSETS", "N_GROUPS", "tally", "month_record"]


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
    Metric("incentive_value", "CNY/month",
           "Value of red-list incentives: fast-track approvals, and credit insurance for foreign trade", None),
    Metric("commitments_signed", "commitments/month", "Credit commitments signed for fast approval (clause 2)", None),
    Metric("false_commitments", "commitments/month", "Commitments signed by applicants that do not meet the conditions",
           "lower"),
    Metric("commitment_breaches", "commitments/month", "False commitments found by verification and recorded", None),
    Metric("approval_days_saved", "days/month", "Approval time saved by commitments", "higher"),
    Metric("objections", "objections/month", "Objections to recorded information (clause 3)", None),
    Metric("records_overturned", "records/month", "Wrong records removed after an objection", None),
    Metric("wrongly_listed", "merchants",
           "Merchants on the key-attention list or blacklist on a false record (summed over months: months wrongly "
           "listed)", "lower"),
    Metric("wrongful_listings_stood", "merchants/month",
           "Listings on a false record that ended by expiry or repair, not by an objection", "lower"),
    Metric("demand_lost_to_disclosure", "CNY/month",
           "Revenue merchants lose through disclosure of blacklisting and penalties", None),
    Metric("credit_demand", "CNY/month", "Revenue good credit earns (red-list bonus, credit consumption)", None),
    Metric("association_sanctions", "sanctions/month", "Sanctions industry associations impose on members (clause 9)",
           None),
    Metric("association_expulsions", "merchants/month", "Members refused further membership", None),
    Metric("association_members", "merchants", "Merchants in an industry association", None),
    Metric("association_cost", "CNY/month", "Associations' cost of archives and monitoring", None),
    Metric("consumer_satisfaction", "share", "Share of consumer spending at merchants that complied", "higher"),
    Metric("integrity_awareness", "share", "Mean integrity norm of merchants (0-1)", "higher"),
    Metric("campaign_inspections", "checks/month", "Spot checks of merchants in a special campaign's sector (clause 6)",
           None),
    Metric("full_process_share", "share",
           "Share of trading merchants under before-, in- and after-process credit supervision", "higher"),
) + tuple(
    Metric(f"tier_share_{t}", "share", f"Share of merchants in tier {t}", None) for t in TIERS
) + tuple(
    Metric(f"compliance_rate_{t}", "share", f"Compliance of trading {t} merchants", "higher") for t in TYPES
)

COUNTERS = ("inspections_requested", "capacity_shortfall", "new_blacklistings", "new_key_listings",
            "wrongful_listings", "appeals", "appeals_won", "repairs", "entries", "entries_refused", "exits",
            "incentive_value", "commitments_signed", "false_commitments", "commitment_breaches", "approval_days_saved",
            "objections", "records_overturned", "association_sanctions", "association_expulsions",
            "full_process_share", "campaign_inspections", "wrongful_listings_stood")
"""Counts an engine keeps for each month besides the tally (see :func:`month_record`)."""

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
        (true detections), ``false_positive``, ``severe``, ``harm`` and ``fine`` (CNY),
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
        checked & compliant, m["detected"], m["false_positive"], m["harm"], m["fine"],
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


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else float("nan")


def month_record(t: np.ndarray, counters: dict, cost_per_check: float, cost_per_member: float = 0.0
                 ) -> tuple[dict, list[dict]]:
    """Count one month from its tally.

    Parameters
    ----------
    t : array (N_GROUPS, len(TALLY_COLUMNS))
        The month's tally (:func:`tally`).
    counters : dict
        Engine counts of the month: ``inspections_requested``, ``capacity_shortfall`` (expected
        requested checks not made: requested x (1 - capacity scale)),
        ``new_blacklistings``, ``new_key_listings``, ``wrongful_listings``,
        ``appeals``, ``appeals_won``, ``repairs``, ``entries``,
        ``entries_refused``, ``exits``, ``incentive_value``, ``commitments_signed``,
        ``false_commitments``, ``commitment_breaches``, ``approval_days_saved``, ``objections``,
        ``records_overturned``, ``association_sanctions``, ``association_expulsions``,
        ``full_process_share``, ``campaign_inspections``, ``wrongful_listings_stood`` (see :data:`METRICS`
        for units).
    cost_per_check : float
        CNY per check.
    cost_per_member : float
        Associations' CNY per member and month.

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
    totals = {
        "compliance_rate": _ratio(s["compliant"], s["operating"]),
        "violations": int(round(s["violations"])),
        "severe_violations": int(round(s["severe_violations"])),
        "inspections": inspections,
        "inspections_requested": float(counters["inspections_requested"]),
        "capacity_shortfall": float(counters["capacity_shortfall"]),
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
    }
    for k in ("new_blacklistings", "new_key_listings", "wrongful_listings", "appeals", "appeals_won",
              "repairs", "entries", "entries_refused", "exits", "commitments_signed", "false_commitments",
              "commitment_breaches", "objections", "records_overturned", "association_sanctions",
              "association_expulsions", "campaign_inspections", "wrongful_listings_stood"):
        totals[k] = int(counters[k])
    totals["merchants"] = n
    totals["incentive_value"] = float(counters["incentive_value"])
    totals["approval_days_saved"] = float(counters["approval_days_saved"])
    totals["wrongly_listed"] = int(round(s["wrongly_listed"]))
    totals["demand_lost_to_disclosure"] = float(s["demand_lost"])
    totals["credit_demand"] = float(s["credit_demand"])
    members = int(round(s["members"]))
    totals["association_members"] = members
    totals["association_cost"] = members * cost_per_member
    totals["consumer_satisfaction"] = _ratio(s["revenue_compliant"], s["revenue"])
    totals["integrity_awareness"] = _ratio(s["norm"], n)
    totals["full_process_share"] = float(counters["full_process_share"])
    o = GROUP_OFFSETS["tier"]
    for i, tier in enumerate(TIERS):
        g = dict(zip(TALLY_COLUMNS, t[o + i]))
        totals[f"tier_share_{tier}"] = _ratio(g["merchants"], n)
    o = GROUP_OFFSETS["type"]
    for i, typ in enumerate(TYPES):
        g = dict(zip(TALLY_COLUMNS, t[o + i]))
        totals[f"compliance_rate_{typ}"] = _ratio(g["compliant"], g["operating"])

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

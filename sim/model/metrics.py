"""Outcome metrics: their names, units, which way is better, and how a month is counted.

A month is first counted into a small table, the *tally* (:func:`tally`:
counts per sector, tier and type), and every metric of every month is computed
from those tables at once by :func:`month_table`. The Mesa engine tallies its agents' arrays with
:func:`tally`; the fast engine counts the same table inside its month loop.
Either way a metric is defined once.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.model.mechanisms import CORE_OUTPUTS, MECHANISMS, Metric
from sim.model.rules import BLACK, KEY, RED
from sim.model.schema import SECTORS, TIERS, TYPES
from sim.model.vocabulary import TYPE_LABELS

__all__ = ["Metric", "METRICS", "COUNTERS", "GROUP_COUNTS", "GROUP_METRICS", "BREAKDOWNS", "TALLY_COLUMNS",
           "SUM_COLUMNS", "GROUP_OFFSETS", "N_GROUPS", "tally", "month_record", "month_table", "Months", "MonthLog"]


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
                 "credit_demand", "norm", "wrongly_listed", "members", "serious_findings", "check_fines")
"""Columns of a month's tally per group: counts of merchants; CNY for harm, fines, revenue (of trading
merchants, after credit's effects on demand), demand lost and credit demand; the sum of integrity norms;
checks that found a severe violation, and the fines of checked merchants with a record (CNY: what a bureau's
check records show, :mod:`sim.experiment.records`)."""

SUM_COLUMNS = ("consumer_harm", "fines", "revenue", "revenue_compliant", "demand_lost", "credit_demand", "norm",
               "wrongly_listed", "members", "check_fines")
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
        checked & np.asarray(m["detected"], dtype=bool) & violated & np.asarray(m["severe"], dtype=bool),
        np.asarray(m["fine"], dtype=np.float64) * (checked & (np.asarray(m["detected"], dtype=bool)
                                                              | np.asarray(m["false_positive"], dtype=bool))),
    ], axis=1).astype(np.float64)
    out = np.zeros((N_GROUPS, len(TALLY_COLUMNS)))
    for by, key in (("sector", m["sector"]), ("tier", m["tier"]), ("type", m["mtype"])):
        n = len(BREAKDOWNS[by])
        key = np.asarray(key, dtype=np.int64)
        for j in range(len(TALLY_COLUMNS)):
            out[GROUP_OFFSETS[by]:GROUP_OFFSETS[by] + n, j] = np.bincount(key, weights=cols[:, j], minlength=n)
    return out


_COUNTED = tuple(m for m in METRICS if m.source != "tally")


class Months(NamedTuple):
    """A run's reported months as an engine counted them: ``tallies`` (months, :data:`N_GROUPS`,
    len(:data:`TALLY_COLUMNS`)) (:func:`tally`), ``counters`` (one array over the months per name in
    :data:`COUNTERS`), the CNY per check and per association member and month, and whether associations are on.
    :func:`month_table` turns it into metrics."""

    tallies: np.ndarray
    counters: dict
    cost_per_check: float
    cost_per_member: float
    associations: bool


class MonthLog:
    """Collects an engine's reported months (:meth:`add` each month's tally and counts) into :class:`Months`."""

    def __init__(self, cost_per_check: float, cost_per_member: float, associations: bool) -> None:
        self.costs = (cost_per_check, cost_per_member, associations)
        self.tallies: list[np.ndarray] = []
        self.counters: list[dict] = []

    def add(self, t: np.ndarray, counters: dict) -> None:
        """One month: its tally and its counts (units in :data:`METRICS`)."""
        self.tallies.append(np.array(t, dtype=np.float64))
        self.counters.append(dict(counters))

    def months(self) -> Months:
        """The months added so far."""
        n = len(self.tallies)
        tallies = np.stack(self.tallies) if n else np.zeros((0, N_GROUPS, len(TALLY_COLUMNS)))
        counters = {m.name: np.array([c[m.name] for c in self.counters], dtype=np.int64 if m.integer else np.float64)
                    for m in _COUNTED}
        return Months(tallies, counters, *self.costs)


def _ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere (float64)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _counts(x: np.ndarray) -> np.ndarray:
    """Tally sums as whole numbers (int64, rounded half to even as Python's ``round``)."""
    return np.rint(x).astype(np.int64)


def month_table(m: Months) -> tuple[dict, dict]:
    """Every metric of every month (the definition of the metrics).

    Returns ``totals``: one array over the months per metric in :data:`METRICS`'s order (int64 for counts,
    float64 otherwise; NaN where a ratio is undefined), then ``month`` (0, 1, ...); and ``groups``: the
    breakdowns, one row per (month, breakdown, group) month by month, with columns ``by``, ``group``,
    :data:`GROUP_METRICS` and ``month``.
    """
    t = m.tallies
    n_months = t.shape[0]
    col = {name: j for j, name in enumerate(TALLY_COLUMNS)}
    # every breakdown covers the whole population; sectors give the totals (columns by name)
    by_sector = t[:, GROUP_OFFSETS["sector"]:GROUP_OFFSETS["sector"] + len(SECTORS)]
    total = by_sector.sum(axis=1)
    s = {name: total[:, j] for name, j in col.items()}
    n = _counts(s["merchants"])
    inspections = _counts(s["inspections"])
    detections = _counts(s["detections"])
    # membership acts only where associations are on
    members = _counts(s["members"]) if m.associations else np.zeros(n_months, np.int64)
    out = {
        "compliance_rate": _ratios(s["compliant"], s["operating"]),
        "violations": _counts(s["violations"]),
        "severe_violations": _counts(s["severe_violations"]),
        "inspections": inspections,
        "hit_rate": _ratios(detections, inspections),
        "burden_on_compliant": _counts(s["burden_on_compliant"]),
        "detections": detections,
        "false_positives": _counts(s["false_positives"]),
        "inspection_cost": inspections * m.cost_per_check,
        "fines": s["fines"].astype(np.float64),
        "consumer_harm": s["consumer_harm"].astype(np.float64),
        "red_list_share": _ratios(s["red"], n),
        "key_attention_share": _ratios(s["key_attention"], n),
        "blacklist_share": _ratios(s["blacklist"], n),
        "merchants": n,
        "wrongly_listed": _counts(s["wrongly_listed"]),
        "demand_lost_to_disclosure": s["demand_lost"].astype(np.float64),
        "credit_demand": s["credit_demand"].astype(np.float64),
        "association_members": members,
        "association_cost": members * m.cost_per_member,
        "consumer_satisfaction": _ratios(s["revenue_compliant"], s["revenue"]),
        "integrity_awareness": _ratios(s["norm"], n),
    }
    for metric in _COUNTED:
        out[metric.name] = np.asarray(m.counters[metric.name], dtype=np.int64 if metric.integer else np.float64)
    o = GROUP_OFFSETS["tier"]
    for i, tier in enumerate(TIERS):
        out[f"tier_share_{tier}"] = _ratios(t[:, o + i, col["merchants"]], n)
    o = GROUP_OFFSETS["type"]
    for i, typ in enumerate(TYPES):
        out[f"compliance_rate_{typ}"] = _ratios(t[:, o + i, col["compliant"]], t[:, o + i, col["operating"]])
    totals = {metric.name: out[metric.name] for metric in METRICS}  # in the registry's order
    totals["month"] = np.arange(n_months, dtype=np.int64)

    by = np.array([b for b, names in BREAKDOWNS.items() for _ in names], dtype=object)
    group = np.array([g for names in BREAKDOWNS.values() for g in names], dtype=object)
    g = t.reshape(n_months * N_GROUPS, len(TALLY_COLUMNS))
    groups = {"by": np.tile(by, n_months), "group": np.tile(group, n_months)}
    for c in GROUP_COUNTS:
        groups[c] = g[:, col[c]].astype(np.float64)
    groups["compliance_rate"] = _ratios(g[:, col["compliant"]], g[:, col["operating"]])
    groups["consumer_satisfaction"] = _ratios(g[:, col["revenue_compliant"]], g[:, col["revenue"]])
    groups["integrity_awareness"] = _ratios(g[:, col["norm"]], g[:, col["merchants"]])
    groups["month"] = np.repeat(np.arange(n_months, dtype=np.int64), N_GROUPS)
    return totals, groups


def month_record(t: np.ndarray, counters: dict, cost_per_check: float, cost_per_member: float = 0.0,
                 associations: bool = True) -> tuple[dict, list[dict]]:
    """Count one month from its tally (one month of :func:`month_table`).

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
        One value per metric in :data:`METRICS` (Python int or float).
    groups : list of dict
        One row per (breakdown, group) with :data:`GROUP_METRICS`.
    """
    log = MonthLog(cost_per_check, cost_per_member, associations)
    log.add(t, counters)
    totals, groups = month_table(log.months())
    one = {name: v[0].item() for name, v in totals.items() if name != "month"}
    rows = [{k: (v[i].item() if isinstance(v[i], np.generic) else v[i]) for k, v in groups.items() if k != "month"}
            for i in range(N_GROUPS)]
    return one, rows

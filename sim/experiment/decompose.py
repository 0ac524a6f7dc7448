"""Where a scenario's effect comes from: its effect against the baseline decomposed along a chain of
counterfactual scenarios the product builds itself (ODD §7.4).

From the baseline ``B`` to the scenario ``S``, one block of the scenario's policy is added at a time:

1. **volume** (抽查数量): ``U`` = the baseline with as many checks as the scenario makes, spread uniformly
   over all merchants (the same checks per merchant a year, measured in the scenario's own run over the
   window; the scenario's capacity, the baseline's inspectors and published results);
2. **targeting** (分级分类抽查): ``T`` = the baseline with the scenario's inspection block (ratios and campaigns
   by tier, inspectors, published results, capacity and its priority), its tier cut-offs and entry score,
   and its special campaigns (list check factors come with the lists);
3. **lists and incentives** (名单与激励): ``L`` = ``T`` with the scenario's red, key-attention and blacklists
   and credit repair, its incentives and joint punishment, credit consumption and trade incentives;
4. **other instruments** (其他措施): ``S`` itself, i.e. ``L`` with everything else (penalties, ex-ante review,
   commitments, disclosure, objections, associations, e-commerce, publicity).

Each component is the paired difference of consecutive runs (``U - B``, ``T - U``, ``L - T``, ``S - L``),
replication by replication, with its 95% t-interval. All runs share the seed, so the differences are paired
(common random numbers), and every run starts from the same burn-in (the pre-plan policy is the scenario's),
so the components add up to the total effect ``S - B`` exactly in every replication. The order matters (an
instrument's contribution depends on what is already in place): this is one decomposition, not the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.experiment.runner import RunResult, run_scenario
from sim.experiment.statistics import SUMMARY_MONTHS, interval
from sim.model.metrics import METRICS
from sim.model.schema import TIERS, Scenario, validate_dict

__all__ = ["COMPONENTS", "Component", "TARGETING_BLOCKS", "LIST_BLOCKS", "Decomposition", "window_reps",
           "volume_of", "counterfactuals", "decompose"]


@dataclass(frozen=True)
class Component:
    """One step of the chain: its name, zh and en labels and what it adds."""

    name: str
    zh: str
    en: str
    adds: str


COMPONENTS = (
    Component("volume", "抽查数量", "More checks",
              "as many checks as the scenario makes, spread uniformly over all merchants"),
    Component("targeting", "分级分类抽查", "Targeting them",
              "the scenario's inspection plan by tier and list, its tiers and its special campaigns, at that volume"),
    Component("lists_incentives", "名单与激励", "Lists and incentives",
              "the scenario's red, key-attention and blacklists, repair, incentives, credit consumption and trade "
              "incentives"),
    Component("other", "其他措施", "Other instruments",
              "everything else the scenario changes: penalties, ex-ante review, commitments, disclosure, "
              "objections, associations, e-commerce, publicity"),
)
"""The components, in the order of the chain."""

TARGETING_BLOCKS = ("inspection", "tiers", "campaign")
"""Policy blocks the targeting step takes from the scenario."""

LIST_BLOCKS = ("lists", "incentives", "credit_consumption", "trade")
"""Policy blocks the lists-and-incentives step adds."""


def window_reps(ts: pd.DataFrame, metric: str, window: tuple[int, int] | None = None) -> pd.Series:
    """Each replication's mean of ``metric`` (whole population) over months ``window = (first, last)``
    inclusive, or over the last :data:`~sim.experiment.statistics.SUMMARY_MONTHS` months when ``None``."""
    tot = ts[ts["by"] == "all"]
    if window is None:
        last = int(tot["month"].max())
        window = (last - SUMMARY_MONTHS + 1, last)
    sel = tot[(tot["month"] >= window[0]) & (tot["month"] <= window[1])]
    return sel.groupby("rep")[metric].mean()


def volume_of(ts: pd.DataFrame, window: tuple[int, int] | None = None) -> float:
    """Checks per merchant a year a run made over the window, averaged over replications (checks/merchant/year)."""
    checks = window_reps(ts, "inspections", window)
    merchants = window_reps(ts, "merchants", window)
    return float(12.0 * checks.mean() / max(float(merchants.mean()), 1.0))


def _uniform(inspection: dict, volume: float) -> dict:
    """An inspection block asking ``volume`` checks per merchant a year of every tier: one campaign a year up to
    one check a merchant, twelve beyond (at most 12 a year); list check factors 1."""
    out = dict(inspection)
    campaigns = 1.0 if volume <= 1.0 else 12.0
    ratio = min(1.0, volume / campaigns)
    out["sampling_ratio"] = {t: ratio for t in TIERS}
    out["campaigns_per_year"] = {t: campaigns for t in TIERS}
    return out


def counterfactuals(scn: Scenario, base: Scenario, volume: float) -> dict[str, Scenario]:
    """The chain's intermediate scenarios ``{"volume": U, "targeting": T, "lists_incentives": L}`` (module
    docstring) for a scenario ``scn`` that makes ``volume`` checks per merchant a year, against ``base``. Each
    has the scenario's population, behaviour, burn-in and pre-plan policy (so all start from the same state)
    and a name ``<scenario>-<component>``."""
    b, s = base.policy.model_dump(), scn.policy.model_dump()
    lists_off = {name: dict(b["lists"][name], check_factor=1.0) if "check_factor" in b["lists"][name]
                 else b["lists"][name] for name in b["lists"]}
    capacity = {k: s["inspection"][k] for k in ("capacity_per_month", "capacity_per_1000_merchants")}
    uniform = dict(b, inspection=_uniform(dict(b["inspection"], **capacity), volume), lists=lists_off)
    targeted = dict(b, **{k: s[k] for k in TARGETING_BLOCKS})
    listed = dict(targeted, **{k: s[k] for k in LIST_BLOCKS})
    common = scn.model_dump(exclude={"policy", "name", "description", "description_zh"})
    out = {}
    for comp, policy in (("volume", uniform), ("targeting", targeted), ("lists_incentives", listed)):
        out[comp] = validate_dict(dict(common, policy=policy, name=f"{scn.name}-{comp.replace('_', '-')}",
                                       description=f"{scn.name} decomposed: the baseline plus "
                                                   + next(c.adds for c in COMPONENTS if c.name == comp)),
                                  f"{scn.name} ({comp} counterfactual)")
    return out


@dataclass
class Decomposition:
    """A scenario's effect decomposed (:func:`decompose`).

    ``table``: one row per component then ``total``, columns ``diff`` (mean paired difference, the metric's
    unit), ``lo``, ``hi`` (95% t-interval), ``share`` (of the total; NaN when the total is 0), ``zh``, ``en``.
    ``runs``: the chain's runs by name (``baseline``, ``volume``, ``targeting``, ``lists_incentives``,
    ``scenario``). ``volume``: the scenario's checks per merchant a year over the window.
    """

    metric: str
    window: tuple[int, int] | None
    volume: float
    table: pd.DataFrame
    runs: dict[str, RunResult]


def decompose(scn: Scenario, base: Scenario, reps: int = 10, seed: int = 0, engine: str = "auto",
              metric: str = "compliance_rate", window: tuple[int, int] | None = None,
              runs: dict[str, RunResult] | None = None, progress: bool = False,
              on_run: Callable[[str], None] | None = None) -> Decomposition:
    """Decompose ``scn``'s effect on ``metric`` against ``base`` (module docstring).

    Runs ``reps`` replications of every scenario of the chain with the same ``seed`` (runs of ``scenario``
    and ``baseline`` given in ``runs``, with those replications and seed, are reused). ``window`` = (first,
    last) month, inclusive; ``None``: the last 12 months. ``on_run(name)`` is called before each run.
    """
    if metric not in {m.name for m in METRICS}:
        raise ValueError(f"metric {metric!r}: one of {', '.join(m.name for m in METRICS)}")
    runs = dict(runs or {})

    def run(name: str, s: Scenario) -> RunResult:
        if name not in runs:
            if on_run is not None:
                on_run(name)
            runs[name] = run_scenario(s, reps=reps, seed=seed, engine=engine, progress=progress)
        return runs[name]

    scenario_run = run("scenario", scn)
    run("baseline", base)
    volume = volume_of(scenario_run.timeseries, window)
    for comp, s in counterfactuals(scn, base, volume).items():
        run(comp, s)
    chain = ["baseline", "volume", "targeting", "lists_incentives", "scenario"]
    values = {name: window_reps(runs[name].timeseries, metric, window) for name in chain}
    rows = {}
    for comp, (a, b) in zip(COMPONENTS, zip(chain, chain[1:])):
        rows[comp.name] = (values[b] - values[a], comp.zh, comp.en)
    rows["total"] = (values["scenario"] - values["baseline"], "合计", "Total")
    total = float(rows["total"][0].mean())
    table = {}
    for name, (d, zh, en) in rows.items():
        mean, lo, hi = interval(d.to_numpy())
        table[name] = {"diff": mean, "lo": lo, "hi": hi, "share": mean / total if total else np.nan,
                       "zh": zh, "en": en}
    return Decomposition(metric, window, volume, pd.DataFrame.from_dict(table, orient="index"), runs)

"""A scenario compiled into the flat numbers and arrays the engines read.

Both engines build their merchants with :func:`draw_merchants` and read
parameters from :class:`Params`, so they start from the same distributions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numba.extending import register_jitable

from sim.model.layout import SECTOR_DTYPE, TIER_DTYPE, parameter_record
from sim.model.rules import BLACK, CARELESS, DEFIANT, KEY, RED, check_probability, stratified_counts, unintended_chance
from sim.model.schema import SECTORS, TIERS, TYPES, Scenario

__all__ = ["Params", "compile_scenario", "regimes", "draw_merchants", "draw_entrants", "plan_checks", "N_STRATA",
           "CAMPAIGN_STRATA", "stratum_of", "campaign_active", "full_process_share", "type_norms",
           "initial_peer_compliance"]

N_LISTS = 4
N_STRATA = 2 * len(TIERS) * N_LISTS
"""Inspection strata: special campaign or not x tier (A-D) x list state (none, red, key-attention, blacklist)."""

CAMPAIGN_STRATA = slice(N_STRATA // 2, N_STRATA)
"""The strata of merchants in a sector under a special campaign (``stratum_of(..., in_campaign=1)``)."""

FULL_PROCESS_MIN_CHECK = 0.0
"""A merchant counts as under in-process supervision when its stratum's monthly check chance exceeds this."""


@register_jitable(forceinline=True)
def stratum_of(tier, list_state, in_campaign=0):
    """Inspection stratum index (0-31) of a tier index (0-3), list state (0-3) and campaign flag (0/1);
    for scalars or arrays, and compiled where the fast engine calls it."""
    return (in_campaign * len(TIERS) + tier) * N_LISTS + list_state


def campaign_active(scn: Scenario, month: int) -> np.ndarray:
    """Per sector (int8 0/1): whether a special campaign (clause 6) runs in the sector in ``month``."""
    out = np.zeros(len(SECTORS), dtype=np.int8)
    c = scn.policy.campaign
    if c.enabled and month >= c.start_month:
        since = month - c.start_month
        if c.every_months > 0:
            since %= c.every_months
        out[SECTORS.index(c.sector)] = since < c.duration_months
    return out


def full_process_share(scn: Scenario, sizes: np.ndarray, probs: np.ndarray) -> float:
    """Share (0-1) of trading merchants under full-process supervision (2022 target 1).

    All three stages must be in force: before (ex-ante credit review or credit commitments), during
    (the merchant's stratum has a monthly check chance ``probs``, after capacity, above zero) and
    after (a red, key-attention or blacklist). ``sizes`` counts merchants per stratum; merchants
    under a market ban do not trade and are left out.
    """
    pol = scn.policy
    lists = pol.lists
    before = pol.entry.exante_review or pol.commitments.enabled
    after = lists.red.enabled or lists.key_attention.enabled or lists.blacklist.enabled
    trading = np.ones(N_STRATA, dtype=bool)
    if lists.blacklist.market_ban:
        trading[[stratum_of(t, BLACK, c) for t in range(len(TIERS)) for c in (0, 1)]] = False
    n = float(sizes[trading].sum())
    if not (before and after) or n == 0:
        return 0.0
    return float(sizes[trading & (probs > FULL_PROCESS_MIN_CHECK)].sum()) / n


@dataclass(frozen=True)
class Params:
    """Scenario numbers in engine-ready form (see :mod:`sim.model.schema` for meanings and units)."""

    scenario: Scenario
    months: int
    merchants: int
    # sector arrays, indexed like sim.model.schema.SECTORS
    sector_share: np.ndarray
    revenue_median: np.ndarray
    revenue_sigma: np.ndarray
    margin: np.ndarray
    gain_share: np.ndarray
    harm: np.ndarray
    severe_share: np.ndarray
    detection_factor: np.ndarray
    type_mix: np.ndarray
    # per stratum monthly check probability before capacity (len N_STRATA)
    stratum_prob: np.ndarray
    cuts: tuple[float, float, float]
    # checks the bureau can make a month, and each stratum's priority class when capacity binds (0 first)
    capacity: float
    priority: np.ndarray
    # per sector: red-list value (CNY/month) and demand bonus (share) with trade incentives (clauses 10-11),
    # consumers' information (x, e-commerce traceability, clause 7), association membership (clause 9)
    red_value: np.ndarray
    red_bonus: np.ndarray
    information: np.ndarray
    association_share: np.ndarray
    norm_boost: np.ndarray
    # per tier: credit-consumption demand bonus (share of revenue, clause 8)
    tier_bonus: np.ndarray
    severe_harm_multiple: float = 3.0
    # the kernel's named layouts (sim.model.layout), built once from the fields above
    record: np.record | None = None
    sectors: np.ndarray | None = None
    tiers: np.ndarray | None = None
    # the regime before month 0 (S0): its compiled policy, run for burn_in months unreported
    pre_plan: Params | None = None
    burn_in: int = 0
    # what drawing merchants needs, built once (_tables): cumulative sector and type shares, the types' mean
    # norms at entry (0-1) and the sectors' unintended-violation factors (x)
    sector_cdf: np.ndarray | None = None
    type_cdf: np.ndarray | None = None
    type_norm: np.ndarray | None = None
    unintended_factor: np.ndarray | None = None


def _tables(p: Params) -> Params:
    """``p`` with its parameter record and its sector and tier tables (:mod:`sim.model.layout`)."""
    sectors = np.zeros(len(SECTORS), SECTOR_DTYPE)
    for field, values in (("margin", p.margin), ("gain_share", p.gain_share), ("harm_per_gain", p.harm),
                          ("severe_share", p.severe_share), ("detection_factor", p.detection_factor),
                          ("red_value", p.red_value), ("red_bonus", p.red_bonus), ("information", p.information)):
        sectors[field] = values
    tiers = np.zeros(len(TIERS), TIER_DTYPE)
    tiers["credit_bonus"] = p.tier_bonus
    scn = p.scenario
    factor = np.array([getattr(scn.population.sectors, k).unintended_factor for k in SECTORS])
    return replace(p, record=parameter_record(p), sectors=sectors, tiers=tiers, sector_cdf=_cdf(p.sector_share),
                   type_cdf=_cdf(p.type_mix), type_norm=type_norms(scn), unintended_factor=factor)


def _cdf(probs: np.ndarray) -> np.ndarray:
    """Cumulative shares, normalised to end at 1 (:func:`_categorical`)."""
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    return cdf


def capacity_of(scn: Scenario) -> float:
    """Checks a month the bureau can make (S2): ``policy.inspection.capacity_per_month`` when given, else
    ``capacity_per_1000_merchants`` x the starting population / 1,000."""
    ins = scn.policy.inspection
    if ins.capacity_per_month is not None:
        return float(ins.capacity_per_month)
    return ins.capacity_per_1000_merchants * scn.population.merchants / 1000.0


def capacity_priority() -> np.ndarray:
    """Priority class of each stratum when capacity binds (S2): 0 blacklisted, 1 key-attention, 2 tier D
    (on no sanction list), 3 everyone else; campaign strata rank as their list state and tier."""
    out = np.full(N_STRATA, 3, np.int64)
    for camp in (0, 1):
        for t in range(len(TIERS)):
            for ls in range(N_LISTS):
                s = stratum_of(t, ls, camp)
                out[s] = 0 if ls == BLACK else 1 if ls == KEY else 2 if t == len(TIERS) - 1 else 3
    return out


def compile_scenario(scn: Scenario) -> Params:
    """Turn a validated :class:`~sim.model.schema.Scenario` into :class:`Params`, with the pre-plan regime
    (``scn.pre_plan``, else the scenario's own policy) compiled into :attr:`Params.pre_plan` when
    ``population.burn_in_months`` > 0 (S0)."""
    p = _compile(scn)
    months = scn.population.burn_in_months
    if months == 0:
        return p
    before = scn.model_copy(update={"policy": scn.pre_plan if scn.pre_plan is not None else scn.policy,
                                    "pre_plan": None})
    return replace(p, pre_plan=_compile(before), burn_in=months)


def regimes(p: Params) -> list[tuple[Params, int, bool]]:
    """The run's regimes in order, ``(params, months, reported)``: the burn-in under the pre-plan regime
    (unreported), then the scenario's months."""
    out = [(p.pre_plan, p.burn_in, False)] if p.pre_plan is not None and p.burn_in > 0 else []
    return out + [(p, p.months, True)]


def _compile(scn: Scenario) -> Params:
    """One regime's :class:`Params` (no burn-in)."""
    sectors = [getattr(scn.population.sectors, s) for s in SECTORS]
    ins = scn.policy.inspection
    lists = scn.policy.lists
    factor = np.ones(N_LISTS)
    factor[RED] = lists.red.check_factor
    factor[KEY] = lists.key_attention.check_factor
    factor[BLACK] = lists.blacklist.check_factor
    probs = np.zeros(N_STRATA)
    for t, tier in enumerate(TIERS):
        r = getattr(ins.sampling_ratio, tier)
        c = getattr(ins.campaigns_per_year, tier)
        for s in range(N_LISTS):
            for camp, extra in ((0, 1.0), (1, scn.policy.campaign.check_factor)):
                probs[stratum_of(t, s, camp)] = check_probability(r, c, factor[s] * extra)
    if lists.blacklist.market_ban:  # banned merchants do not trade
        probs[[stratum_of(t, BLACK, camp) for t in range(len(TIERS)) for camp in (0, 1)]] = 0.0
    arr = lambda name: np.array([getattr(s, name) for s in sectors], dtype=np.float64)  # noqa: E731
    pol = scn.policy
    n = len(SECTORS)
    ec, tr = pol.ecommerce, pol.trade
    detection = arr("detection_factor")
    information = np.ones(n)
    norm_boost = np.zeros(n)
    red_value = np.full(n, pol.incentives.red_list_monthly_value)
    red_bonus = np.full(n, pol.incentives.red_list_demand_bonus)
    # archives cannot push the mean detection chance above 1 (engines also cap each check's chance at 1)
    cap = 1.0 / ins.detection_probability if ins.detection_probability > 0 else np.inf
    if ec.enabled:
        e = SECTORS.index("ecommerce")
        detection[e] = min(detection[e] * ec.archive_detection_multiplier, max(cap, detection[e]))
        information[e] = ec.information_multiplier
        norm_boost[e] = ec.pledge_norm_boost
    if tr.enabled:
        f = SECTORS.index("foreign_invested")
        detection[f] = min(detection[f] * tr.investment_archive_detection_multiplier, max(cap, detection[f]))
        red_value[SECTORS.index("foreign_trade")] += tr.credit_insurance_monthly_value
        for name in ("foreign_trade", "service_trade"):
            red_bonus[SECTORS.index(name)] += tr.trusted_counterparty_bonus
    cc = pol.credit_consumption
    tier_bonus = np.array([getattr(cc.demand_bonus, t) if cc.enabled else 0.0 for t in TIERS])
    association = arr("association_share")  # membership is the population's; it acts where associations are on
    return _tables(Params(
        scenario=scn,
        months=scn.population.months,
        merchants=scn.population.merchants,
        sector_share=arr("share"),
        revenue_median=arr("revenue_median"),
        revenue_sigma=arr("revenue_sigma"),
        margin=arr("profit_margin"),
        gain_share=arr("violation_gain"),
        harm=arr("consumer_harm"),
        severe_share=arr("severe_share"),
        detection_factor=detection,
        type_mix=np.array([getattr(scn.population.type_mix, t) for t in TYPES]),
        stratum_prob=probs,
        cuts=(scn.policy.tiers.A, scn.policy.tiers.B, scn.policy.tiers.C),
        capacity=capacity_of(scn),
        priority=capacity_priority() if ins.capacity_to_listed_first else np.zeros(N_STRATA, np.int64),
        severe_harm_multiple=scn.population.severe_harm_multiple,
        red_value=red_value,
        red_bonus=red_bonus,
        information=information,
        association_share=association,
        norm_boost=norm_boost,
        tier_bonus=tier_bonus,
    ))


def _categorical(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices (int8) with cumulative probabilities ``cdf`` (:func:`_cdf`): the number of
    cumulative probabilities below the last that a uniform draw reaches."""
    return np.searchsorted(cdf[:-1], rng.random(n), side="right").astype(np.int8)


def draw_merchants(p: Params, n: int, rng: np.random.Generator, forced_type: int | None = None) -> dict:
    """Draw ``n`` new merchants' fixed traits and starting state.

    Returns a dict of arrays: ``sector`` and ``mtype`` (int8 indices into
    SECTORS and TYPES), ``revenue`` (CNY/month, lognormal around the sector
    median), ``score`` (points: ``policy.tiers.entry_score``, whatever the type), ``norm``
    (integrity norm 0-1 around its type's mean, plus the sector's integrity-pledge boost), ``member``
    (bool: in the industry association, by the sector's share; it acts only where associations are on), ``slip``
    (monthly chance of an unintended violation, 0-1: :func:`sim.model.rules.unintended_chance`), ``anchor`` (the norm
    at entry, 0-1: what the norm is anchored to, S37). ``forced_type`` gives
    every merchant that type (used for applicants with a blacklist record, who
    enter as defiant).
    """
    if n == 0:  # no draws (an empty draw takes nothing from the generator)
        return {k: v[:0].copy() for k, v in _EMPTY.items()}
    scn = p.scenario
    sector = _categorical(rng, p.sector_cdf, n)
    if forced_type is None:
        mtype = _categorical(rng, p.type_cdf, n)
    else:
        mtype = np.full(n, forced_type, dtype=np.int8)
    median = p.revenue_median[sector]
    revenue = median * np.exp(p.revenue_sigma[sector] * rng.standard_normal(n))
    score = np.full(n, scn.policy.tiers.entry_score)  # the same for every type: scores come from records (S14)
    soc = scn.behaviour.social
    norm = np.clip(p.type_norm[mtype] + soc.initial_norm_sd * rng.standard_normal(n) + p.norm_boost[sector], 0, 1)
    cap = scn.behaviour.capability
    slip = unintended_chance(cap.unintended_rate, p.unintended_factor[sector], revenue, median,
                             cap.size_elasticity, scn.behaviour.careless_violation_rate, mtype == CARELESS)
    member = rng.random(n) < p.association_share[sector]  # drawn even when off (share 0): draws stay paired
    return {"sector": sector, "mtype": mtype, "revenue": revenue, "score": score, "norm": norm, "member": member,
            "slip": slip, "anchor": norm.copy()}


_EMPTY = {"sector": np.zeros(0, np.int8), "mtype": np.zeros(0, np.int8), "revenue": np.zeros(0),
          "score": np.zeros(0), "norm": np.zeros(0), "member": np.zeros(0, bool), "slip": np.zeros(0),
          "anchor": np.zeros(0)}


def type_norms(scn: Scenario) -> np.ndarray:
    """Mean integrity norm at entry (0-1) of each behavioural type, in the order of TYPES
    (``behaviour.social.initial_norm``)."""
    return np.array([getattr(scn.behaviour.social.initial_norm, t) for t in TYPES], dtype=np.float64)


def initial_peer_compliance(scn: Scenario) -> float:
    """What merchants take their sector's compliance to be before the first month (0-1): the population's
    mean norm at entry, the type means weighted by the type mix."""
    mix = np.array([getattr(scn.population.type_mix, t) for t in TYPES])
    return float(mix @ type_norms(scn))


def draw_entrants(p: Params, rng: np.random.Generator) -> tuple[list[dict], int, int]:
    """This month's applicants through ex-ante credit review (clause 1, S24).

    Applicants arrive Poisson at ``population.entry_rate_per_month`` x the starting population; a share
    ``population.blacklisted_applicant_share`` have a blacklist record and are refused under
    ``policy.entry.exante_review`` (admitted as defiant merchants otherwise). Returns the new merchants as
    :func:`draw_merchants` dicts (ordinary, then admitted flagged ones), the number admitted and the number
    refused (merchants).
    """
    pop = p.scenario.population
    applicants = int(rng.poisson(pop.entry_rate_per_month * p.merchants))
    flagged = int((rng.random(applicants) < pop.blacklisted_applicant_share).sum())
    refused = flagged if p.scenario.policy.entry.exante_review else 0
    new = [draw_merchants(p, applicants - flagged, rng), draw_merchants(p, flagged - refused, rng, forced_type=DEFIANT)]
    return new, applicants - refused, refused


def plan_checks(p: Params, sizes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict]:
    """This month's checks per stratum under capacity (S1, S2), for strata of ``sizes`` merchants: capacity
    :attr:`Params.capacity`, spent by :attr:`Params.priority` when it binds.

    Returns the checks per stratum (int array), each stratum's true monthly detection probability
    (check probability after capacity x detection, 0-1) and the month's planning counts:
    ``inspections_requested`` and ``capacity_shortfall`` (checks/month), ``full_process_share`` (share,
    S33) and ``campaign_inspections`` (checks/month, S28).
    """
    ins = p.scenario.policy.inspection
    per_stratum, requested, scale = stratified_counts(sizes, p.stratum_prob, p.capacity, rng, p.priority)
    counters = {"inspections_requested": requested,
                "capacity_shortfall": requested - float((sizes * p.stratum_prob * scale).sum()),
                "full_process_share": full_process_share(p.scenario, sizes, p.stratum_prob * scale),
                "campaign_inspections": int(per_stratum[CAMPAIGN_STRATA].sum())}
    return per_stratum, p.stratum_prob * scale * ins.detection_probability, counters

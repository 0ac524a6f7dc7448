"""A scenario compiled into the flat numbers and arrays the engines read.

Both engines build their merchants with :func:`draw_merchants` and read
parameters from :class:`Params`, so they start from the same distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rules import BLACK, KEY, RED, check_probability
from sim.scenario import SECTORS, TIERS, TYPES, Scenario

__all__ = ["Params", "compile_scenario", "draw_merchants", "N_STRATA", "stratum_of"]

N_LISTS = 4
N_STRATA = len(TIERS) * N_LISTS
"""Inspection strata: tier (A-D) x list state (none, red, key-attention, blacklist)."""


def stratum_of(tier, list_state):
    """Inspection stratum index (0-15) of a tier index (0-3) and list state (0-3)."""
    return tier * N_LISTS + list_state


@dataclass(frozen=True)
class Params:
    """Scenario numbers in engine-ready form (see :mod:`sim.scenario` for meanings and units)."""

    scenario: Scenario
    months: int
    merchants: int
    # sector arrays, indexed like sim.scenario.SECTORS
    sector_share: np.ndarray
    revenue_median: np.ndarray
    revenue_sigma: np.ndarray
    margin: np.ndarray
    gain_share: np.ndarray
    harm: np.ndarray
    severe_share: np.ndarray
    detection_factor: np.ndarray
    type_mix: np.ndarray
    score_mean: np.ndarray
    # per stratum monthly check probability before capacity (len N_STRATA)
    stratum_prob: np.ndarray
    cuts: tuple[float, float, float]
    severe_harm_multiple: float = 3.0


def compile_scenario(scn: Scenario) -> Params:
    """Turn a validated :class:`~sim.scenario.Scenario` into :class:`Params`."""
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
            probs[stratum_of(t, s)] = check_probability(r, c, factor[s])
    if lists.blacklist.market_ban:
        probs[[stratum_of(t, BLACK) for t in range(len(TIERS))]] = 0.0  # banned merchants do not trade
    arr = lambda name: np.array([getattr(s, name) for s in sectors], dtype=np.float64)  # noqa: E731
    return Params(
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
        detection_factor=arr("detection_factor"),
        type_mix=np.array([getattr(scn.population.type_mix, t) for t in TYPES]),
        score_mean=np.array([getattr(scn.population.initial_score, t) for t in TYPES]),
        stratum_prob=probs,
        cuts=(scn.policy.tiers.A, scn.policy.tiers.B, scn.policy.tiers.C),
        severe_harm_multiple=scn.population.severe_harm_multiple,
    )


def _categorical(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """``n`` category indices (int8) with the given probabilities: the number of cumulative
    probabilities a uniform draw reaches (what ``searchsorted(cdf, u, side="right")`` gives, but
    several times faster for the few categories used here)."""
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    u = rng.random(n)
    out = np.zeros(n, dtype=np.int8)
    for c in cdf[:-1]:
        out += u >= c
    return out


def draw_merchants(p: Params, n: int, rng: np.random.Generator, forced_type: int | None = None) -> dict:
    """Draw ``n`` new merchants' fixed traits and starting state.

    Returns a dict of arrays: ``sector`` and ``mtype`` (int8 indices into
    SECTORS and TYPES), ``revenue`` (CNY/month, lognormal around the sector
    median), ``score`` (points, normal by type, clipped 0-100), ``norm``
    (integrity norm 0-1). ``forced_type`` gives every merchant that type (used
    for applicants with a blacklist record, who enter as defiant).
    """
    scn = p.scenario
    sector = _categorical(rng, p.sector_share, n)
    if forced_type is None:
        mtype = _categorical(rng, p.type_mix, n)
    else:
        mtype = np.full(n, forced_type, dtype=np.int8)
    revenue = p.revenue_median[sector] * np.exp(p.revenue_sigma[sector] * rng.standard_normal(n))
    score = np.clip(p.score_mean[mtype] + scn.population.initial_score.sd * rng.standard_normal(n), 0, 100)
    soc = scn.behaviour.social
    norm = np.clip(soc.initial_norm_mean + soc.initial_norm_sd * rng.standard_normal(n), 0, 1)
    return {"sector": sector, "mtype": mtype, "revenue": revenue, "score": score, "norm": norm}

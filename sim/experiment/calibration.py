"""Calibration: the behavioural uncertainties fitted to a bureau's records by the method of simulated moments.

The pieces, in the order :func:`calibrate` uses them:

1. **Moments** (:func:`moment_spec`, :func:`data_moments`): from the records' cells (:mod:`sim.experiment.records`)
   per regime and year of the records: the hit rate (problems per check) overall, by tier and by sector; the
   share of checks on each tier; the tier mix (where merchants are published); new listings per check. Every
   moment is a ratio, so a city of any size is fitted with the scenario's own population. A moment whose
   denominator is zero in the records is left out.
2. **The data's covariance** (:func:`data_covariance`), by bootstrap: merchants resampled with replacement
   (Poisson weights) when the records are one row per check; parametric draws (binomial problems, multinomial
   tier mix, Poisson listings) when they are aggregates. Shrunk 5% toward its diagonal and floored at the
   binomial variance of a proportion with half a success added, so a cell with no problems still has weight.
3. **Simulated moments** (:func:`simulate`): the same moments of ``reps`` replications of the scenario at a
   candidate, always from the same seeds (common random numbers): a candidate's objective then changes only
   through the parameters. The objective is ``Q = g' W g``, ``g`` the observed minus the mean simulated
   moments and ``W`` the inverse of the data's covariance plus the model's covariance across replications
   over ``reps`` (the simulation's own noise, Gourieroux-Monfort-Renault; with a model the city's size this is
   the data's covariance times ``1 + 1/reps``).
4. **Search** (:func:`calibrate`): CMA-ES (the ``cma`` package) over the parameters' ranges mapped to the unit
   box (log scale for the gain level and where a range spans a factor of thirty or more); every evaluation is
   kept in a state file, so a killed calibration asks the same candidates again and takes their values from
   the file. The estimate is the best candidate evaluated.
5. **Fit and intervals**: the J statistic (``Q`` at the estimate, with the simulation's noise there added to
   the data's covariance) against chi-squared with (moments - parameters) degrees of freedom (Hansen 1982);
   standard errors from ``(G' W G)^-1`` with ``G`` the moments' derivatives, the slopes of a plane through the
   candidates evaluated near the estimate (:func:`derivatives`); a slice of ``Q`` across each parameter's
   range with the others at the estimate. The 95% interval covers both the standard errors' and where the
   slice stays within the chi-squared(1) 95% point (3.84) of the minimum (the replications' discrete events
   make ``Q`` rough on small scales, which can make derivatives look steeper than the fit is). A parameter is
   *unidentified* when its interval covers more than half its search range or its slice rises by less than
   3.84 anywhere in the range: the records do not pin it. Two parameters whose estimates are correlated by
   0.5 or more are named as traded off: the records pin their combination better than either.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, Problem
from sim.model.schema import TIERS

__all__ = ["Parameter", "DEFAULT_PARAMETERS", "parse_parameters", "moment_spec", "data_moments", "data_covariance",
           "FitProblem", "simulate", "calibrate", "CalibrationResult", "BOOTSTRAP", "SHRINK"]

BOOTSTRAP = 400
"""Bootstrap draws for the data's covariance (enough for a covariance of up to ~100 moments with shrinkage)."""
SHRINK = 0.05
"""Weight of the diagonal in the shrunk covariance (Ledoit-Wolf-style; keeps it invertible)."""
CHI2_1_95 = 3.841458820694124
"""The chi-squared(1) distribution's 95% point: a slice rising less than this is flat."""
PROPORTIONS = frozenset({"hit_rate", "check_share", "tier_share", "serious_share", "listings_per_check"})
"""Moments that are shares of a count (their variance is at least a binomial one)."""
ALL_YEARS = -1
"""The ``year`` of a moment over all the records' years (the sectors' hit rates)."""
SHARE_DROPPED = "B"
"""Shares over the four tiers add up to one; the share of this tier is left out (the others determine it)."""


# ---------------------------------------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parameter:
    """One fitted parameter: a scenario path (or ``gain_scale``: every sector's ``violation_gain`` times one
    factor), its range (in the parameter's unit) and whether it is searched on a log scale."""

    path: str
    lo: float
    hi: float
    log: bool = False

    def value(self, u: float) -> float:
        """The parameter's value at unit-box coordinate ``u`` (0-1)."""
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            return float(math.exp(math.log(self.lo) + u * (math.log(self.hi) - math.log(self.lo))))
        return float(self.lo + u * (self.hi - self.lo))

    def unit(self, v: float) -> float:
        """The unit-box coordinate (0-1) of value ``v``."""
        if self.log:
            u = (math.log(max(v, 1e-300)) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        else:
            u = (v - self.lo) / (self.hi - self.lo)
        return min(max(u, 0.0), 1.0)


GAIN_SCALE = "gain_scale"
ENTRY_SCORE = "entry_score"
VIRTUAL = {
    GAIN_SCALE: "every sector's population.sectors.*.violation_gain times one factor (x)",
    ENTRY_SCORE: "the score of a merchant without records before and under the plan (policy.tiers.entry_score "
                 "and pre_plan.tiers.entry_score, score points): how the credit-risk classification treats a "
                 "merchant it knows nothing bad about",
}
"""Parameters that set several scenario values at once."""
TYPE_SHARES = tuple(f"population.type_mix.{t}" for t in ("strategic", "defiant", "careless"))

DEFAULT_RANGES = {
    GAIN_SCALE: (0.25, 4.0),
    ENTRY_SCORE: (70.0, 98.0),
    "population.type_mix.strategic": (0.05, 0.70),
    "population.type_mix.defiant": (0.0, 0.20),
    "population.type_mix.careless": (0.0, 0.40),
    "behaviour.learning.rate": (0.01, 0.5),
    "behaviour.learning.initial_perceived_detection": (0.005, 0.3),
    "behaviour.capability.unintended_rate": (0.002, 0.1),
    "behaviour.careless_violation_rate": (0.005, 0.3),
    "behaviour.choice_noise": (0.05, 3.0),
    "behaviour.consequence_weight": (0.0, 1.0),
    "behaviour.risk_aversion": (0.0, 3.0),
}
"""Search ranges of the parameters most often fitted (plausible values, wider than the defaults' sources
suggest); any other uncertainty is searched over its schema range (docs/PARAMETERS.md)."""

DEFAULT_PARAMETERS = (GAIN_SCALE, "population.type_mix.strategic", "population.type_mix.defiant",
                      "behaviour.learning.rate", "behaviour.capability.unintended_rate")
"""Fitted when ``--parameters`` is not given: the level of violation gains, the shares of strategic and defiant
merchants (honest merchants take the remainder), how fast beliefs learn, and unintended violations — those the
records' hit rates and tier mix respond to most (see docs/CALIBRATION.md, "which parameters")."""


def _uncertainties() -> dict[str, dict]:
    from sim.model.schema import parameter_table

    return {r["path"]: r for r in parameter_table()
            if r["role"] in ("uncertainty", "population", "lever")
            and isinstance(r["default"], (int, float)) and not isinstance(r["default"], bool)}


def parse_parameters(texts: list[str] | None, source: str = "--parameters") -> list[Parameter]:
    """Parameters from ``PATH`` or ``PATH=LO:HI`` texts (default :data:`DEFAULT_PARAMETERS`): ``gain_scale`` or a
    numeric parameter of the schema, usually a behavioural uncertainty (``behaviour.*``, ``population.type_mix.*``,
    a sector's ``violation_gain``); a lever may be fitted too (it then says what the records imply the bureau
    did, e.g. how it scored merchants without records: ``policy.tiers.entry_score``).

    Raises
    ------
    InputError
        One line per unknown path, lever, bad range, or the honest share (it is the remainder).
    """
    table = _uncertainties()
    out: list[Parameter] = []
    problems: list[Problem] = []
    for text in texts or DEFAULT_PARAMETERS:
        path, _, rng = text.partition("=")
        path = path.strip()
        if path == "population.type_mix.honest":
            problems.append(Problem(source, path, text, "the honest share is what the other types leave: fit "
                                    "strategic, defiant or careless"))
            continue
        if path not in VIRTUAL and path not in table:
            problems.append(Problem(source, path, text, f"{GAIN_SCALE} or a numeric parameter of the schema "
                                    "(docs/PARAMETERS.md), e.g. behaviour.learning.rate"))
            continue
        row = table.get(path, {"lo": 0.01, "hi": 100.0, "integer": False} if path == GAIN_SCALE else
                        {"lo": 0.0, "hi": 100.0, "integer": False})
        if row.get("integer"):
            problems.append(Problem(source, path, text, "a parameter that takes any number (not whole numbers)"))
            continue
        lo, hi = DEFAULT_RANGES.get(path, (row["lo"], row["hi"]))
        if rng:
            a, sep, b = rng.partition(":")
            try:
                lo, hi = float(a), float(b)
                ok = sep == ":" and math.isfinite(lo) and math.isfinite(hi) and lo < hi
            except ValueError:
                ok = False
            if not ok:
                problems.append(Problem(source, path, rng, "a range LO:HI of two numbers, LO < HI"))
                continue
        if lo is None or hi is None:
            problems.append(Problem(source, path, text, "a range LO:HI (this parameter has no schema bound)"))
            continue
        slo, shi = row["lo"], row["hi"]
        if (slo is not None and lo < slo) or (shi is not None and hi > shi):
            problems.append(Problem(source, path, f"{lo:g}:{hi:g}", f"a range within the schema's {slo}:{shi}"))
            continue
        if any(p.path == path for p in out):
            problems.append(Problem(source, path, text, "each parameter once"))
            continue
        out.append(Parameter(path, float(lo), float(hi), log=path == GAIN_SCALE or (lo > 0 and hi / lo >= 30)))
    if problems:
        raise InputError(problems)
    return out


def apply(base: dict, params: list[Parameter], values: list[float]) -> dict:
    """The resolved scenario mapping ``base`` (``Scenario.model_dump(mode="json")``) with ``values`` set (a copy).
    ``gain_scale`` multiplies every sector's violation gain in ``base``; fitted type shares leave the honest
    share the remainder (it may come out negative: the scenario's validation refuses such a candidate)."""
    import copy

    data = copy.deepcopy(base)
    for p, v in zip(params, values):
        if p.path == GAIN_SCALE:
            for s in data["population"]["sectors"].values():
                s["violation_gain"] = min(1.0, s["violation_gain"] * v)
            continue
        if p.path == ENTRY_SCORE:
            for block in ("policy", "pre_plan"):
                if data.get(block) is not None:
                    data[block]["tiers"]["entry_score"] = v
            continue
        node = data
        parts = p.path.split(".")
        for k in parts[:-1]:
            node = node[k]
        node[parts[-1]] = v
    if any(p.path in TYPE_SHARES for p in params):
        mix = data["population"]["type_mix"]
        mix["honest"] = 1.0 - sum(mix[t] for t in ("strategic", "defiant", "careless"))
    return data


def base_value(base: dict, p: Parameter) -> float:
    """The parameter's value in the base scenario (``gain_scale``: 1; ``entry_score``: the plan's)."""
    if p.path == GAIN_SCALE:
        return 1.0
    if p.path == ENTRY_SCORE:
        return float(base["policy"]["tiers"]["entry_score"])
    node = base
    for k in p.path.split("."):
        node = node[k]
    return float(node)


# ---------------------------------------------------------------------------------------------------------
# moments
# ---------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MomentSpec:
    """The moments a set of records supports: ``rows`` one dict each (``moment``, ``regime``, ``year``,
    ``sector``, ``tier``); per regime, the months its runs must cover (``months``)."""

    rows: tuple
    months: dict

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def regimes(self) -> list[str]:
        """The policy regimes the model runs for these moments (``plan``, ``pre_plan``, ``plan_uniform``)."""
        return sorted({base_regime(r) for r in self.months})

    def frame(self) -> pd.DataFrame:
        """The moments as a table, one row each."""
        return pd.DataFrame(list(self.rows), columns=["moment", "regime", "year", "sector", "tier"])


def _year_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells added up by (regime, year, sector, tier); a year is months 12y..12y+11 of its regime; merchants
    are those of the year's last cell that gives them."""
    c = cells.copy()
    c["year"] = c["month0"] // 12
    g = c.groupby(["regime", "year", "sector", "tier"], sort=True)
    out = g[["checks", "problems", "serious", "penalties_cny", "new_listings"]].sum(min_count=1)
    out["merchants"] = g["merchants"].last()
    out["relative"] = g["relative"].first().astype(bool)
    return out.reset_index()


def moment_spec(records) -> MomentSpec:
    """The moments ``records`` (:class:`sim.experiment.records.Records`) support, in a fixed order."""
    yc = _year_cells(records.cells)
    rows = []
    relative = set(yc.loc[yc.relative, "regime"])
    for (regime, year), cell in yc.groupby(["regime", "year"], sort=True):
        if regime in relative:
            continue
        allrow = cell[(cell.sector == "") & (cell.tier == "")]
        tiers = cell[(cell.sector == "") & (cell.tier != "")]
        for r in cell.itertuples():
            if r.checks == r.checks and r.checks > 0 and not r.sector:  # sectors: over all years, below
                rows.append({"moment": "hit_rate", "regime": regime, "year": int(year), "sector": r.sector,
                             "tier": r.tier})
        total_checks = float(allrow.checks.iloc[0]) if len(allrow) and allrow.checks.iloc[0] == allrow.checks.iloc[0] \
            else float(tiers.checks.sum(min_count=1))
        if len(tiers) and total_checks == total_checks and total_checks > 0 and tiers.checks.notna().all():
            rows += [{"moment": "check_share", "regime": regime, "year": int(year), "sector": "", "tier": t}
                     for t in tiers.tier if t != SHARE_DROPPED]
        if len(tiers) and tiers.merchants.notna().all() and tiers.merchants.sum() > 0:
            rows += [{"moment": "tier_share", "regime": regime, "year": int(year), "sector": "", "tier": t}
                     for t in tiers.tier if t != SHARE_DROPPED]
        # listings per check from published totals only: a check's row shows only the listings of its month,
        # the model's count (and a bureau's total) also those recognised later and after complaints
        if records.form == "aggregates" and len(allrow) and allrow.new_listings.notna().all() and \
                allrow.checks.iloc[0] > 0:
            rows.append({"moment": "listings_per_check", "regime": regime, "year": int(year), "sector": "",
                         "tier": ""})
        found = allrow.problems.iloc[0] if len(allrow) else float("nan")
        if found == found and found > 0:
            if allrow.serious.notna().all():
                rows.append({"moment": "serious_share", "regime": regime, "year": int(year), "sector": "",
                             "tier": ""})
            if allrow.penalties_cny.notna().all():
                rows.append({"moment": "penalty_per_problem", "regime": regime, "year": int(year), "sector": "",
                             "tier": ""})
    rows += _relative_moments(yc, relative)
    # sectors' hit rates over all the records' years (ALL_YEARS): a sector's checks are few in one year
    for regime, cell in yc[(yc.sector != "") & ~yc.relative].groupby("regime", sort=True):
        checks = cell.groupby("sector")["checks"].sum(min_count=1)
        rows += [{"moment": "hit_rate", "regime": regime, "year": ALL_YEARS, "sector": sector, "tier": ""}
                 for sector, n in checks.items() if n == n and n > 0]
    needed = {m["regime"] for m in rows} | {m["regime"].rpartition("/")[0] + "/plan" for m in rows
                                            if m["moment"] == "hit_rate_ratio"}
    months = {}
    for regime, c in records.cells.groupby("regime"):
        if regime in needed:
            months[regime] = int((c.month0 + c.months).max())
    return MomentSpec(tuple(rows), months)


def _relative_moments(yc: pd.DataFrame, relative: set) -> list[dict]:
    """A relative series' moments: each tier's share in a later year against its first year's
    (``tier_share_change``), and hit rates of its ``plan_uniform`` rows against its ``plan`` rows of the same
    year and group (``hit_rate_ratio``)."""
    rows = []
    for series in sorted({r.rpartition("/")[0] for r in relative}):
        plan, uniform = f"{series}/plan", f"{series}/plan_uniform"
        tiers = yc[(yc.regime == plan) & (yc.sector == "") & (yc.tier != "") & yc.merchants.notna()]
        for tier, g in tiers.groupby("tier", sort=True):
            years = sorted(int(y) for y in g.year)
            rows += [{"moment": "tier_share_change", "regime": plan, "year": y, "sector": "", "tier": tier,
                      "ref_year": years[0]} for y in years[1:]]
        look = _lookup(yc)
        for r in yc[(yc.regime == uniform) & (yc.checks > 0)].itertuples():
            p = look.get((plan, int(r.year), r.sector, r.tier))
            if p is not None and p.checks > 0 and p.problems > 0:
                rows.append({"moment": "hit_rate_ratio", "regime": uniform, "year": int(r.year), "sector": r.sector,
                             "tier": r.tier})
    return rows


def base_regime(regime: str) -> str:
    """The policy regime of a records regime (``SERIES/REGIME`` -> ``REGIME``)."""
    return regime.rpartition("/")[2]


def _lookup(yc: pd.DataFrame) -> dict:
    return {(r.regime, int(r.year), r.sector, r.tier): r for r in yc.itertuples()}


def _num_den(spec: MomentSpec, get) -> tuple[np.ndarray, np.ndarray]:
    """Numerators and denominators of every moment, from ``get(regime, year, sector, tier, column)``."""
    num = np.zeros(len(spec))
    den = np.zeros(len(spec))
    for i, m in enumerate(spec.rows):
        key = (m["regime"], m["year"])
        if m["moment"] == "hit_rate" and m["year"] == ALL_YEARS:
            years = range((spec.months[m["regime"]] + 11) // 12)
            num[i] = sum(get(m["regime"], y, m["sector"], m["tier"], "problems") for y in years)
            den[i] = sum(get(m["regime"], y, m["sector"], m["tier"], "checks") for y in years)
        elif m["moment"] == "hit_rate":
            num[i] = get(*key, m["sector"], m["tier"], "problems")
            den[i] = get(*key, m["sector"], m["tier"], "checks")
        elif m["moment"] == "check_share":
            num[i] = get(*key, "", m["tier"], "checks")
            den[i] = sum(get(*key, "", t, "checks") for t in TIERS)
        elif m["moment"] == "tier_share":
            num[i] = get(*key, "", m["tier"], "merchants")
            den[i] = get(*key, "", "", "merchants") or sum(get(*key, "", t, "merchants") for t in TIERS)
        elif m["moment"] == "tier_share_change":  # a ratio of shares: its own denominator is 1

            def share(y):
                n = get(m["regime"], y, "", "", "merchants") or sum(get(m["regime"], y, "", t, "merchants")
                                                                    for t in TIERS)
                return get(m["regime"], y, "", m["tier"], "merchants") / n if n > 0 else float("nan")
            ref = share(m["ref_year"])
            num[i], den[i] = (share(m["year"]) / ref if ref > 0 else float("nan")), 1.0
        elif m["moment"] == "hit_rate_ratio":
            plan = m["regime"].rpartition("/")[0] + "/plan"

            def rate(regime):
                n = get(regime, m["year"], m["sector"], m["tier"], "checks")
                return get(regime, m["year"], m["sector"], m["tier"], "problems") / n if n > 0 else float("nan")
            ref = rate(plan)
            num[i], den[i] = (rate(m["regime"]) / ref if ref > 0 else float("nan")), 1.0
        elif m["moment"] == "serious_share":
            num[i] = get(*key, "", "", "serious")
            den[i] = get(*key, "", "", "problems")
        elif m["moment"] == "penalty_per_problem":  # thousand CNY per problem found
            num[i] = get(*key, "", "", "penalties_cny") / 1000.0
            den[i] = get(*key, "", "", "problems")
        else:
            num[i] = get(*key, "", "", "new_listings")
            den[i] = get(*key, "", "", "checks")
    return num, den


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def data_moments(records, spec: MomentSpec) -> tuple[np.ndarray, np.ndarray]:
    """The observed moments (:func:`moment_spec`'s order) and their denominators (checks or merchants)."""
    look = _lookup(_year_cells(records.cells))

    def get(regime, year, sector, tier, col):
        r = look.get((regime, year, sector, tier))
        v = getattr(r, col) if r is not None else 0.0
        return 0.0 if v != v else float(v)

    num, den = _num_den(spec, get)
    return _ratio(num, den), den


def data_covariance(records, spec: MomentSpec, pilot: np.ndarray | None = None, pilot_den: np.ndarray | None = None,
                    draws: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """The observed moments' covariance (see the module docstring).

    The bootstrap gives each moment's variance and, for records of single checks (merchants resampled with
    all their checks), the correlations too. Aggregates do not say how their rows overlap (the same checks
    counted by sector, by tier and in all), so their correlations come from the model's replications at the
    base scenario (``pilot``: replications x moments, ``pilot_den`` their mean denominators). Each variance is
    at least the binomial variance of a proportion with half a success and half a failure added, and at least
    the model's variance across replications scaled to the records' denominators (a city's shared shocks, which
    one city's records cannot show). Shrunk :data:`SHRINK` toward the diagonal.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xB007,)))
    obs, den = data_moments(records, spec)
    if records.merchant_checks is not None:
        boots = _bootstrap_checks(records, spec, draws, rng)
    else:
        boots = _bootstrap_aggregates(records, spec, draws, rng)
    boots = np.where(np.isnan(boots), obs, boots)
    cov = np.atleast_2d(np.cov(boots, rowvar=False)) if len(spec) > 1 else np.array([[np.var(boots, ddof=1)]])
    raw = np.diag(cov).copy()
    proportion = np.array([m["moment"] in PROPORTIONS for m in spec.rows])
    p = np.clip((np.nan_to_num(obs) * den + 0.5) / (den + 1.0), 0.0, 1.0)
    floor = np.where(proportion, p * (1 - p) / np.maximum(den, 1.0), 0.0)
    corr = _corr(cov)
    if pilot is not None:
        pm = np.where(np.isnan(pilot), np.nanmean(pilot, axis=0), pilot)
        pm = np.nan_to_num(pm, nan=0.0)
        pcov = np.atleast_2d(np.cov(pm, rowvar=False))
        scale = np.where(den > 0, np.asarray(pilot_den) / np.maximum(den, 1.0), 1.0)
        floor = np.maximum(floor, np.diag(pcov) * scale)
        if records.merchant_checks is None:
            corr = _corr(pcov)
    d = np.maximum(raw, floor)
    cov = corr * np.sqrt(np.outer(d, d))
    return (1 - SHRINK) * cov + SHRINK * np.diag(np.diag(cov))


def model_covariance(m: np.ndarray) -> np.ndarray:
    """The covariance of the moments across replications (replications x moments; an undefined moment counts
    as its mean), shrunk :data:`SHRINK` toward the diagonal."""
    m = np.where(np.isnan(m), np.nanmean(np.where(np.isnan(m), np.nan, m), axis=0) if np.isnan(m).any() else 0.0, m)
    m = np.nan_to_num(m, nan=0.0)
    c = np.atleast_2d(np.cov(m, rowvar=False))
    return (1 - SHRINK) * c + SHRINK * np.diag(np.diag(c))


def _corr(cov: np.ndarray) -> np.ndarray:
    """The correlation matrix of ``cov`` (0 off the diagonal for a moment without variance)."""
    raw = np.diag(cov)
    sd = np.sqrt(np.where(raw > 0, raw, 1.0))
    corr = np.where(np.outer(raw > 0, raw > 0), cov / np.outer(sd, sd), 0.0)
    np.fill_diagonal(corr, 1.0)
    return corr


def _bootstrap_checks(records, spec: MomentSpec, draws: int, rng) -> np.ndarray:
    """Moments of ``draws`` resamples of the merchants (each merchant's checks kept together)."""
    from scipy import sparse

    mc = records.merchant_checks
    merchants, midx = np.unique(mc["merchant"].to_numpy(), return_inverse=True)
    year = (mc["month"].to_numpy() // 12).astype(np.int64)
    keys = {}
    cols = []
    rows = []
    for i, (y, s, t) in enumerate(zip(year, mc["sector"], mc["tier"])):
        for k in (("plan", int(y), "", ""), ("plan", int(y), s, ""), ("plan", int(y), "", t)):
            j = keys.setdefault(k, len(keys))
            rows.append(i)
            cols.append(j)
    ind = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(mc), len(keys)))
    w = rng.poisson(1.0, size=(draws, len(merchants))).astype(np.float64)[:, midx]  # (draws, checks)
    col = {"checks": np.asarray((sparse.csr_matrix(w) @ ind).todense())}
    for c in ("problems", "serious", "penalties_cny", "new_listings"):
        x = mc[c].to_numpy().astype(np.float64)
        col[c] = np.asarray((sparse.csr_matrix(w * x) @ ind).todense())
    out = np.empty((draws, len(spec)))
    for b in range(draws):
        def get(regime, year, sector, tier, c, b=b):
            j = keys.get((regime, year, sector, tier))
            return 0.0 if j is None or c == "merchants" else float(col[c][b, j])
        num, den = _num_den(spec, get)
        out[b] = _ratio(num, den)
    return out


def _bootstrap_aggregates(records, spec: MomentSpec, draws: int, rng) -> np.ndarray:
    """Moments of ``draws`` parametric redraws of the aggregates: problems binomial given checks, the tier mix
    multinomial given the merchants, listings Poisson."""
    yc = _year_cells(records.cells)
    look = _lookup(yc)
    drawn = {}
    for key, r in look.items():
        d = {}
        if r.checks == r.checks and r.checks > 0:
            p = (r.problems + 0.5) / (r.checks + 1.0)
            d["problems"] = rng.binomial(int(r.checks), p, size=draws).astype(np.float64)
            d["checks"] = np.full(draws, float(r.checks))
            if r.serious == r.serious:
                q = (r.serious + 0.5) / (r.problems + 1.0)
                d["serious"] = rng.binomial(d["problems"].astype(np.int64), q).astype(np.float64)
            if r.penalties_cny == r.penalties_cny:  # the penalty per problem as found; its spread: the model's
                d["penalties_cny"] = r.penalties_cny * d["problems"] / max(r.problems, 1.0)
        if r.new_listings == r.new_listings:
            d["new_listings"] = rng.poisson(float(r.new_listings), size=draws).astype(np.float64)
        drawn[key] = d
    for (regime, year), g in yc[(yc.sector == "") & (yc.tier != "")].groupby(["regime", "year"]):
        if g.merchants.notna().all() and g.merchants.sum() > 0:
            total = look.get((regime, int(year), "", ""))
            n = int(total.merchants) if total is not None and total.merchants == total.merchants else \
                int(g.merchants.sum())
            counts = np.append(g.merchants.to_numpy(), max(n - g.merchants.sum(), 0.0))  # the tiers not given
            shares = (counts + 0.5) / (counts.sum() + 0.5 * len(counts))
            mult = rng.multinomial(n, shares / shares.sum(), size=draws)
            for j, t in enumerate(g.tier):
                drawn[(regime, int(year), "", t)]["merchants"] = mult[:, j].astype(np.float64)
    out = np.empty((draws, len(spec)))
    for b in range(draws):
        def get(regime, year, sector, tier, c, b=b):
            d = drawn.get((regime, year, sector, tier), {})
            if c in d:
                return float(d[c][b])
            r = look.get((regime, year, sector, tier))
            v = getattr(r, c) if r is not None else 0.0
            return 0.0 if v != v else float(v)
        num, den = _num_den(spec, get)
        out[b] = _ratio(num, den)
    return out


def run_moments(spec: MomentSpec, runs: dict, denominators: bool = False):
    """The moments of one replication from each regime's run (``runs[regime]``: its
    :class:`sim.model.metrics.Months`); with ``denominators``, also each moment's denominator (checks or
    merchants)."""
    from sim.experiment.records import GROUPS, month_cells

    col_of = {g: j for j, g in enumerate(GROUPS)}
    per = {}
    for regime, months in runs.items():
        c = month_cells(months)
        n = c["checks"].shape[0]
        years = {}
        for y in range((n + 11) // 12):
            sl = slice(12 * y, min(12 * y + 12, n))
            years[y] = {"checks": c["checks"][sl].sum(axis=0), "problems": c["problems"][sl].sum(axis=0),
                        "serious": c["serious"][sl].sum(axis=0), "penalties_cny": c["penalties_cny"][sl].sum(axis=0),
                        "merchants": c["merchants"][sl.stop - 1], "new_listings": float(c["new_listings"][sl].sum())}
        per[regime] = years

    def get(regime, year, sector, tier, col):
        y = per.get(base_regime(regime), {}).get(year)
        if y is None:
            return 0.0
        if col == "new_listings":
            return y[col]
        return float(y[col][col_of[(sector, tier)]])

    num, den = _num_den(spec, get)
    return (_ratio(num, den), den) if denominators else _ratio(num, den)


# ---------------------------------------------------------------------------------------------------------
# the simulation side
# ---------------------------------------------------------------------------------------------------------

@dataclass
class FitProblem:
    """What a candidate is evaluated against: the base scenario (resolved mapping), the fitted parameters, the
    moments, the seed and replications (common random numbers: the same for every candidate), drawn from
    ``SeedSequence(seed, spawn_key=(stream, r))``."""

    base: dict
    params: list
    spec: MomentSpec
    seed: int
    reps: int
    engine: str = "fast"
    stream: int = 0xCA11B
    volume: float | None = None


    def scenarios(self, values: list[float]) -> dict:
        """The scenario of each regime the records hold at ``values`` (validated), or raise InputError."""
        from sim.experiment.decompose import _uniform
        from sim.model.schema import validate_dict

        data = apply(self.base, self.params, values)
        months: dict[str, int] = {}
        for regime, n in self.spec.months.items():
            months[base_regime(regime)] = max(months.get(base_regime(regime), 1), n)
        out = {}
        for regime, n in months.items():
            d = json.loads(json.dumps(data))
            d["population"]["months"] = n
            if regime == "pre_plan" and d.get("pre_plan") is not None:
                d["policy"] = d["pre_plan"]
            if regime == "plan_uniform":  # the plan's checks, as many, drawn uniformly; list check factors 1
                pol = d["policy"]
                pol["inspection"] = _uniform(pol["inspection"], self.volume or 0.0)
                for lst in pol["lists"].values():
                    if "check_factor" in lst:
                        lst["check_factor"] = 1.0
            out[regime] = validate_dict(d, "candidate")
        return out


def simulate(problem: FitProblem, values: list[float], threads: bool = True, reps: int | None = None,
             denominators: bool = False):
    """The moments of each replication at ``values``: shape (reps, moments); None if the values break a rule of
    the scenario (e.g. type shares above one). ``reps``: other than the problem's (the pilot); ``denominators``:
    also the mean denominator of each moment."""
    from sim.experiment.runner import _replications
    from sim.model.params import compile_scenario

    try:
        scns = problem.scenarios(values)
    except InputError:
        return None
    runs = {}
    for regime, scn in scns.items():
        params = compile_scenario(scn)
        gens = [np.random.default_rng(np.random.SeedSequence(problem.seed, spawn_key=(problem.stream, r)))
                for r in range(reps or problem.reps)]
        if threads:
            runs[regime] = _replications(problem.engine, params, gens, None)
        else:
            from sim.model.engines import get_engine
            runs[regime] = [get_engine(problem.engine)(params, g) for g in gens]
    out = [run_moments(problem.spec, {k: v[r] for k, v in runs.items()}, True) for r in range(reps or problem.reps)]
    m = np.stack([x[0] for x in out])
    return (m, np.mean([x[1] for x in out], axis=0)) if denominators else m


def _sim_mean(m: np.ndarray) -> np.ndarray:
    """Mean over replications ignoring undefined moments; a moment undefined in every replication (no checks of
    that group) counts as 0."""
    if not np.isnan(m).any():
        return m.mean(axis=0)
    n = (~np.isnan(m)).sum(axis=0)
    return np.where(n > 0, np.nansum(m, axis=0) / np.maximum(n, 1), 0.0)


def objective(obs: np.ndarray, W: np.ndarray, m: np.ndarray | None) -> float:
    """``Q = g' W g`` with ``g`` observed minus mean simulated moments; infinite for a candidate not run."""
    if m is None:
        return math.inf
    g = obs - _sim_mean(m)
    return float(g @ W @ g)


# ---------------------------------------------------------------------------------------------------------
# evaluations: kept in a state file, run here or on a Dask cluster
# ---------------------------------------------------------------------------------------------------------

def _task(problem: FitProblem, values: list[float]) -> list | None:
    """One candidate's replications on a worker (one replication after another: a worker is one core)."""
    m = simulate(problem, values, threads=False)
    return None if m is None else m.tolist()


class Evaluations:
    """Every candidate evaluated so far, by its unit-box coordinates, appended to a JSON-lines state file (if
    given) whose first line holds the digest of what determines the values; a file of another digest is
    ignored and replaced."""

    def __init__(self, problem: FitProblem, digest: str, state: Path | None = None, client=None) -> None:
        self.problem = problem
        self.digest = digest
        self.state = state
        self.client = client
        self.done: dict[tuple, np.ndarray | None] = {}
        self.order: list[tuple] = []
        self.resumed = 0
        self.runs = 0
        if state is not None and state.is_file():
            self._load(state)
        if state is not None and not self.done:
            state.write_text(json.dumps({"digest": digest}) + "\n", encoding="utf-8")

    def _load(self, state: Path) -> None:
        lines = state.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0]) if lines else {}
        except ValueError:
            head = {}
        if head.get("digest") != self.digest:
            return
        for line in lines[1:]:
            try:
                doc = json.loads(line)
                key = tuple(float(x) for x in doc["u"])
                m = None if doc["m"] is None else np.asarray(doc["m"], dtype=np.float64)
            except (ValueError, KeyError, TypeError):  # a line cut short by a kill: the rest is rerun
                break
            if key not in self.done:
                self.order.append(key)
            self.done[key] = m
        self.resumed = len(self.done)

    def values(self, u) -> list[float]:
        """Parameter values at unit coordinates ``u``."""
        return [p.value(x) for p, x in zip(self.problem.params, u)]

    def __call__(self, us: list) -> list[np.ndarray | None]:
        """Each candidate's replications' moments (reps, moments), evaluating those not done yet."""
        keys = [tuple(float(x) for x in u) for u in us]
        todo = list(dict.fromkeys(k for k in keys if k not in self.done))
        if todo:
            vals = [self.values(k) for k in todo]
            if self.client is not None:
                futures = self.client.map(_task, [self.problem] * len(todo), vals, pure=False)
                got = [None if r is None else np.asarray(r) for r in self.client.gather(futures)]
            else:
                got = [simulate(self.problem, v) for v in vals]
            for k, m in zip(todo, got):
                self.done[k] = m
                self.order.append(k)
                self.runs += 0 if m is None else m.shape[0] * len(self.problem.spec.regimes)
            if self.state is not None:
                with self.state.open("a", encoding="utf-8") as f:
                    for k, m in zip(todo, got):
                        f.write(json.dumps({"u": list(k), "m": None if m is None else m.tolist()}) + "\n")
                    f.flush()
        return [self.done[k] for k in keys]


# ---------------------------------------------------------------------------------------------------------
# the calibration
# ---------------------------------------------------------------------------------------------------------

@dataclass
class CalibrationResult:
    """What :func:`calibrate` found. Per parameter (``params``' order): ``estimate``, ``se`` (standard error,
    the parameter's unit), ``lo``/``hi`` (95% interval, within the range), ``status`` (``identified``,
    ``weakly identified`` or ``unidentified``) and ``slice_rise`` (how much ``Q`` rises across the range).
    ``J`` with ``df`` and ``p_value``: the fit statistic against chi-squared(df). ``fit``: one row per moment
    (observed, its standard error, simulated mean and the 95% band of one replication, standardised residual).
    ``runs``: model runs made by this call (``resumed``: candidates read from the state file). ``traded_off``:
    per parameter, the one its estimate is most correlated with when the correlation is 0.5 or more in size
    (the records pin their combination better than either), else ``""``."""

    params: list
    estimate: list
    se: list
    lo: list
    hi: list
    status: list
    slice_rise: list
    J: float
    df: int
    p_value: float
    fit: pd.DataFrame
    evaluations: pd.DataFrame
    slices: dict
    runs: int
    resumed: int
    candidates: int
    seconds: float
    base_values: list = field(default_factory=list)
    traded_off: list = field(default_factory=list)

    def estimates(self) -> pd.DataFrame:
        """The estimates as a table, one row per parameter."""
        return pd.DataFrame({
            "parameter": [p.path for p in self.params], "estimate": self.estimate, "se": self.se, "lo": self.lo,
            "hi": self.hi, "base": self.base_values, "range_lo": [p.lo for p in self.params],
            "range_hi": [p.hi for p in self.params], "status": self.status, "slice_rise": self.slice_rise,
            "traded_off_with": self.traded_off or [""] * len(self.params)})


def digest_of(records, base: dict, params: list, reps: int, seed: int, engine: str) -> str:
    """SHA-256 (hex) of what determines a calibration's evaluations: the records' cells, the base scenario, the
    parameters and ranges, replications, seed, engine and code version."""
    from sim.experiment.runner import code_version

    doc = {"cells": records.cells.to_csv(index=False),
           "checks": None if records.merchant_checks is None else records.merchant_checks.to_csv(index=False),
           "base": base, "params": [(p.path, p.lo, p.hi, p.log) for p in params], "reps": reps, "seed": seed,
           "engine": engine, "code": code_version()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


PILOT_STREAM = 0xB11
"""First spawn key of the pilot's replications; candidates' replications use ``FitProblem.stream`` (0xCA11B).
Runs and records use spawn keys ``(r,)`` (:func:`sim.experiment.runner.rep_generators`), so no replication of
a calibration is ever the very world its records came from, whatever the seeds."""
PILOT_REPS = 40
"""Fewest replications of the base scenario for the model's side of the moments' covariance (at least twice
four times the number of moments are run, so the correlations are of full rank and their inverse's bias,
corrected by the Hartlap factor, is below a half)."""
STEP = 0.1
"""Step of the central differences for the moments' derivatives, in unit-box coordinates (10% of a range: wide
enough that the replications' discrete events do not pass for curvature)."""
SLICE_POINTS = 9
"""Points of each parameter's slice across its range."""


NEIGHBOURHOOD = 0.25
"""Half-width (unit-box coordinates) of the neighbourhood of the estimate whose evaluated candidates give the
moments' derivatives."""


def derivatives(ev: Evaluations, u_hat: np.ndarray) -> np.ndarray:
    """The mean moments' derivatives in unit-box coordinates at ``u_hat`` (moments x parameters): the slopes of
    a least-squares plane through every candidate evaluated within :data:`NEIGHBOURHOOD` of it (the search's
    last generations, the central differences and the slices' nearest points). A plane through many candidates
    averages out the replications' discrete events that make two-point differences noisy, and the search's
    candidates spread along the directions where the fit is flat, which the differences alone miss."""
    us, ms = [], []
    for key in ev.order:
        m = ev.done[key]
        u = np.asarray(key)
        if m is not None and np.max(np.abs(u - u_hat)) <= NEIGHBOURHOOD + 1e-12:
            us.append(u - u_hat)
            ms.append(_sim_mean(m))
    X = np.c_[np.ones(len(us)), np.asarray(us)]
    coef, *_ = np.linalg.lstsq(X, np.asarray(ms), rcond=None)
    return coef[1:].T


def slice_interval(grid, qs, u_hat: float, q_hat: float) -> tuple[float, float]:
    """The unit-box interval around ``u_hat`` where a slice (``qs`` at ``grid``, with ``q_hat`` at ``u_hat``) stays
    below ``q_hat`` + :data:`CHI2_1_95`, interpolated linearly between points; a bound of the range where it
    never rises that far."""
    pts = sorted([(float(g), float(q)) for g, q in zip(grid, qs)] + [(float(u_hat), float(q_hat))])
    limit = q_hat + CHI2_1_95
    i0 = pts.index((float(u_hat), float(q_hat)))

    def walk(step: int) -> float:
        prev = pts[i0]
        i = i0 + step
        while 0 <= i < len(pts):
            u, q = pts[i]
            if not math.isfinite(q) or q >= limit:
                if not math.isfinite(q) or q == prev[1]:
                    return prev[0]
                return prev[0] + (u - prev[0]) * (limit - prev[1]) / (q - prev[1])
            prev = pts[i]
            i += step
        return 0.0 if step < 0 else 1.0

    return walk(-1), walk(+1)


def calibrate(records, base, params: list | None = None, budget: int = 3000, reps: int = 8, seed: int = 0,
              engine: str = "fast", state: Path | None = None, client=None, progress: bool = True) -> CalibrationResult:
    """Fit ``params`` (:func:`parse_parameters`; default :data:`DEFAULT_PARAMETERS`) of the scenario ``base``
    (a :class:`sim.model.schema.Scenario`) to ``records`` (:func:`sim.experiment.records.read_records`).

    ``budget`` model runs for the search (CMA-ES; each candidate is ``reps`` replications per regime), then
    ``2 k`` candidates for the derivatives and ``9 k`` for the slices. ``state``: the JSON-lines file that keeps
    every evaluation (a killed calibration resumes from it to the same result). ``client``: a Dask client to run
    candidates on (else here, replications side by side in threads). See the module docstring for the method.
    """
    import cma
    from scipy import stats
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    params = list(params or parse_parameters(None))
    base_dict = base.model_dump(mode="json")
    spec = moment_spec(records)
    if len(spec) <= len(params):
        raise InputError([Problem(records.source, "(records)", f"{len(spec)} moments",
                                  f"more moments than parameters ({len(params)}): records of more years, tiers or "
                                  "sectors, or fewer --parameters")])
    obs, den = data_moments(records, spec)
    volume = None
    if "plan_uniform" in spec.regimes:  # the base plan's checks per merchant a year, for its uniform variant
        from sim.experiment.decompose import volume_of
        from sim.experiment.runner import run_scenario

        plan = FitProblem(base_dict, params, spec, seed, 1, engine).scenarios(
            [base_value(base_dict, p) for p in params])["plan"]
        volume = volume_of(run_scenario(plan, reps=4, seed=seed, engine=engine, progress=False).timeseries)
    problem = FitProblem(base_dict, params, spec, seed, reps, engine, volume=volume)
    # the pilot: the base scenario's replications, for the model's side of the moments' covariance
    pilot_reps = max(PILOT_REPS, 4 * len(spec))
    pilot = simulate(FitProblem(base_dict, params, spec, seed, pilot_reps, engine, PILOT_STREAM, volume),
                     [base_value(base_dict, p) for p in params], denominators=True)
    if pilot is None:
        raise InputError([Problem("--scenario", "(scenario)", base.name, "a base scenario that runs")])
    cov = data_covariance(records, spec, pilot[0], pilot[1], seed=seed)
    # the inverse of a covariance estimated from n draws overstates precision by (n - 1) / (n - p - 2) (Hartlap,
    # Simon & Schneider 2007): n the draws its correlations come from, p the moments
    n = BOOTSTRAP if records.merchant_checks is not None else pilot_reps
    hartlap = (n - len(spec) - 2) / (n - 1)
    # the simulated mean of R replications adds the model's own covariance (at the model's size, which may be
    # smaller than the city's) over R: W is the inverse of the sum
    W = hartlap * np.linalg.inv(cov + model_covariance(pilot[0]) / reps)
    ev = Evaluations(problem, digest_of(records, base_dict, params, reps, seed, engine), state, client)
    per_candidate = reps * len(spec.regimes)
    n_candidates = max(budget // per_candidate, 4 * len(params))
    k = len(params)
    x0 = [min(max(p.unit(base_value(base_dict, p)), 0.05), 0.95) for p in params]
    opts = {"bounds": [0, 1], "seed": int(seed % (2**31 - 2)) + 1, "verbose": -9, "maxfevals": n_candidates,
            "tolfun": 1e-2, "tolx": 1e-3, "tolstagnation": 40}
    best = (math.inf, None)
    bar = tqdm(total=n_candidates, desc="calibrating", unit="candidate", disable=not progress, leave=False)
    seen = 0

    def q_of(us: list) -> list[float]:
        nonlocal best, seen
        qs = [objective(obs, W, m) for m in ev(us)]
        for u, q in zip(us, qs):
            if q < best[0]:
                best = (q, tuple(float(x) for x in u))
        seen += len(us)
        bar.update(len(us))
        bar.set_postfix_str(f"best Q {best[0]:.1f} on {len(spec) - k} df")
        return qs

    try:
        q_of([np.asarray(x0, dtype=np.float64)])
        if k == 1:  # CMA-ES needs two dimensions or more: a grid, then Brent's bounded search (scipy)
            from scipy.optimize import minimize_scalar

            grid0 = np.linspace(0.0, 1.0, 17)
            qs = q_of([np.array([g]) for g in grid0])
            i = int(np.argmin(qs))
            minimize_scalar(lambda x: q_of([np.array([float(x)])])[0], method="bounded",
                            bounds=(grid0[max(i - 1, 0)], grid0[min(i + 1, 16)]),
                            options={"xatol": 1e-3, "maxiter": max(n_candidates - 18, 5)})
        else:
            es = cma.CMAEvolutionStrategy(x0, 0.3, opts)
            while not es.stop():
                us = [np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0) for u in es.ask()]
                qs = q_of(us)
                es.tell(us, [q if math.isfinite(q) else 1e12 for q in qs])
        # central differences (common random numbers) and slices across each range around the best candidate;
        # if one of those points fits better, once more around it (the estimate is the best candidate evaluated)
        grid = np.linspace(0.0, 1.0, SLICE_POINTS)
        bar.set_description("intervals and slices")
        for _ in range(2):
            u_hat = np.asarray(best[1])
            pts = []
            for j in range(k):
                for s in (+1, -1):
                    u = u_hat.copy()
                    u[j] = min(max(u[j] + s * STEP, 0.0), 1.0)
                    pts.append(u)
            for j in range(k):
                for g in grid:
                    u = u_hat.copy()
                    u[j] = g
                    pts.append(u)
            bar.total = seen + len(pts)
            ms = ev(pts)
            seen += len(pts)
            bar.update(len(pts))
            better = min(zip((objective(obs, W, m) for m in ms), range(len(pts))))
            if better[0] >= best[0]:
                break
            best = (better[0], tuple(float(x) for x in pts[better[1]]))
        u_hat = np.asarray(best[1])
    finally:
        bar.close()
    m_hat = ev([u_hat])[0]
    sim_mean = _sim_mean(m_hat)
    G = derivatives(ev, u_hat)
    info = G.T @ W @ G
    lam, vec = np.linalg.eigh(info)
    flat = lam <= 1e-9 * max(float(lam.max()), 1e-300)  # directions the moments do not move along
    var_u = (vec[:, ~flat] / lam[~flat]) @ vec[:, ~flat].T
    se_u = np.sqrt(np.maximum(np.diag(var_u), 0.0))
    se_u[np.abs(vec[:, flat]).max(axis=1, initial=0.0) > 0.1] = np.inf
    corr = var_u / np.outer(np.where(se_u > 0, se_u, 1.0), np.where(se_u > 0, se_u, 1.0))
    q_hat = objective(obs, W, m_hat)
    slices, rise, qs_of = {}, [], []
    for j, p in enumerate(params):
        qs = [objective(obs, W, ms[2 * k + j * SLICE_POINTS + i]) for i in range(SLICE_POINTS)]
        qs_of.append(qs)
        slices[p.path] = ([p.value(g) for g in grid], qs)
        finite = [q for q in qs if math.isfinite(q)]
        rise.append(float(max(finite) - q_hat) if finite else 0.0)
    est, se, lo, hi, status, partner = [], [], [], [], [], []
    for j, p in enumerate(params):
        v = p.value(u_hat[j])
        deriv = (p.hi - p.lo) if not p.log else v * math.log(p.hi / p.lo)
        est.append(v)
        se.append(float(se_u[j] * deriv) if math.isfinite(se_u[j]) else math.inf)
        a = max(0.0, u_hat[j] - 1.96 * se_u[j]) if math.isfinite(se_u[j]) else 0.0
        b = min(1.0, u_hat[j] + 1.96 * se_u[j]) if math.isfinite(se_u[j]) else 1.0
        # and at least where the slice stays within the chi-squared(1) 95% rise of the minimum
        sa, sb = slice_interval(grid, qs_of[j], u_hat[j], q_hat)
        a, b = min(a, sa), max(b, sb)
        lo.append(p.value(a))
        hi.append(p.value(b))
        width = b - a
        others = [(abs(corr[j, i]), i) for i in range(k) if i != j and np.isfinite(corr[j, i])]
        c, i = max(others) if others else (0.0, j)
        partner.append(f"{params[i].path} ({corr[j, i]:+.2f})" if c >= 0.5 else "")
        if width > 0.5 or rise[j] < CHI2_1_95:
            status.append("unidentified")
        elif width > 0.25:
            status.append("weakly identified")
        else:
            status.append("identified")
    # the fit: J with the data's and the simulation's noise at the estimate
    sim_cov = np.atleast_2d(np.cov(np.nan_to_num(m_hat, nan=0.0), rowvar=False)) if reps > 1 else np.zeros_like(cov)
    sigma = cov + sim_cov / reps
    g = obs - sim_mean
    J = hartlap * float(g @ np.linalg.pinv(sigma, hermitian=True) @ g)
    df = len(spec) - k
    p_value = float(stats.chi2.sf(J, df))
    fit = spec.frame()
    fit["observed"] = obs
    fit["observed_se"] = np.sqrt(np.diag(cov))
    fit["denominator"] = den
    fit["simulated"] = sim_mean
    sd = np.sqrt(np.maximum(np.diag(sim_cov), 0.0))
    fit["sim_lo"] = np.clip(sim_mean - 1.96 * sd, 0.0, None)
    fit["sim_hi"] = sim_mean + 1.96 * sd
    fit["residual"] = g / np.sqrt(np.diag(sigma))
    evals = pd.DataFrame([dict(zip([p.path for p in params], ev.values(key))) | {"Q": objective(obs, W, ev.done[key])}
                          for key in ev.order])
    runs = ev.runs + pilot_reps * len(spec.regimes)
    return CalibrationResult(params, est, se, lo, hi, status, rise, J, df, p_value, fit, evals, slices, runs,
                             ev.resumed, len(ev.order), time.perf_counter() - t0,
                             [base_value(base_dict, p) for p in params], partner)


# ---------------------------------------------------------------------------------------------------------
# outputs
# ---------------------------------------------------------------------------------------------------------

def _fmt(v: float) -> str:
    """A fitted value with four significant digits (as YAML reads it back)."""
    return f"{float(f'{v:.4g}'):g}" if math.isfinite(v) else ".nan"


def calibrated_values(result: CalibrationResult, base: dict) -> dict[str, tuple[float, str]]:
    """The scenario paths the calibration sets, each with its value (four significant digits) and a comment:
    the estimate's 95% interval and whether the records identify it. ``gain_scale`` sets every sector's
    violation gain; fitted type shares set the honest share to the remainder."""
    out: dict[str, tuple[float, str]] = {}
    for j, p in enumerate(result.params):
        note = f"fitted {_fmt(result.estimate[j])}, 95% interval [{_fmt(result.lo[j])}, {_fmt(result.hi[j])}]; " \
               f"{result.status[j]}"
        if p.path == ENTRY_SCORE:
            out["policy.tiers.entry_score"] = (float(_fmt(result.estimate[j])), f"{ENTRY_SCORE} {note}")
            if base.get("pre_plan") is not None:
                out["pre_plan.tiers.entry_score"] = (float(_fmt(result.estimate[j])), f"{ENTRY_SCORE} {note}")
            continue
        if p.path == GAIN_SCALE:
            for name, s in base["population"]["sectors"].items():
                v = float(_fmt(min(1.0, s["violation_gain"] * result.estimate[j])))
                out[f"population.sectors.{name}.violation_gain"] = (v, f"x {_fmt(result.estimate[j])} ({GAIN_SCALE} "
                                                                        f"{note})")
            continue
        out[p.path] = (float(_fmt(result.estimate[j])), note)
    if any(p.path in TYPE_SHARES for p in result.params):
        mix = base["population"]["type_mix"]
        others = [out.get(f"population.type_mix.{t}", (mix[t], ""))[0] for t in ("strategic", "defiant", "careless")]
        out["population.type_mix.honest"] = (round(1.0 - sum(others), 10), "the remainder of the fitted shares")
    return out


def calibrated_yaml(result: CalibrationResult, base: dict, extends: str, name: str, header: list[str],
                    sets: dict | None = None) -> str:
    """``calibrated.yaml``: a scenario that ``extends`` the base (a path relative to the file) and sets only the
    fitted values, each with its interval as a comment (:func:`calibrated_values`), and the base's ``sets``
    (dotted path -> value: the ``--set`` values the records were fitted with); ``header``: comment lines."""
    values = {path: (v, "as given with --set") for path, v in (sets or {}).items()}
    values |= calibrated_values(result, base)
    tree: dict = {}
    for path, (v, note) in values.items():
        node = tree
        parts = path.split(".")
        for k in parts[:-1]:
            node = node.setdefault(k, {})
        node[parts[-1]] = (v, note)
    lines = [f"# {h}" for h in header]
    lines += [f"extends: {json.dumps(extends)}", f"name: {name}"]

    def emit(node: dict, indent: int) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                lines.append(f"{' ' * indent}{k}:")
                emit(v, indent + 2)
            else:
                lines.append(f"{' ' * indent}{k}: {json.dumps(v[0], ensure_ascii=False)}  # {v[1]}")
    emit(tree, 0)
    return "\n".join(lines) + "\n"

"""Validation a reviewer can rerun: the Allingham-Sandmo limit, docking of the two engines, the policy directions,
parameter recovery from synthetic records and the fit to the public evidence (notebook ``06_validation``).

Each function runs what it checks and returns a table with a ``passed`` column (or the calibration result), so
the notebook shows the evidence, not a claim. The tests in ``tests/`` check the same properties at their own
sizes; these functions let a reviewer check them at any size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.schema import TIERS, Scenario, _merge, load_raw, validate_dict

__all__ = ["as_limit_scenario", "allingham_sandmo", "docking", "directions", "recovery", "public_fit",
           "PUBLIC_EVIDENCE"]

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_EVIDENCE = ROOT / "scenarios" / "calibration" / "public_evidence.csv"
"""The brief's public figures as aggregate records (docs/RECORDS.md)."""

_LISTS_OFF = {"red": {"enabled": False}, "key_attention": {"enabled": False}, "blacklist": {"enabled": False},
              "repair": {"enabled": False}}


def as_limit_scenario(fine_multiple: float, ratio: float, merchants: int = 300, months: int = 6) -> Scenario:
    """Strategic, risk-neutral merchants who know the true monthly detection probability ``ratio`` (twelve
    campaigns a year, every check finds a violation, no false records, no lists, no norms, no unintended
    violations, the fine alone): Allingham and Sandmo's limit, where a merchant complies iff p x F >= 1."""
    return validate_dict({
        "policy": {"inspection": {"sampling_ratio": {t: ratio for t in TIERS},
                                  "campaigns_per_year": {t: 12 for t in TIERS}, "capacity_per_month": 100_000,
                                  "detection_probability": 1.0, "inspector_skill_spread": 0.0,
                                  "false_positive_rate": 0.0},
                   "penalties": {"fine_multiple": fine_multiple, "confiscate_gains": False},
                   "lists": _LISTS_OFF, "complaints": {"enabled": False}},
        "behaviour": {"risk_aversion": 0.0, "consequence_weight": 0.0, "choice_noise": 0.0,
                      "learning": {"full_information": True}, "social": {"influence": 0.0},
                      "capability": {"unintended_rate": 0.0}},
        "population": {"type_mix": {"honest": 0.0, "strategic": 1.0, "defiant": 0.0, "careless": 0.0},
                       "merchants": merchants, "months": months, "burn_in_months": 0},
    }, "Allingham-Sandmo limit")


AS_CASES = ((0.5, 2.0), (0.5, 1.98), (0.5, 2.02), (0.1, 9.9), (0.1, 10.1), (0.25, 3.0), (0.25, 8.0))
"""(monthly detection probability, fine multiple) pairs on both sides of p x F = 1."""


def allingham_sandmo(engine: str = "fast", seed: int = 0, cases=AS_CASES) -> pd.DataFrame:
    """Compliance in every month against the limit's prediction (1 if p x F >= 1, else 0), one row per case."""
    from sim.experiment.runner import run_scenario

    rows = []
    for p, fine in cases:
        ts = run_scenario(as_limit_scenario(fine, p), reps=2, seed=seed, engine=engine, progress=False).timeseries
        c = ts.loc[ts["by"] == "all", "compliance_rate"]
        expected = 1.0 if p * fine >= 1 - 1e-12 else 0.0
        rows.append({"detection_p": p, "fine_multiple": fine, "p_x_F": round(p * fine, 4),
                     "predicted": expected, "lowest": float(c.min()), "highest": float(c.max()),
                     "passed": bool((c == expected).all())})
    return pd.DataFrame(rows)


def _scenario(path: str | Path, merchants: int, months: int, burn_in: int | None = None) -> Scenario:
    over = {"population": {"merchants": merchants, "months": months}}
    if burn_in is not None:
        over["population"]["burn_in_months"] = burn_in
    return validate_dict(_merge(load_raw(path), over), str(path))


def docking(scenario: str | Path = ROOT / "scenarios" / "shahe_plan.yaml", reps: int = 20, merchants: int = 300,
            months: int = 24, burn_in: int = 12, seed: int = 0, alpha: float = 0.01) -> pd.DataFrame:
    """The two engines on one scenario: each metric's last-year mean per replication, Welch's t-test and the
    difference in between-replication standard deviations; ``passed`` where the test does not reject at
    ``alpha`` / number of metrics (Bonferroni). Different random streams: the engines can agree only in
    distribution."""
    from sim.experiment.runner import run_scenario
    from sim.model.metrics import METRICS

    scn = _scenario(scenario, merchants, months, burn_in)
    window = (max(months - 12, 0), months)
    means = {}
    for engine in ("mesa", "fast"):
        ts = run_scenario(scn, reps=reps, seed=seed + (engine == "fast") * 7919, engine=engine,
                          progress=False).timeseries
        tot = ts[(ts["by"] == "all") & ts["month"].between(window[0], window[1] - 1)]
        means[engine] = tot.groupby("rep")[[m.name for m in METRICS]].mean()
    rows = []
    n = len(METRICS)
    for m in METRICS:
        a, b = means["mesa"][m.name].dropna(), means["fast"][m.name].dropna()
        if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
            same = bool(len(a) == len(b) and np.allclose(a.mean(), b.mean()))
            rows.append({"metric": m.name, "mesa": a.mean(), "fast": b.mean(), "shift_sd": 0.0, "p": 1.0,
                         "passed": same or (len(a) < 2 or len(b) < 2)})
            continue
        sd = float(np.sqrt((a.var() + b.var()) / 2)) or 1.0
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        rows.append({"metric": m.name, "mesa": float(a.mean()), "fast": float(b.mean()),
                     "shift_sd": float((b.mean() - a.mean()) / sd), "p": p, "passed": p >= alpha / n})
    return pd.DataFrame(rows)


def directions(reps: int = 10, merchants: int = 1000, months: int = 36, seed: int = 0, engine: str = "fast") -> \
        pd.DataFrame:
    """The policy directions a compliance modeller expects, each a paired difference over the last 12 months
    with its 95% interval: more uniform checks raise compliance; a higher fine raises it; the plan raises it
    against the baseline; the plan lowers the D-tier share; tiered checks find more problems per check than
    uniform checks at the same volume. ``passed`` where the interval lies on the expected side of zero."""
    from sim.experiment.decompose import _uniform, volume_of
    from sim.experiment.runner import run_scenario
    from sim.experiment.statistics import interval

    base = _scenario(ROOT / "scenarios" / "baseline.yaml", merchants, months)
    plan = _scenario(ROOT / "scenarios" / "shahe_plan.yaml", merchants, months)

    def with_policy(scn: Scenario, **blocks) -> Scenario:
        d = scn.model_dump(mode="json")
        d["policy"] = _merge(d["policy"], blocks)
        return validate_dict(d, scn.name)

    def last12(scn: Scenario, metric: str) -> np.ndarray:
        ts = run_scenario(scn, reps=reps, seed=seed, engine=engine, progress=False).timeseries
        tot = ts[(ts["by"] == "all") & (ts["month"] >= months - 12)]
        return tot.groupby("rep")[metric].mean().to_numpy()

    plan_ts = run_scenario(plan, reps=reps, seed=seed, engine=engine, progress=False).timeseries
    volume = volume_of(plan_ts)
    pol = plan.policy.model_dump(mode="json")
    uniform = with_policy(plan, inspection=_uniform(pol["inspection"], volume),
                          lists={k: ({"check_factor": 1.0} if "check_factor" in v else {}) for k, v in
                                 pol["lists"].items()})
    checks = [
        ("doubling uniform checks (3% to 6% a year) raises compliance", "compliance_rate", +1,
         base, with_policy(base, inspection={"sampling_ratio": {t: 0.06 for t in TIERS}})),
        ("a fine of 6 times the gain instead of 3 raises compliance", "compliance_rate", +1,
         base, with_policy(base, penalties={"fine_multiple": 6.0})),
        ("the plan raises compliance against the baseline", "compliance_rate", +1, base, plan),
        ("the plan lowers the D-tier share against the baseline", "tier_share_D", -1, base, plan),
        ("the plan's tiered checks find more problems per check than uniform checks at its volume", "hit_rate", +1,
         uniform, plan),
    ]
    rows = []
    for what, metric, sign, a, b in checks:
        diff = last12(b, metric) - last12(a, metric)
        mean, lo, hi = interval(diff)
        rows.append({"check": what, "metric": metric, "difference": mean, "lo": lo, "hi": hi,
                     "passed": bool((lo > 0) if sign > 0 else (hi < 0))})
    return pd.DataFrame(rows)


def recovery(learning_rate: float = 0.2, merchants: int = 2000, months: int = 36, budget: int = 1500,
             reps: int = 8, seed: int = 0, records_seed: int = 5, progress: bool = False):
    """Records from the plan with a changed learning rate, fitted for the strategic share, the gain level and
    the learning rate: returns (the calibration result, a table of truth, estimate, interval and whether the
    truth lies inside)."""
    import tempfile

    from sim.experiment.calibration import calibrate, parse_parameters
    from sim.experiment.records import read_records, synthetic_records, write_records

    sets = {"population": {"merchants": merchants, "months": months}}
    truth_scn = validate_dict(_merge(load_raw(ROOT / "scenarios" / "shahe_plan.yaml"),
                                     _merge(sets, {"behaviour": {"learning": {"rate": learning_rate}}})), "truth")
    base = validate_dict(_merge(load_raw(ROOT / "scenarios" / "shahe_plan.yaml"), sets), "base")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.csv"
        write_records(synthetic_records(truth_scn, "aggregates", seed=records_seed), path)
        records = read_records(path)
    params = parse_parameters(["population.type_mix.strategic", "gain_scale", "behaviour.learning.rate"])
    res = calibrate(records, base, params, budget=budget, reps=reps, seed=seed, progress=progress)
    truth = {"population.type_mix.strategic": truth_scn.population.type_mix.strategic, "gain_scale": 1.0,
             "behaviour.learning.rate": learning_rate}
    table = res.estimates()[["parameter", "estimate", "lo", "hi", "base", "status"]].copy()
    table.insert(1, "truth", [truth[p] for p in table["parameter"]])
    table["passed"] = (table["lo"] <= table["truth"]) & (table["truth"] <= table["hi"])
    return res, table


def public_fit(budget: int = 3000, reps: int = 8, seed: int = 0, merchants: int = 2000, progress: bool = False,
               parameters: list[str] | None = None):
    """The shipped plan fitted to the public evidence (:data:`PUBLIC_EVIDENCE`): the calibration result."""
    from sim.experiment.calibration import calibrate, parse_parameters
    from sim.experiment.records import read_records

    base = _scenario(ROOT / "scenarios" / "shahe_plan.yaml", merchants, 36)
    params = parse_parameters(parameters or list(PUBLIC_PARAMETERS))
    return calibrate(read_records(PUBLIC_EVIDENCE), base, params, budget=budget, reps=reps, seed=seed,
                     progress=progress)


PUBLIC_PARAMETERS = ("gain_scale", "population.type_mix.strategic", "population.type_mix.defiant",
                     "behaviour.learning.rate", "behaviour.capability.unintended_rate", "entry_score")
"""What the public evidence is fitted for: the default behavioural parameters and the score of a merchant
without records (the published tier mixes speak to it)."""


def check_parameters(reps: object, seed: object, merchants: object, months: object, engine: object, lang: object,
                     budget: object, source: str = "06_validation") -> dict:
    """The validation notebook's parameters, checked: ``reps`` 2-1000, ``seed`` >= 0, ``merchants`` 100-100,000,
    ``months`` 12-240 (whole numbers), ``engine`` fast or mesa (docking runs both), ``lang`` zh or en, ``budget``
    50-10**6 model runs. Raises :class:`sim.errors.InputError` naming each bad one."""
    from sim.errors import InputError, Problem

    problems = []
    out = {}
    for name, value, lo, hi in (("reps", reps, 2, 1000), ("seed", seed, 0, 2**31 - 3),
                                ("merchants", merchants, 100, 100_000), ("months", months, 12, 240),
                                ("budget", budget, 50, 10**6)):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            problems.append(Problem(source, name, value, f"a whole number from {lo:,} to {hi:,}"))
        out[name] = value
    if engine not in ("fast", "mesa"):
        problems.append(Problem(source, "engine", engine, "fast or mesa"))
    if lang not in ("zh", "en"):
        problems.append(Problem(source, "lang", lang, "zh or en"))
    if problems:
        raise InputError(problems)
    return out | {"engine": engine, "lang": lang}

"""The model as a function of named inputs: levers, uncertainties and outcomes, for EMA Workbench or SALib.

Every numeric parameter of the schema carries a role (:data:`sim.model.schema.ROLES`); :func:`levers`
and :func:`uncertainties` list them with their bounds, :func:`outcomes` lists the metrics with the
direction that is better, and :func:`evaluate` runs a base scenario with chosen values and returns each
outcome's mean over the replications' last 12 months. :func:`as_ema_model` wraps the same as an EMA
Workbench ``Model``, so an EMA or SALib user can drive the model without our batch code::

    from ema_workbench import perform_experiments
    model = as_ema_model("scenarios/shahe_plan.yaml", uncertainties=["behaviour.risk_aversion"],
                         levers=["policy.inspection.capacity_per_1000_merchants"], outcomes=["compliance_rate"])
    experiments, results = perform_experiments(model, scenarios=8, policies=2)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.errors import InputError, Problem

__all__ = ["Parameter", "Outcome", "parameters", "levers", "uncertainties", "outcomes", "evaluate", "as_ema_model",
           "ema_name"]


@dataclass(frozen=True)
class Parameter:
    """A numeric parameter: dotted ``path``, ``role``, bounds [lo, hi], default, unit, and ``kind``
    (``real``, ``integer`` or ``switch``)."""

    path: str
    role: str
    lo: float
    hi: float
    default: float
    unit: str
    kind: str


@dataclass(frozen=True)
class Outcome:
    """A metric: name, unit and which way is better (``higher``, ``lower`` or ``None``)."""

    name: str
    unit: str
    better: str | None


def parameters(role: str | None = None) -> list[Parameter]:
    """The numeric parameters of the schema (of one role, or all), with their bounds."""
    from sim.model.schema import parameter_table

    out = []
    for r in parameter_table():
        if r["role"] is None or (role is not None and r["role"] != role):
            continue
        d = r["default"]
        if isinstance(d, bool):
            out.append(Parameter(r["path"], r["role"], 0, 1, int(d), r["unit"], "switch"))
        elif isinstance(d, (int, float)) and r["lo"] is not None and r["hi"] is not None:
            kind = "integer" if isinstance(d, int) else "real"
            out.append(Parameter(r["path"], r["role"], r["lo"], r["hi"], d, r["unit"], kind))
    return out


def levers() -> list[Parameter]:
    """What the bureau sets (``policy.*``)."""
    return parameters("lever")


def uncertainties() -> list[Parameter]:
    """What is not known about merchants (``behaviour.*``)."""
    return parameters("uncertainty")


def outcomes() -> list[Outcome]:
    """Every metric with its unit and direction of better."""
    from sim.model.metrics import METRICS

    return [Outcome(m.name, m.unit, m.better) for m in METRICS]


def _check(names: list[str], known: dict, field: str) -> None:
    bad = [Problem(field, field, n, f"one of the {field}: {', '.join(list(known)[:6])}, ...") for n in names
           if n not in known]
    if bad:
        raise InputError(bad)


def evaluate(scenario: str | Path, values: dict | None = None, reps: int = 5, seed: int = 0, engine: str = "auto",
             merchants: int | None = None, months: int | None = None) -> dict[str, float]:
    """Run ``scenario`` with ``values`` (dotted path -> value) and return each outcome's mean (over ``reps``
    replications of the last 12 months' average; NaN where undefined). ``merchants`` and ``months``
    shrink the run. Bad values raise :class:`~sim.errors.InputError` naming the path."""
    from sim.experiment.runner import run_scenario
    from sim.model.schema import load_scenario

    sets = [f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in (values or {}).items()]
    if merchants is not None:
        sets.append(f"population.merchants={merchants}")
    if months is not None:
        sets.append(f"population.months={months}")
    scn = load_scenario(scenario, sets)
    res = run_scenario(scn, reps=reps, seed=seed, engine=engine, progress=False)
    return {name: (float("nan") if s["mean"] is None else s["mean"]) for name, s in res.summary.items()}


def ema_name(path: str) -> str:
    """An EMA Workbench name for a dotted parameter path (``policy.tiers.A`` -> ``policy__tiers__A``)."""
    return path.replace(".", "__")


def as_ema_model(scenario: str | Path, levers: list[str] | None = None, uncertainties: list[str] | None = None,
                 outcomes: list[str] | None = None, name: str = "credit_policy", reps: int = 5, seed: int = 0,
                 engine: str = "auto", merchants: int | None = None, months: int | None = None):
    """An EMA Workbench ``Model`` of ``scenario``: the named levers and uncertainties (default: every one)
    with the schema's bounds, the named outcomes (default: every metric) as ``ScalarOutcome`` with
    ``MAXIMIZE``/``MINIMIZE`` from the metric's direction (``INFO`` when none). Each experiment runs
    :func:`evaluate` with ``reps`` replications from ``seed`` (common random numbers across experiments)."""
    try:
        from ema_workbench import BooleanParameter, IntegerParameter, Model, RealParameter, ScalarOutcome
    except ImportError:
        raise InputError([Problem("as_ema_model", "ema_workbench", "not installed",
                                  "pip install ema_workbench (or the analysis extra)")]) from None
    params = {p.path: p for p in parameters()}
    lever_set = [p.path for p in parameters("lever")] if levers is None else levers
    unc_set = [p.path for p in parameters("uncertainty")] if uncertainties is None else uncertainties
    _check(lever_set, params, "levers")
    _check(unc_set, params, "uncertainties")
    from sim.model.metrics import METRICS

    metrics = {m.name: m for m in METRICS}
    out_set = list(metrics) if outcomes is None else outcomes
    _check(out_set, metrics, "outcomes")
    by_name = {ema_name(p): p for p in lever_set + unc_set}

    def run(**experiment):
        values = {by_name[k]: v for k, v in experiment.items() if k in by_name}
        result = evaluate(scenario, values, reps=reps, seed=seed, engine=engine, merchants=merchants, months=months)
        return {k: result[k] for k in out_set}

    def declare(path: str):
        p = params[path]
        if p.kind == "switch":
            return BooleanParameter(ema_name(path), default=bool(p.default))
        if p.kind == "integer":
            return IntegerParameter(ema_name(path), int(p.lo), int(p.hi), default=int(p.default))
        return RealParameter(ema_name(path), float(p.lo), float(p.hi), default=float(p.default))

    model = Model(name, function=run)
    model.levers = [declare(p) for p in lever_set]
    model.uncertainties = [declare(p) for p in unc_set]
    kind = {"higher": ScalarOutcome.MAXIMIZE, "lower": ScalarOutcome.MINIMIZE, None: ScalarOutcome.INFO}
    model.outcomes = [ScalarOutcome(n, kind=kind[metrics[n].better]) for n in out_set]
    return model

"""Levers apart from uncertainties, by declaration; the model as a function for EMA Workbench and SALib."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from sim.cli import main
from sim.experiment import interface as I
from sim.model.schema import MOVED, ROLES, parameter_table

from .conftest import ROOT

PLAN = ROOT / "scenarios" / "shahe_plan.yaml"
TINY = {"merchants": 150, "months": 6, "reps": 2, "engine": "mesa"}


def test_every_parameter_has_a_role_by_its_section_or_its_declaration():
    rows = [r for r in parameter_table() if r["role"] is not None]
    assert {r["role"] for r in rows} == set(ROLES)
    for r in rows:
        assert r["role"] == {"policy": "lever", "behaviour": "uncertainty", "population": "population"}[
            r["path"].split(".")[0]], r["path"]
    paths = {r["path"] for r in rows}
    for old, new in MOVED.items():  # describe merchants: uncertainties now
        assert old not in paths and new in paths and new.startswith("behaviour.")


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_moved_parameter_names_its_new_place(old, tmp_path, capsys):
    code = main(["validate", str(PLAN), "--set", f"{old}=0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and MOVED[old] in err[0] and old in err[0]


def test_levers_uncertainties_and_outcomes_are_declared_with_bounds_and_direction():
    lev, unc = I.levers(), I.uncertainties()
    assert {p.role for p in lev} == {"lever"} and {p.role for p in unc} == {"uncertainty"}
    assert "policy.inspection.capacity_per_1000_merchants" in {p.path for p in lev}
    assert "behaviour.risk_aversion" in {p.path for p in unc}
    for p in lev + unc:
        assert p.lo <= p.default <= p.hi, p
    out = {o.name: o for o in I.outcomes()}
    assert out["compliance_rate"].better == "higher" and out["consumer_harm"].better == "lower"


def test_evaluate_is_the_run_with_those_values():
    """Same values and seed: the same numbers; more checks of every tier: more inspections."""
    base = I.evaluate(PLAN, {}, seed=3, **TINY)
    again = I.evaluate(PLAN, {}, seed=3, **TINY)
    more = I.evaluate(PLAN, {f"policy.inspection.sampling_ratio.{t}": 0.5 for t in "ABCD"}, seed=3, **TINY)
    assert base == pytest.approx(again, nan_ok=True)
    assert more["inspections"] > base["inspections"]


def test_an_ema_workbench_user_drives_the_model():
    """perform_experiments over two uncertainties and a lever: each experiment's outcomes are what
    evaluate gives for its values, and the directions are the metrics'."""
    ema = pytest.importorskip("ema_workbench")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = I.as_ema_model(PLAN, levers=["policy.inspection.capacity_per_1000_merchants"],
                               uncertainties=["behaviour.risk_aversion", "behaviour.careless_violation_rate"],
                               outcomes=["compliance_rate", "consumer_harm", "inspections"], seed=1, **TINY)
        experiments, results = ema.perform_experiments(model, scenarios=2, policies=1)
    kinds = {o.name: o.kind for o in model.outcomes}
    assert kinds["compliance_rate"] == ema.ScalarOutcome.MAXIMIZE
    assert kinds["consumer_harm"] == ema.ScalarOutcome.MINIMIZE
    assert len(experiments) == 2 and set(results) == {"compliance_rate", "consumer_harm", "inspections"}
    row = experiments.iloc[0]
    values = {"policy.inspection.capacity_per_1000_merchants":
              float(row["policy__inspection__capacity_per_1000_merchants"]),
              "behaviour.risk_aversion": float(row["behaviour__risk_aversion"]),
              "behaviour.careless_violation_rate": float(row["behaviour__careless_violation_rate"])}
    assert 0 <= values["behaviour.careless_violation_rate"] <= 1
    direct = I.evaluate(PLAN, values, seed=1, **TINY)
    assert results["compliance_rate"][0] == pytest.approx(direct["compliance_rate"])


def test_a_salib_design_runs_through_evaluate():
    """A SALib Sobol design over two uncertainties (N = 4): every point runs, and carelessness, the
    share of careless merchants' months that violate, lowers compliance along the design."""
    from SALib.sample import sobol

    problem = {"num_vars": 2, "names": ["behaviour.careless_violation_rate", "behaviour.risk_aversion"],
               "bounds": [[0.0, 0.9], [0.0, 2.0]]}
    X = sobol.sample(problem, 4, calc_second_order=False, seed=0)
    y = np.array([I.evaluate(PLAN, dict(zip(problem["names"], x)), seed=2, **TINY)["compliance_rate"] for x in X])
    assert len(y) == len(X) and all(math.isfinite(v) for v in y)
    assert np.corrcoef(X[:, 0], y)[0, 1] < -0.3

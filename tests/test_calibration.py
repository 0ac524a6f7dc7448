"""Calibration: known parameters recovered from the model's records, an unidentified one named, a wrong model
rejected, a killed calibration resumed to the same result, the outputs a planner reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.calibration import calibrate, parse_parameters
from sim.experiment.records import read_records, synthetic_records, write_records
from sim.model.schema import load_scenario, validate_dict
from tests.conftest import SCENARIOS

# A city of 1,500 merchants, three years of records after a five-year burn-in: small enough for the suite, large
# enough that the records' hit rates carry a few hundred checks a year.
CITY = ["population.merchants=1500", "population.months=36", "population.burn_in_months=60"]


def _records(tmp_path, name, sets, seed, scenario="shahe_plan.yaml", data=None, city=CITY):
    scn = validate_dict(data, "truth") if data is not None else load_scenario(SCENARIOS / scenario, city + sets)
    path = tmp_path / f"{name}.csv"
    write_records(synthetic_records(scn, "aggregates", seed=seed), path)
    return read_records(path)


@pytest.fixture(scope="module")
def recovered(tmp_path_factory):
    """Records from the plan with a changed learning rate (0.2 against the default 0.1), fitted for the type
    mix's strategic share, the gain level and the learning rate."""
    tmp = tmp_path_factory.mktemp("recovery")
    rec = _records(tmp, "r", ["behaviour.learning.rate=0.2"], seed=5)
    base = load_scenario(SCENARIOS / "shahe_plan.yaml", CITY)
    params = parse_parameters(["population.type_mix.strategic", "gain_scale", "behaviour.learning.rate"])
    return calibrate(rec, base, params, budget=700, reps=6, seed=1, progress=False)


def test_known_parameters_are_recovered_within_their_intervals(recovered):
    """Each true value lies inside the estimate's 95% interval. The tolerance is the estimator's own interval:
    it is the statement the product makes to a planner, so a true value outside it would be a wrong claim; the
    changed learning rate's estimate is also nearer its true 0.2 than the default 0.1 it started from."""
    res = recovered
    truth = {"population.type_mix.strategic": 0.30, "gain_scale": 1.0, "behaviour.learning.rate": 0.2}
    for j, p in enumerate(res.params):
        assert res.lo[j] <= truth[p.path] <= res.hi[j], (p.path, res.estimate[j], res.lo[j], res.hi[j])
        assert res.lo[j] <= res.estimate[j] <= res.hi[j]
    j = [p.path for p in res.params].index("behaviour.learning.rate")
    assert abs(res.estimate[j] - 0.2) < abs(res.estimate[j] - 0.1)
    assert res.status[j] != "unidentified"
    assert res.p_value > 0.05  # the right model is not rejected by its own records


def test_fit_table_and_estimates_are_consistent(recovered):
    res = recovered
    fit = res.fit
    assert {"moment", "regime", "year", "sector", "tier", "observed", "observed_se", "simulated", "sim_lo",
            "sim_hi", "residual"} <= set(fit.columns)
    assert set(fit["moment"]) >= {"hit_rate", "check_share", "tier_share", "serious_share", "penalty_per_problem"}
    assert len(fit) - len(res.params) == res.df
    assert (fit["sim_lo"] <= fit["simulated"] + 1e-12).all() and (fit["simulated"] <= fit["sim_hi"] + 1e-12).all()
    est = res.estimates()
    assert list(est["parameter"]) == [p.path for p in res.params]
    assert (est["range_lo"] <= est["lo"]).all() and (est["hi"] <= est["range_hi"]).all()
    # the evaluations are every candidate, the estimate the best of them
    assert len(res.evaluations) == res.candidates
    assert res.evaluations["Q"].min() == pytest.approx(res.evaluations["Q"].iloc[
        int(np.argmin(res.evaluations["Q"]))])


def test_a_parameter_the_records_cannot_identify_is_named(tmp_path):
    """Before the plan there is no blacklist, so whether a blacklist candidate would appeal changes nothing the
    records show: its slice is flat (common random numbers: exactly) and it is reported unidentified, while the
    share of strategic merchants, fitted alongside, is not."""
    rec = _records(tmp_path, "base", [], seed=2, scenario="baseline.yaml")
    base = load_scenario(SCENARIOS / "baseline.yaml", CITY)
    params = parse_parameters(["behaviour.appeal_propensity", "population.type_mix.strategic"])
    res = calibrate(rec, base, params, budget=250, reps=4, seed=0, progress=False)
    status = dict(zip([p.path for p in params], res.status))
    assert status["behaviour.appeal_propensity"] == "unidentified"
    assert res.slice_rise[0] == pytest.approx(0.0, abs=1e-9)
    assert res.lo[0] == params[0].lo and res.hi[0] == params[0].hi  # the whole range
    assert status["population.type_mix.strategic"] != "unidentified"


def test_calibrated_scenario_loads_and_extends_the_base(tmp_path, capsys):
    """The command's outputs: calibrated.yaml is a scenario sim run accepts, extending the base and setting
    only the fitted values (type shares still adding up to one) and the --set values; fit.csv, estimates.csv
    and the charts are written; the summary names the fit."""
    rec = tmp_path / "r.csv"
    scn = load_scenario(SCENARIOS / "shahe_plan.yaml", ["population.merchants=500", "population.months=24",
                                                         "population.burn_in_months=24"])
    write_records(synthetic_records(scn, "aggregates", seed=1), rec)
    out = tmp_path / "cal"
    code = main(["calibrate", str(rec), "--scenario", str(SCENARIOS / "shahe_plan.yaml"),
                 "--set", "population.merchants=500", "--set", "population.months=24",
                 "--set", "population.burn_in_months=24", "--parameters", "population.type_mix.defiant",
                 "--budget", "100", "--reps", "3", "--out", str(out), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0
    assert "fit: J = " in text and "population.type_mix.defiant" in text
    assert {"calibrated.yaml", "fit.csv", "estimates.csv", "evaluations.csv", "fit.png", "slices.png",
            "calibration.json"} <= {p.name for p in out.iterdir()}
    calibrated = load_scenario(out / "calibrated.yaml")
    est = pd.read_csv(out / "estimates.csv")
    mix = calibrated.population.type_mix
    assert mix.defiant == pytest.approx(float(f"{est['estimate'][0]:.4g}"))
    assert mix.honest + mix.strategic + mix.defiant + mix.careless == pytest.approx(1.0, abs=1e-9)
    assert calibrated.population.merchants == 500 and calibrated.population.months == 24
    assert calibrated.policy == scn.policy  # the base's policy, inherited
    raw = (out / "calibrated.yaml").read_text()
    assert "95% interval" in raw and "extends:" in raw and str(tmp_path) not in raw.split("extends:")[1][:80]
    assert main(["run", str(out / "calibrated.yaml"), "--reps", "1", "--engine", "fast", "--quiet",
                 "--out", str(tmp_path / "run")]) == 0


@pytest.mark.parametrize("argv,named", [
    (["--parameters", "policy.lists.red.enabled"], "a numeric parameter of the schema"),
    (["--parameters", "population.merchants"], "not whole numbers"),
    (["--parameters", "population.type_mix.honest"], "the honest share is what the other types leave"),
    (["--parameters", "behaviour.learning.rate=0.5:0.1"], "LO < HI"),
    (["--parameters", "behaviour.learning.rate=0:2"], "within the schema's"),
    (["--parameters", "behaviour.learning.rate", "behaviour.learning.rate"], "each parameter once"),
    (["--budget", "10"], "budget"),
    (["--lang", "fr"], "fr"),
])
def test_bad_calibrate_flags_one_line_exit_2(tmp_path, capsys, argv, named):
    rec = tmp_path / "r.csv"
    rec.write_text("period,checks,problems\n2020,100,10\n2021,100,12\n")
    out = tmp_path / "out"
    code = main(["calibrate", str(rec), "--scenario", str(SCENARIOS / "baseline.yaml"), "--out", str(out),
                 "--quiet", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and named in err[0], err
    assert not out.exists()


def test_report_appendix_is_named(tmp_path, capsys):
    code = main(["report", "--scenarios", str(SCENARIOS / "baseline.yaml"), "--appendix", "everything",
                 "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--appendix: everything: one of: validation" in err[0], err
    assert not (tmp_path / "r").exists()

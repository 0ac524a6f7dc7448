"""Calibration's statistics at work: a wrong model rejected, a killed calibration resumed to the same result
(apart from tests/test_calibration.py so the two heavy files run on both cores)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sim.experiment.calibration import apply, calibrate, parse_parameters
from sim.experiment.records import synthetic_records, write_records
from sim.model.schema import load_scenario
from tests.conftest import ROOT, SCENARIOS
from tests.test_calibration import CITY, _records


def test_the_fit_statistic_rejects_a_wrong_model(tmp_path):
    """Records from a city whose violations pay twice as much (every sector's gain doubled), fitted with the
    gains held at the defaults: the J test rejects at 5%. The same fit to records of the default gains does not
    (so the rejection comes from the wrong gains, not from the test). A city of 4,000 merchants: gains show
    mostly in the penalty per problem, whose spread is wide (confiscations run over months), so a smaller
    city's three years leave the doubling within the noise."""
    city = [c.replace("1500", "4000") for c in CITY]
    base = load_scenario(SCENARIOS / "shahe_plan.yaml", city)
    doubled = apply(base.model_dump(mode="json"), parse_parameters(["gain_scale"]), [2.0])
    params = parse_parameters(["population.type_mix.strategic", "behaviour.learning.rate"])
    wrong = calibrate(_records(tmp_path, "x2", [], seed=4, data=doubled), base, params, budget=250, reps=6,
                      seed=0, progress=False)
    right = calibrate(_records(tmp_path, "x1", [], seed=4, city=city), base, params, budget=250, reps=6, seed=0,
                      progress=False)
    assert wrong.p_value < 0.05, wrong.J
    assert right.p_value > 0.05, right.J


def _calibrate_cmd(records, out):
    return [sys.executable, "-m", "sim", "calibrate", str(records), "--scenario", str(SCENARIOS / "shahe_plan.yaml"),
            *[x for s in ["population.merchants=600", "population.months=24", "population.burn_in_months=36"]
              for x in ("--set", s)],
            "--parameters", "population.type_mix.strategic", "behaviour.learning.rate", "--budget", "240",
            "--reps", "4", "--out", str(out), "--quiet"]


def test_a_killed_calibration_resumes_to_the_same_result(tmp_path):
    """kill -9 in the middle of the search, then the same command again: it reads the candidates it had
    evaluated from its state file and ends with the same estimates, fit and calibrated scenario, byte for byte,
    as a calibration never interrupted."""
    scn = load_scenario(SCENARIOS / "shahe_plan.yaml", ["population.merchants=600", "population.months=24",
                                                         "population.burn_in_months=36"])
    rec = tmp_path / "r.csv"
    write_records(synthetic_records(scn, "aggregates", seed=9), rec)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    assert subprocess.run(_calibrate_cmd(rec, whole), env=env, capture_output=True, timeout=600).returncode == 0
    state = tmp_path / ".resumed.calibrate-state.jsonl"
    proc = subprocess.Popen(_calibrate_cmd(rec, resumed), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and (not state.exists() or len(state.read_text().splitlines()) < 12):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(state.read_text().splitlines()) - 1
    assert kept >= 11 and not resumed.exists()
    with state.open("a") as f:  # a line cut short by the kill is read as not done
        f.write('{"u": [0.1, ')
    done = subprocess.run(_calibrate_cmd(rec, resumed), env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"({kept} from the saved state)" in done.stdout
    for name in ("estimates.csv", "fit.csv", "evaluations.csv"):
        assert (resumed / name).read_bytes() == (whole / name).read_bytes(), name
    strip = [line for line in (whole / "calibrated.yaml").read_text().splitlines() if "model runs" not in line]
    assert [line for line in (resumed / "calibrated.yaml").read_text().splitlines()
            if "model runs" not in line] == strip
    assert not state.exists()  # done: the state is removed


def test_a_calibration_on_a_dask_cluster_gives_the_same_result(tmp_path):
    """The same calibration in this process (replications side by side in threads) and on an embedded Dask
    cluster of two workers (`--workers 2`, as `sim batch`): candidates are seeded by their replication, not by
    where they run, so estimates, fit and every evaluation are byte-identical."""
    scn = load_scenario(SCENARIOS / "shahe_plan.yaml", ["population.merchants=600", "population.months=24",
                                                         "population.burn_in_months=36"])
    rec = tmp_path / "r.csv"
    write_records(synthetic_records(scn, "aggregates", seed=5), rec)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    here, dask = tmp_path / "here", tmp_path / "dask"
    cmd = [c if c != "240" else "120" for c in _calibrate_cmd(rec, here)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    cmd = [c if c != "240" else "120" for c in _calibrate_cmd(rec, dask)] + ["--workers", "2"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("estimates.csv", "fit.csv", "evaluations.csv"):
        assert (dask / name).read_bytes() == (here / name).read_bytes(), name

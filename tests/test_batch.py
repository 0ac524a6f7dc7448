"""Batches on Dask: sweep designs, bad input, identical stores from 1 and 2 workers, resume after kill -9,
failure isolation, and paired comparisons on a known difference."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.experiment.batch import Sweep, plan, sample_points
from sim.experiment.results import Store, compare, load, load_timeseries

from .conftest import ROOT

SCN = ROOT / "scenarios"
SMALL = ["population.merchants=400", "population.months=18", "population.burn_in_months=12"]


def _batch(tmp_path, name="b", **over) -> str:
    doc = {"name": name, "scenarios": [str(SCN / "baseline.yaml"), str(SCN / "shahe_plan.yaml")],
           "replications": 3, "seed": 5, "engine": "fast", "set": SMALL} | over
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _sim(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=timeout)


def _same_store(a, b):
    """The same runs, row for row and number for number (how runs are grouped into parts depends on the number
    of workers and on where a batch was interrupted, so files are compared by content, not by name)."""
    part = ["timeseries_file", "timeseries_sha256"]
    ra, rb = load(a), load(b)
    assert len(ra) and (ra["timeseries_file"].str.startswith("part-") | (ra["status"] != "ok")).all()
    pd.testing.assert_frame_equal(ra.drop(columns=part), rb.drop(columns=part), check_exact=True)
    pd.testing.assert_frame_equal(load_timeseries(a), load_timeseries(b), check_exact=True)
    for store in (a, b):  # every part of the time series is named by its summary rows, nothing else is left
        assert {p.name for p in (store / "timeseries").iterdir()} == set(load(store)["timeseries_file"]) - {""}


# --- designs -------------------------------------------------------------------------------------------------------

def test_grid_is_every_combination_in_order():
    s = Sweep(method="grid", parameters={"policy.tiers.A": {"values": [88, 92]},
                                         "policy.inspection.sampling_ratio.D": {"values": [0.2, 0.5, 0.8]}})
    pts = sample_points(s)
    assert len(pts) == 6 and pts[0] == {"policy.tiers.A": 88, "policy.inspection.sampling_ratio.D": 0.2}
    assert pts[-1] == {"policy.tiers.A": 92, "policy.inspection.sampling_ratio.D": 0.8}


def test_latin_hypercube_puts_one_point_in_each_stratum():
    s = Sweep(method="lhs", samples=20, seed=3, parameters={
        "policy.inspection.sampling_ratio.D": {"min": 0.2, "max": 1.0},
        "policy.incentives.joint_punishment_multiplier": {"min": 1.0, "max": 3.0}})
    pts = sample_points(s)
    assert len(pts) == 20
    for path, (lo, hi) in {"policy.inspection.sampling_ratio.D": (0.2, 1.0),
                           "policy.incentives.joint_punishment_multiplier": (1.0, 3.0)}.items():
        x = np.array([p[path] for p in pts])
        assert ((x >= lo) & (x <= hi)).all()
        strata = np.floor((x - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata) == list(range(20))  # Latin: each of the 20 equal bins exactly once
    assert sample_points(s) == pts  # the design's own seed fixes it


def test_sobol_sample_has_n_times_d_plus_2_points_within_bounds():
    s = Sweep(method="sobol", samples=8, parameters={
        "policy.inspection.capacity_per_month": {"min": 20, "max": 200},
        "policy.tiers.A": {"min": 85, "max": 95}, "policy.incentives.red_list_monthly_value": {"min": 0, "max": 5000}})
    pts = sample_points(s)
    assert len(pts) == 8 * (3 + 2)
    assert all(isinstance(p["policy.inspection.capacity_per_month"], int) for p in pts)  # integer parameter
    assert all(85 <= p["policy.tiers.A"] <= 95 for p in pts)


def test_plan_lists_every_run_with_its_key(tmp_path):
    p = plan(_batch(tmp_path, sweep={"method": "grid", "parameters": {"policy.tiers.A": {"values": [88, 92]}}}))
    assert len(p.runs) == 2 * 2 * 3 and len({r.run_id for r in p.runs}) == 12
    assert {r.spawn_key for r in p.runs} == {(0,), (1,), (2,)}  # common random numbers
    q = plan(_batch(tmp_path, name="c", seeds="independent"))
    assert len({r.spawn_key for r in q.runs}) == len(q.runs)


# --- bad input -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("over, field", [
    ({"replications": 0}, "replications"),
    ({"engine": "warp"}, "engine"),
    ({"colour": "red"}, "colour"),
    ({"scenarios": ["no_such.yaml"]}, "scenarios[0]"),
    ({"sweep": {"method": "lhs", "samples": 4, "parameters": {"policy.tiers.Z": {"min": 1, "max": 2}}}},
     "sweep.parameters.policy.tiers.Z"),
    ({"sweep": {"method": "lhs", "samples": 4, "parameters": {"policy.tiers.A": {"min": 80, "max": 120}}}},
     "sweep.parameters.policy.tiers.A.max"),
    ({"sweep": {"method": "sobol", "samples": 6, "parameters": {"policy.tiers.A": {"min": 80, "max": 95}}}},
     "sweep.samples"),
    ({"sweep": {"method": "grid", "parameters": {"policy.inspection.sampling_ratio.D": {"values": [0.5, 2]}}}},
     "sampling_ratio.D.values"),
    ({"set": ["policy.tiers.A=500"]}, "policy.tiers.A"),
])
def test_bad_batch_files_give_one_clear_line_and_exit_2(tmp_path, over, field, capsys):
    from sim.cli import main

    out = tmp_path / "store"
    code = main(["batch", _batch(tmp_path, **over), "--out", str(out), "--quiet"])  # in-process, same code path
    err = capsys.readouterr().err
    assert code == 2, err
    assert field in err and len(err.strip().splitlines()) <= 2
    assert not out.exists()


def test_malformed_yaml_and_unreachable_scheduler(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nscenarios: [a\n")
    proc = _sim("batch", str(bad), "--quiet")
    assert proc.returncode == 2 and "valid YAML" in proc.stderr and "Traceback" not in proc.stderr
    out = tmp_path / "store"
    t0 = time.perf_counter()
    proc = _sim("batch", _batch(tmp_path), "--scheduler", "tcp://127.0.0.1:9", "--out", str(out), "--quiet")
    assert proc.returncode == 2 and "--scheduler: tcp://127.0.0.1:9" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2 and time.perf_counter() - t0 < 60
    assert not out.exists()


# --- running -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted batch on one worker: 2 scenarios x 2 grid points x 3 replications."""
    d = tmp_path_factory.mktemp("ref")
    grid = {"policy.inspection.capacity_per_month": {"values": [30, 300]}}
    path = _batch(d, sweep={"method": "grid", "parameters": grid})
    proc = _sim("batch", path, "--workers", "1", "--out", str(d / "store"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    return path, d / "store"


def test_store_holds_every_run_and_a_manifest(reference):
    path, store = reference
    runs = load(store)
    assert len(runs) == 12 and (runs["status"] == "ok").all()
    assert list(runs.columns[:5]) == ["run_id", "scenario", "sample", "rep", "seed_key"]
    assert set(runs["p:policy.inspection.capacity_per_month"]) == {30.0, 300.0}
    ts = load_timeseries(store, scenario="shahe_plan", sample=1)
    assert set(ts["run_id"]) == set(runs.query("scenario == 'shahe_plan' and sample == 1")["run_id"])
    m = yaml.safe_load((store / "manifest.json").read_text())
    assert m["runs"] == 12 and m["seed"] == 5 and set(m["scenarios"]) == {"baseline", "shahe_plan"}
    assert not [p for p in (store / "runs").iterdir() if p.name.startswith(".")]


def test_a_batch_replication_is_the_same_as_sim_run(reference):
    from sim.experiment.runner import run_scenario
    from sim.experiment.statistics import per_rep
    from sim.model.schema import load_scenario

    _, store = reference
    runs = load(store).query("scenario == 'shahe_plan' and sample == 1")
    scn = load_scenario(SCN / "shahe_plan.yaml", SMALL + ["policy.inspection.capacity_per_month=300"])
    r = run_scenario(scn, reps=3, seed=5, engine="fast", progress=False)
    expect = per_rep(r.timeseries)
    for _, row in runs.iterrows():
        assert row["compliance_rate"] == expect.loc[row["rep"], "compliance_rate"]
        assert row["inspections"] == expect.loc[row["rep"], "inspections"]


def test_two_workers_write_the_same_store_as_one(reference, tmp_path):
    path, store = reference
    proc = _sim("batch", path, "--workers", "2", "--out", str(tmp_path / "two"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    _same_store(store, tmp_path / "two")
    again = _sim("batch", path, "--workers", "2", "--out", str(tmp_path / "two"), "--quiet")
    assert again.returncode == 0 and "0 ok, 0 failed, 12 already in the store" in again.stdout


def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path):
    """A real `sim batch` process group is killed with SIGKILL mid-batch; the rerun completes it."""
    over = {"replications": 6, "set": ["population.merchants=30000", "population.months=24"]}
    path = _batch(tmp_path, name="k", **over)
    store = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", path, "--workers", "1", "--out", str(store),
                             "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and len(Store(store).completed()) < 3 and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Store(store).completed()
    assert 3 <= len(before) < 12
    rerun = _sim("batch", path, "--workers", "1", "--out", str(store), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{12 - len(before)} ok, 0 failed, {len(before)} already in the store (of 12)" in rerun.stdout
    whole = _sim("batch", path, "--workers", "2", "--out", str(tmp_path / "whole"), "--quiet")
    assert whole.returncode == 0
    _same_store(tmp_path / "whole", store)
    leftovers = [p.name for sub in ("runs", "timeseries") for p in (store / sub).iterdir() if p.name.startswith(".")]
    assert not leftovers  # a file cut by the kill is only ever a .tmp, and the resumed batch removed it


def test_a_part_killed_between_its_two_files_is_run_again(reference, tmp_path):
    """A task killed after its time series was renamed into place but before its rows: the rerun removes the
    time series no rows name and runs that part's runs again, and the store equals the uninterrupted one."""
    import shutil

    path, store = reference
    cut = tmp_path / "cut"
    shutil.copytree(store, cut)
    parts = sorted((cut / "runs").glob("part-*.parquet"))
    lost = len(pd.read_parquet(parts[0]))
    parts[0].unlink()
    assert (cut / "timeseries" / parts[0].name).is_file()
    rerun = _sim("batch", path, "--workers", "1", "--out", str(cut), "--quiet")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{lost} ok, 0 failed, {12 - lost} already in the store" in rerun.stdout
    _same_store(store, cut)


def test_a_run_that_failed_and_then_succeeded_loads_once_as_ok(tmp_path):
    """A failed run's row stays in its part; the part of its successful retry supersedes it in load()."""
    import json

    store = tmp_path / "s"
    (store / "runs").mkdir(parents=True)
    (store / "manifest.json").write_text(json.dumps({"batch_hash": "x", "scenarios": {"a": "h"}}))
    row = {"run_id": "a__s0__r0", "scenario": "a", "sample": 0, "rep": 0, "seed_key": "0/0",
           "compliance_rate": float("nan"), "timeseries_file": "", "timeseries_sha256": ""}
    other = row | {"run_id": "a__s0__r1", "rep": 1, "status": "ok", "error": "", "compliance_rate": 0.5}
    pd.DataFrame([row | {"status": "failed", "error": "ValueError: x"}, other]).to_parquet(
        store / "runs" / "part-1.parquet", index=False)
    pd.DataFrame([row | {"status": "ok", "error": "", "compliance_rate": 0.7}]).to_parquet(
        store / "runs" / "part-2.parquet", index=False)
    runs = load(store)
    assert list(runs["run_id"]) == ["a__s0__r0", "a__s0__r1"]
    assert list(runs["status"]) == ["ok", "ok"] and list(runs["compliance_rate"]) == [0.7, 0.5]
    assert Store(store).completed() == {"a__s0__r0", "a__s0__r1"}


def test_failed_runs_are_recorded_and_the_rest_go_on(tmp_path):
    # tier B above A's cut-off breaks a cross-field rule: that sample point fails, the other runs
    path = _batch(tmp_path, name="f", replications=2,
                  sweep={"method": "grid", "parameters": {"policy.tiers.B": {"values": [70, 95]}}})
    out = tmp_path / "store"
    proc = _sim("batch", path, "--workers", "1", "--out", str(out), "--quiet")
    assert proc.returncode == 1 and "4 runs failed" in proc.stderr
    runs = load(out)
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 4 and (failed["p:policy.tiers.B"] == 95).all()
    assert failed["error"].str.contains("cut-offs must fall").all()
    assert (runs[runs["status"] == "ok"]["p:policy.tiers.B"] == 70).all()
    again = _sim("batch", path, "--workers", "1", "--out", str(out), "--quiet")
    assert again.returncode == 1 and "0 ok, 4 failed, 4 already in the store" in again.stdout


def test_comparison_interval_on_a_known_difference(tmp_path):
    """A scenario that differs only in the cost of a check: with common random numbers every run is the
    same but for inspection_cost, which doubles exactly; every other difference is exactly zero."""
    twin = tmp_path / "twin.yaml"
    twin.write_text(f"extends: {SCN / 'shahe_plan.yaml'}\nname: dear_checks\n"
                    "policy:\n  inspection:\n    cost_per_check: 1600\n")
    path = _batch(tmp_path, name="cmp", replications=4, scenarios=[str(SCN / "shahe_plan.yaml"), str(twin)])
    out = tmp_path / "store"
    assert _sim("batch", path, "--workers", "2", "--out", str(out), "--quiet").returncode == 0
    d = compare(out, "shahe_plan").loc["dear_checks"]
    cost = d.loc["inspection_cost"]
    runs = load(out).query("scenario == 'shahe_plan'")["inspection_cost"].to_numpy()
    half = __import__("scipy").stats.t.ppf(0.975, 3) * runs.std(ddof=1) / 2
    assert cost["diff"] == pytest.approx(runs.mean()) and cost["rel"] == pytest.approx(1.0)
    assert cost["lo"] == pytest.approx(runs.mean() - half) and cost["hi"] == pytest.approx(runs.mean() + half)
    assert cost["sign"] == 1 and cost["n"] == 4
    others = d.drop(index="inspection_cost")
    assert (others["diff"].fillna(0) == 0).all() and (others["sign"] == 0).all()
    printed = _sim("compare", str(out), "--baseline", "shahe_plan", "--metrics", "inspection_cost", "compliance_rate")
    assert printed.returncode == 0 and "+100.0%" in printed.stdout and "(includes 0)" in printed.stdout
    bad = _sim("compare", str(out), "--baseline", "nope")
    assert bad.returncode == 2 and "--baseline: nope" in bad.stderr


def test_the_compare_notebook_reads_a_batch_store(reference, tmp_path):
    import nbformat

    from sim.present.report import NOTEBOOKS, run_notebook

    _, store = reference
    out = run_notebook(NOTEBOOKS / "03_compare_scenarios.ipynb", tmp_path / "c.ipynb",
                       {"store": str(store), "lang": "en"}, progress=False)
    nb = nbformat.read(out, as_version=4)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "shahe_plan" in html and "Compliance rate: higher under" in html
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]

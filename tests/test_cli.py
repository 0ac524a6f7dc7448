"""The command line contract: outputs, determinism, and bad input (exit 2, one line, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.model.engines import AUTO_FAST_ABOVE
from sim.model.schema import Policy, parameter_table

from .conftest import ROOT, SCENARIOS

# a short burn-in: the run's start still comes from one, at a tenth of the shipped length
SMALL = ["--set", "population.merchants=200", "--set", "population.months=14", "--set", "population.burn_in_months=12",
         "--quiet"]


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["run", str(SCENARIOS / "shahe_plan.yaml"), "--reps", "3", "--out", str(out), *SMALL, *extra])
    assert code == 0
    return out


def test_run_writes_the_four_outputs(tmp_path, capsys):
    out = _run(tmp_path, "a", "--seed", "5")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "scenario.yaml", "summary.json",
                                                     "timeseries.parquet"]
    summary = json.loads((out / "summary.json").read_text())
    for metric in ("compliance_rate", "hit_rate", "inspections", "burden_on_compliant", "blacklist_share",
                   "red_list_share", "wrongful_listings", "consumer_harm"):
        cell = summary[metric]
        assert set(cell) == {"mean", "lo", "hi"}
        assert cell["lo"] <= cell["mean"] <= cell["hi"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5 and manifest["engine"] == "mesa" and manifest["reps"] == 3
    assert manifest["code_version"] and manifest["created"]
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert set(ts["by"]) == {"all", "sector", "tier", "type"}
    assert ts[ts["by"] == "all"].shape[0] == 3 * 14
    # the resolved scenario carries the --set values and validates again
    from sim.model.schema import load_scenario
    assert load_scenario(out / "scenario.yaml").population.merchants == 200
    printed = capsys.readouterr().out
    assert "compliance_rate" in printed and "shahe_plan" in printed


def test_run_against_a_baseline_decomposes_the_effect(tmp_path, capsys):
    """`sim run --against BASE`: the effect on compliance in four components that add up to the total (paired
    differences along one chain of runs), printed and written with the run."""
    out = _run(tmp_path, "d", "--engine", "fast", "--against", str(SCENARIOS / "baseline.yaml"))
    dec = pd.read_csv(out / "decomposition.csv").set_index("component")
    parts = dec.loc[["volume", "targeting", "lists_incentives", "other"], "diff_pp"]
    assert parts.sum() == pytest.approx(dec.loc["total", "diff_pp"], abs=1e-9)
    assert (dec["lo_pp"] <= dec["diff_pp"]).all() and (dec["diff_pp"] <= dec["hi_pp"]).all()
    assert "decomposition.csv" in json.loads((out / "manifest.json").read_text())["files"]
    printed = capsys.readouterr().out
    assert "comes from" in printed and "Targeting them" in printed and "Total effect (first year)" in printed


@pytest.mark.parametrize("merchants, flag, expected", [
    (AUTO_FAST_ABOVE, [], "mesa"),
    (AUTO_FAST_ABOVE + 1, [], "fast"),
    (AUTO_FAST_ABOVE + 1, ["--engine", "mesa"], "mesa"),
    (200, ["--engine", "fast"], "fast"),
])
def test_engine_is_chosen_by_size_unless_given(tmp_path, merchants, flag, expected):
    out = tmp_path / "r"
    assert main(["run", str(SCENARIOS / "shahe_plan.yaml"), "--reps", "1", "--out", str(out), "--quiet",
                 "--set", f"population.merchants={merchants}", "--set", "population.months=2", *flag]) == 0
    assert json.loads((out / "manifest.json").read_text())["engine"] == expected


@pytest.mark.parametrize("engine", ["mesa", "fast"])
def test_same_seed_same_summary_bytes_and_other_seed_differs(tmp_path, engine):
    a = _run(tmp_path, "a", "--seed", "11", "--engine", engine)
    b = _run(tmp_path, "b", "--seed", "11", "--engine", engine)
    c = _run(tmp_path, "c", "--seed", "12", "--engine", engine)
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    ta = pd.read_parquet(a / "timeseries.parquet")
    pd.testing.assert_frame_equal(ta, pd.read_parquet(b / "timeseries.parquet"))
    tc = pd.read_parquet(c / "timeseries.parquet")
    assert not ta["violations"].equals(tc["violations"])


BAD = [
    (["run", "SCN", "--reps", "0"], "--reps"),
    (["run", "SCN", "--reps", "many"], "--reps"),
    (["run", "SCN", "--seed", "-1"], "--seed"),
    (["run", "SCN", "--engine", "turbo"], "--engine"),
    (["run", "SCN", "--set", "policy.tiers.A=200"], "policy.tiers.A"),
    (["run", "SCN", "--set", "policy.nothing=1"], "policy.nothing"),
    (["run", "SCN", "--set", "policy.publicity.intensity=0.5"], "policy.publicity.intensity: 0.5"),
    (["run", "SCN", "--set", "policy.publicity.intensity=loud"], "policy.publicity.intensity: loud"),
    (["run", "SCN", "--set", "population.type_mix.honest=0.9"], "population.type_mix"),
    (["run", str(ROOT / "no_such.yaml")], "no_such.yaml"),
    (["validate", str(ROOT / "no_such.yaml")], "no_such.yaml"),
    (["run", "SCN", "--frobnicate"], "--frobnicate"),
    (["run", "SCN", "--against", str(ROOT / "no_such.yaml")], "no_such.yaml"),
    # 1e9 merchants are allowed by the schema but need 2.5 TB with Mesa: refused before any work
    (["run", "SCN", "--engine", "mesa", "--set", "population.merchants=1000000000"], "population.merchants"),
]


def _new_parameter_cases() -> list[tuple[list[str], str]]:
    """A bad value for every parameter of the plan's instruments added with issue 5: out of range for
    numbers, not a boolean for switches, an unknown sector for the campaign."""
    prefixes = ("policy.commitments.", "policy.disclosure.", "policy.objections.", "policy.associations.",
                "policy.ecommerce.", "policy.credit_consumption.", "policy.trade.", "policy.campaign.",
                "behaviour.unqualified_share", "behaviour.planning_horizon_months",
                "population.sectors.retail.association_share")
    cases = []
    for r in parameter_table():
        if not r["path"].startswith(prefixes):
            continue
        if r["unit"] == "switch":
            values = ["maybe"]
        elif r["unit"] == "sector":
            values = ["fishing"]
        else:  # above the range and below it
            values = [f"{r['hi'] * 2 + 1:g}", f"{r['lo'] - 1:g}"]
        for value in values:
            cases.append((["run", "SCN", "--set", f"{r['path']}={value}"], f"{r['path']}: {value}"))
    # rules across fields of the new instruments
    cases += [
        (["run", "SCN", "--set", "policy.campaign.enabled=true", "--set", "policy.campaign.every_months=2"],
         "policy.campaign.every_months: 2"),
        (["run", "SCN", "--set", "policy.credit_consumption.enabled=true",
          "--set", "policy.credit_consumption.demand_bonus.D=0.5"], "policy.credit_consumption.demand_bonus"),
    ]
    return cases


NEW_PARAMETERS = _new_parameter_cases()


def test_every_new_parameter_has_a_bad_input_case():
    """Every parameter of the new instruments has a case (a parameter added later cannot slip through)."""
    new = ("commitments", "disclosure", "objections", "associations", "ecommerce", "credit_consumption", "trade",
           "campaign")
    assert set(new) <= set(Policy.model_fields)
    named = {argv[3].split("=")[0] for argv, _ in NEW_PARAMETERS}
    for r in parameter_table():
        if r["path"].split(".")[:2] in [["policy", n] for n in new]:
            assert r["path"] in named, r["path"]


@pytest.mark.parametrize("argv, named", BAD + NEW_PARAMETERS)
def test_bad_input_exit_2_one_line_nothing_written(tmp_path, capsys, argv, named):
    out = tmp_path / "out"
    argv = [str(SCENARIOS / "baseline.yaml") if a == "SCN" else a for a in argv]
    if argv[0] == "run":
        argv += ["--out", str(out), "--quiet"]
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and named in err[0], err
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_out_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "taken"
    f.write_text("x")
    code = main(["run", str(SCENARIOS / "baseline.yaml"), "--out", str(f), "--quiet"])
    assert code == 2 and "--out" in capsys.readouterr().err and f.read_text() == "x"


def test_validate_many_files_one_line_per_problem(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: {inspection: {sampling_ratio: {A: 2, B: -1}}}\npopulation: {months: 0}\n")
    code = main(["validate", str(SCENARIOS / "baseline.yaml"), str(bad)])
    cap = capsys.readouterr()
    assert code == 2
    assert "baseline.yaml: ok" in cap.out
    lines = cap.err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(str(bad)) for line in lines)


def test_console_and_module_entry_points_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("policy: {tiers: {A: 120}}\n")
    for cmd in ([sys.executable, "-m", "sim", "validate", str(bad)],
                [str(ROOT / ".venv" / "bin" / "sim"), "validate", str(bad)]):
        if not Path(cmd[0]).exists():
            continue
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert res.returncode == 2
        assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1
        assert "policy.tiers.A" in res.stderr and "120" in res.stderr
    ok = subprocess.run([sys.executable, "-m", "sim", "validate", *map(str, sorted(SCENARIOS.glob("*.yaml")))],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr


def test_summary_interval_by_hand_and_clipped():
    """Three replications with last-12-month means 0.2, 0.4, 0.6: mean 0.4, sd 0.2,
    half-width t(0.975, 2) * 0.2 / sqrt(3) = 4.3027 * 0.11547 = 0.4968 -> [0 (clipped), 0.8968]."""
    from sim.experiment.runner import summarise

    rows = []
    for rep, v in enumerate((0.2, 0.4, 0.6)):
        for month in range(14):
            rows.append({"rep": rep, "month": month, "by": "all", "group": "all",
                         **{m: (v if month >= 2 else 99.0) for m in _metric_names()}})
    s = summarise(pd.DataFrame(rows))
    assert s["violations"]["mean"] == pytest.approx(0.4)
    assert s["violations"]["hi"] == pytest.approx(0.4 + 4.302653 * 0.2 / 3 ** 0.5, rel=1e-5)
    assert s["violations"]["lo"] == 0.0
    assert s["compliance_rate"]["hi"] <= 1.0


def _metric_names():
    from sim.model.metrics import METRICS
    return [m.name for m in METRICS]


def test_sim_run_warns_when_capacity_binds(tmp_path, capsys):
    """A run whose sampling ratios ask for more than 5% beyond what its capacity allows says so in its printed
    summary; one within capacity prints no warning."""
    small = ["--set", "population.merchants=400", "--set", "population.months=12", "--reps", "2", "--quiet"]
    assert main(["run", str(SCENARIOS / "shahe_plan.yaml"), "--out", str(tmp_path / "a"), *small,
                 "--set", "policy.inspection.capacity_per_1000_merchants=5"]) == 0
    out = capsys.readouterr().out
    assert "warning: shahe_plan: the sampling ratios ask for" in out and "more than the" in out
    assert main(["run", str(SCENARIOS / "shahe_plan.yaml"), "--out", str(tmp_path / "b"), *small,
                 "--set", "policy.inspection.capacity_per_1000_merchants=200"]) == 0
    assert "warning" not in capsys.readouterr().out
    assert main(["summary", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.count("warning:") == 1

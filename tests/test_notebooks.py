"""The notebooks: papermill parameters, stored clean, and each runs with small parameters."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import papermill as pm
import pytest

from sim.present.report import NOTEBOOKS, run_notebook

NAMES = ("01_explore", "02_run_scenario", "03_compare_scenarios", "04_meeting_report", "06_validation")
SMALL = {"merchants": 300, "months": 18, "reps": 2}


def test_the_notebooks_exist():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_cell_kernel_and_no_stored_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    lines = [ln for ln in code[0].source.splitlines() if ln.strip() and not ln.startswith("#")]
    assert all(":" in ln.split("=")[0] and "#" in ln for ln in lines), "name: type = default  # help"
    params = pm.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb"))
    assert len(params) == len(lines)  # papermill parses every line (a second '=' would drop one)
    assert all(p["help"] for p in params.values())
    assert {"seed", "reps", "merchants", "months", "engine", "lang"} <= set(params)


@pytest.mark.parametrize("name, extra", [
    ("01_explore", {"scenario": "../scenarios/strict_enforcement.yaml"}),
    ("02_run_scenario", {"scenario": "../scenarios/no_lists.yaml", "lang": "en"}),
    ("03_compare_scenarios", {"scenarios": ["../scenarios/baseline.yaml", "../scenarios/incentive_led.yaml"],
                              "sets": ["policy.inspection.capacity_per_month=500"]}),
])
def test_notebook_runs_under_papermill_with_small_parameters(name, extra, tmp_path):
    out = run_notebook(NOTEBOOKS / f"{name}.ipynb", tmp_path / f"{name}.ipynb", SMALL | extra, progress=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert images or widgets
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"
                and ("Warning" in o.text or "missing from" in o.text)]
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "merchants = 300" in injected[0].source


@pytest.mark.parametrize("params, field", [
    ({"reps": 0}, "reps: 0"),
    ({"lang": "fr"}, "lang: fr"),
    ({"scenario": "nope.yaml"}, "scenario: {cwd}/nope.yaml: an existing scenario file"),  # read from the working folder
])
def test_bad_notebook_parameters_give_one_line_and_exit_2(params, field, tmp_path):
    args = [a for k, v in params.items() for a in ("-p", k, str(v))]
    field = field.format(cwd=tmp_path)
    proc = subprocess.run([sys.executable, "-m", "sim", "notebook", "02_run_scenario", *args, "--quiet",
                           "--out", str(tmp_path / "o.ipynb")], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # the output's temporary file is gone too


def test_unknown_notebook_or_parameter_is_one_line(tmp_path):
    for args, field in ((["nope"], "name: nope"), (["02_run_scenario", "-p", "repz", "3"], "-p: repz")):
        proc = subprocess.run([sys.executable, "-m", "sim", "notebook", *args], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 2 and field in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_validation_notebook_runs_and_reports_each_check(tmp_path):
    """06_validation at a small size: every section runs, the Allingham-Sandmo limit holds in every case, and
    the recovery and public-evidence sections show their fit statistics and charts."""
    out = run_notebook(NOTEBOOKS / "06_validation.ipynb", tmp_path / "v.ipynb",
                       {"reps": 4, "merchants": 300, "months": 24, "budget": 100, "lang": "en"}, progress=False)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "7 of 7 cases as predicted" in text
    assert text.count("fit: J = ") == 2 and "metrics agree" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3


def test_validation_notebook_refuses_bad_parameters(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sim", "notebook", "06_validation", "-p", "budget", "3",
                           "--quiet", "--out", str(tmp_path / "v.ipynb")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and "budget: 3" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

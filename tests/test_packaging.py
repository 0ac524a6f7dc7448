"""Set-up files agree: environment.yml lists what pyproject.toml needs; the README's commands exist."""

from __future__ import annotations

import re
import tomllib

import yaml

from .conftest import ROOT


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(3).replace(" ", "")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = py["optional-dependencies"]
    assert extras["all"] == ["credit-policy-lab[reports,batch,analysis,calibrate]"]  # make demo installs every part
    reqs = (py["dependencies"] + extras["reports"] + extras["batch"] + extras["analysis"] + extras["calibrate"]
            + extras["dev"])
    want = dict(_split(r) for r in reqs)
    if any(r.startswith("mesa[network]") for r in reqs):
        want["networkx"] = ""  # mesa[network] brings networkx; conda needs it named
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    got = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep.replace("=", "==", 1) if re.match(r"^[\w\-]+=[^=<>]", dep) else dep)
            got[name] = spec
    assert got.pop("python") == "==3.12"
    got.pop("pip", None)
    assert got == want


def test_the_core_needs_no_extra(tmp_path):
    """The model and single runs import nothing the extras bring (reports, batch): with those imports
    blocked, ``sim run`` still runs and writes its folder."""
    import subprocess
    import sys

    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('matplotlib', 'papermill', 'weasyprint', 'dask', 'distributed',"
            " 'SALib', 'ipywidgets', 'nbformat', 'nbconvert'):\n"
            "            raise ImportError('blocked: ' + name)\n"
            "sys.meta_path.insert(0, Block())\n"
            "from sim.cli import main\n"
            "sys.exit(main(['run', 'scenarios/shahe_plan.yaml', '--set', 'population.merchants=40', '--set',"
            " 'population.months=2', '--reps', '1', '--engine', 'mesa', '--quiet', '--out', sys.argv[1]]))\n")
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "summary.json").is_file()


def test_python_version_file_selects_312_and_readme_names_the_two_commands():
    assert (ROOT / ".python-version").read_text().strip() == "3.12"
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci

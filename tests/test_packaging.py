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
    reqs = py["dependencies"] + py["optional-dependencies"]["dev"]
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


def test_python_version_file_selects_312_and_readme_names_the_two_commands():
    assert (ROOT / ".python-version").read_text().strip() == "3.12"
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci

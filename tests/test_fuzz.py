"""Fuzz test of the command line (issue 12): random YAML documents, ``--set`` values, batch files and notebook
parameters, built from the schema's own names and from hostile strings.

Whatever the input, ``sim`` must exit 0 or 2, never show a traceback, write nothing outside ``--out`` (or
its default folder), write nothing at all on exit 2, and never create the canary file that the hostile
strings try to create (by code in a value, a path in a name, a YAML tag).

The examples are derandomised (the same ones on every run, so CI is repeatable); ``SIM_FUZZ_EXAMPLES``
raises their number for a longer search. A failure prints the smallest input hypothesis found.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.model.schema import parameter_table

from .conftest import ROOT

SCN = ROOT / "scenarios"
EXAMPLES = int(os.environ.get("SIM_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

CANARY = Path(tempfile.gettempdir()) / f"sim-fuzz-canary-{os.getpid()}"
PATHS = [r["path"] for r in parameter_table()]
KEYS = sorted({part for p in PATHS for part in p.split(".")} | {"name", "extends", "description"})


def _hostile() -> list[str]:
    code = f'", __import__("os").system("touch {CANARY}"), "'
    return [
        str(CANARY), f"../../{CANARY.name}", "..", ".", "", "/", "$x^2$", "-rf", "中文名", "a/b", "\n", "\x00",
        f"__import__('os').system('touch {CANARY}')", f"!!python/object/apply:os.system ['touch {CANARY}']",
        "!!binary " + base64.b64encode(code.encode()).decode(), "&a [*a]", "*undefined", "{{", "[", "'", '"',
        "2024-01-01", "1e999", "-0", "0x10", "0o7", ".inf", ".nan", "~", "null", "yes", "no", "\udcff",
    ]


HOSTILE = _hostile()
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(), st.text(max_size=12),
    st.sampled_from(HOSTILE), st.sampled_from([0, 1, 0.5, 2, 60, 100, -1, 10**9]),
)
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=6))
documents = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(keys, kids, max_size=4),
                         max_leaves=16)
yaml_text = st.text(alphabet=st.sampled_from(list("abAB09 :-,[]{}&*!|>'\"#%@`\n\t.~/\\$中")), max_size=80)


def _dump(doc: object) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, UnicodeEncodeError):
        return "x: 1\n"


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in folder.rglob("*")}


def _sim(argv: list[str], cwd: Path) -> tuple[int, str]:
    """``sim ARGV`` in-process (the console entry point's code path) in ``cwd``: (exit code, stderr)."""
    err, out = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(argv)
    finally:
        os.chdir(old)
    return code, err.getvalue()


def _check(code: int, err: str, before: dict, after: dict, allowed: tuple[str, ...]) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err, err
    if code == 2:
        assert err.strip(), "exit 2 without a word"
        assert after == before, sorted(set(after) ^ set(before))
    else:
        new = {k for k in after if k not in before or after[k] != before[k]}
        stray = [k for k in new if not any(k == a or k.startswith(a + "/") or a.startswith(k + "/") for a in allowed)]
        assert not stray, stray
    assert not CANARY.exists(), "the input created the canary"


@pytest.fixture(autouse=True)
def _no_canary():
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists()
    CANARY.unlink(missing_ok=True)


TINY = ["--set", "population.merchants=20", "--set", "population.months=2", "--reps", "1", "--quiet"]


@FUZZ
@given(doc=st.one_of(st.dictionaries(st.sampled_from(["name", "policy", "behaviour", "population", "extends",
                                                      "description"]), documents, max_size=4), documents),
       raw=st.one_of(st.none(), yaml_text), with_out=st.booleans())
def test_fuzz_scenario_files(doc, raw, with_out):
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        (work / "scn.yaml").write_text(raw if raw is not None else _dump(doc), encoding="utf-8",
                                       errors="surrogateescape")
        (work / "baseline.yaml").write_bytes((SCN / "baseline.yaml").read_bytes())  # for extends
        before = _tree(work)
        code, err = _sim(["validate", "scn.yaml"], work)
        _check(code, err, before, _tree(work), ())
        argv = ["run", "scn.yaml", *TINY] + (["--out", "out"] if with_out else [])
        code, err = _sim(argv, work)
        _check(code, err, before, _tree(work), ("out",) if with_out else ("reports/runs",))


@FUZZ
@given(path=st.one_of(st.sampled_from(PATHS), st.text(max_size=20)),
       value=st.one_of(st.sampled_from(HOSTILE), yaml_text, scalars.map(lambda v: _dump(v).strip())))
def test_fuzz_set_values(path, value):
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        before = _tree(work)
        code, err = _sim(["run", str(SCN / "baseline.yaml"), "--set", f"{path}={value}", *TINY, "--out", "o"], work)
        _check(code, err, before, _tree(work), ("o",))


batch_fields = {
    "name": st.one_of(st.sampled_from(["b", "批次", "../x", "", ".."]), scalars),
    "scenarios": st.one_of(st.just(["baseline.yaml"]), st.lists(st.one_of(st.sampled_from(
        ["baseline.yaml", "/etc/passwd", "../../x.yaml", "missing.yaml", "scn.yaml"]), scalars), max_size=3), scalars),
    "replications": st.one_of(st.integers(-2, 3), scalars),
    "seed": st.one_of(st.integers(-1, 5), scalars),
    "seeds": st.one_of(st.sampled_from(["common", "independent"]), scalars),
    "engine": st.one_of(st.sampled_from(["auto", "fast", "mesa"]), scalars),
    "set": st.one_of(st.lists(st.one_of(st.sampled_from([f"{p}=1" for p in PATHS[:40]]), st.sampled_from(HOSTILE)),
                              max_size=2), scalars),
    "sweep": st.one_of(scalars, st.fixed_dictionaries({
        "method": st.one_of(st.sampled_from(["grid", "lhs", "sobol"]), scalars),
        "samples": st.one_of(st.sampled_from([1, 2, 4, 3, 10**7]), scalars),
        "parameters": st.dictionaries(st.one_of(st.sampled_from(PATHS), st.text(max_size=8)),
                                      st.one_of(st.fixed_dictionaries({"min": scalars, "max": scalars}),
                                                st.fixed_dictionaries({"values": st.lists(scalars, max_size=3)}),
                                                documents), max_size=2)})),
}


@FUZZ
@given(doc=st.one_of(st.fixed_dictionaries({}, optional=batch_fields), documents))
def test_fuzz_batch_files(doc, dask_scheduler):
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        base = yaml.safe_load((SCN / "baseline.yaml").read_text())
        base["population"] = {"merchants": 20, "months": 2}
        (work / "baseline.yaml").write_text(yaml.safe_dump(base))
        (work / "b.yaml").write_text(_dump(doc), encoding="utf-8", errors="surrogateescape")
        before = _tree(work)
        code, err = _sim(["batch", "b.yaml", "--scheduler", dask_scheduler, "--out", "st", "--quiet"], work)
        if code == 1:  # runs that failed on a worker (a sample point breaking a cross-field rule) are recorded
            assert "runs failed" in err and "Traceback" not in err
            code = 0
        _check(code, err, before, _tree(work), ("st",))


@pytest.fixture(scope="module")
def dask_scheduler():
    """One scheduler and worker for every fuzzed batch (an embedded cluster per example would take seconds)."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                      silence_logs=50) as cluster:
        yield cluster.scheduler_address


@FUZZ
@given(name=st.sampled_from(["scenario", "reps", "seed", "merchants", "months", "engine", "lang", "sets"]),
       value=st.one_of(st.sampled_from(HOSTILE), yaml_text, scalars.map(lambda v: _dump(v).strip())))
def test_fuzz_notebook_parameters(name, value):
    import ast

    from papermill.translators import PythonTranslator

    from sim.errors import InputError
    from sim.present.report import notebook_parameters, resolve_notebook

    nb = resolve_notebook("02_run_scenario")
    try:
        params = notebook_parameters(nb, [(name, value)])
    except InputError:
        params = None
    if params is not None:  # accepted: what papermill writes is a literal equal to the value
        for v in params.values():
            assert ast.literal_eval(PythonTranslator.translate(v)) == v
        return
    with tempfile.TemporaryDirectory() as d:  # refused: the command says so in one line, before any kernel
        work = Path(d)
        before = _tree(work)
        code, err = _sim(["notebook", "02_run_scenario", "-p", name, value, "--quiet", "--out", "o.ipynb"], work)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        _check(code, err, before, _tree(work), ())

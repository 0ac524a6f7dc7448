"""The mechanism registry (sim/model/mechanisms.py) is the one place an instrument is declared: the ablation
files, ``--without``, the docking mutations, the explorer's instrument levers and the README's clause
table all follow from it."""

from __future__ import annotations

import pytest

from sim.cli import main
from sim.model import mechanisms as M
from sim.model.schema import load_scenario, parameter_table

from .conftest import ROOT

SCENARIOS = ROOT / "scenarios"


def test_ablation_files_are_the_registry_s():
    """Each shipped ablation is exactly what the registry writes, and there is no other."""
    files = sorted((SCENARIOS / "ablations").glob("*.yaml"))
    assert [p.stem for p in files] == sorted(f"no_{m.name}" for m in M.ABLATIONS)
    for m in M.ABLATIONS:
        assert (SCENARIOS / "ablations" / f"no_{m.name}.yaml").read_text() == M.ablation_yaml(m), \
            f"run python -m sim.present.generated to regenerate no_{m.name}.yaml"


@pytest.mark.parametrize("m", M.ABLATIONS, ids=[m.name for m in M.ABLATIONS])
def test_without_is_the_ablation(m):
    """``--without NAME`` on the plan resolves to the same parameters as its ablation file; only the name and
    the descriptions differ."""
    a = load_scenario(SCENARIOS / "shahe_plan.yaml", without=[m.name]).model_dump()
    b = load_scenario(SCENARIOS / "ablations" / f"no_{m.name}.yaml").model_dump()
    assert a["name"] == f"shahe_plan-without-{m.name}"
    for d in (a, b):
        for k in ("name", "description", "description_zh"):
            d.pop(k)
    assert a == b
    assert a != {k: v for k, v in load_scenario(SCENARIOS / "shahe_plan.yaml").model_dump().items()
                 if k not in ("name", "description", "description_zh")}, "switching it off must change something"


@pytest.mark.parametrize("m", M.MECHANISMS, ids=[m.name for m in M.MECHANISMS])
def test_every_mechanism_switches_something_off_in_the_plan(m):
    plan = load_scenario(SCENARIOS / "shahe_plan.yaml").model_dump()
    off = load_scenario(SCENARIOS / "shahe_plan.yaml", without=[m.name]).model_dump()
    plan.pop("name"), off.pop("name")
    assert plan != off


def test_unknown_mechanism_is_one_line_exit_2(capsys, tmp_path):
    code = main(["run", str(SCENARIOS / "shahe_plan.yaml"), "--without", "lists", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--without" in err[0] and "lists" in err[0] and "commitments" in err[0]
    assert not (tmp_path / "x").exists()


def test_explorer_levers_and_references_exist():
    """Every lever of the registry is a parameter of the schema; every ODD rule it cites is in docs/ODD.md."""
    from sim.present.explore import LEVERS

    table = {r["path"] for r in parameter_table()}
    assert [p for p, tab in LEVERS if tab == "instruments"] == list(M.instrument_levers())
    assert all(p in table for p in M.instrument_levers())
    odd = (ROOT / "docs" / "ODD.md").read_text()
    assert all(f"{m.odd}" in odd for m in M.MECHANISMS)


def test_readme_clause_table_is_generated():
    assert M.clause_table() in (ROOT / "README.md").read_text(), \
        "the README's clause table differs from the registry's: run python -m sim.present.generated"


def test_every_ablation_names_its_evidence():
    """An ablation's evidence is an output of the model (or a sector breakdown of one)."""
    from sim.model.metrics import GROUP_METRICS, METRICS

    names = {m.name for m in METRICS}
    for m in M.ABLATIONS:
        what = m.evidence()
        assert (what in names) if isinstance(what, str) else (what[1] in GROUP_METRICS), m.name


def test_names_are_unique_slugs():
    from sim.model.names import check_slug

    names = [m.name for m in M.MECHANISMS]
    assert len(set(names)) == len(names)
    for n in names:
        check_slug(n)


def test_odd_registry_table_is_generated():
    assert M.mechanisms_table() in (ROOT / "docs" / "ODD.md").read_text(), \
        "docs/ODD.md §4 differs from the registry's table: run python -m sim.present.generated"


def test_the_ablation_batch_runs_every_registered_ablation():
    """scenarios/batches/ablations.yaml pairs the plan with every ablation of the registry, and nothing else."""
    import yaml

    batch = yaml.safe_load((SCENARIOS / "batches" / "ablations.yaml").read_text())
    listed = [s for s in batch["scenarios"] if "ablations/" in s]
    assert "../shahe_plan.yaml" in batch["scenarios"]
    assert sorted(listed) == sorted(f"../ablations/no_{m.name}.yaml" for m in M.ABLATIONS)
    assert (SCENARIOS / "batches" / "ablations.yaml").read_text() == M.ablation_batch_yaml(), \
        "run python -m sim.present.generated to regenerate scenarios/batches/ablations.yaml"


def test_counters_table_rows_and_labels_come_from_the_registry():
    """What used to be kept by hand follows from the registry's outputs: the engines' counters, the kernel's
    counter record, the rows of `sim run`'s table and the metric labels in both languages."""
    import re

    from sim.cli import _table_metrics
    from sim.model.layout import COUNTER_DTYPE, KERNEL_COUNTERS
    from sim.model.metrics import COUNTERS, METRICS
    from sim.present.i18n import TEXT

    declared = M.CORE_OUTPUTS + tuple(o for m in M.MECHANISMS for o in m.outputs)
    assert [m.name for m in METRICS[:len(declared)]] == [m.name for m in declared]
    assert len({m.name for m in METRICS}) == len(METRICS)
    assert set(COUNTERS) == {m.name for m in declared if m.source in ("kernel", "engine")}
    assert COUNTER_DTYPE.names == KERNEL_COUNTERS == tuple(m.name for m in declared if m.source == "kernel")
    assert _table_metrics() == tuple(m.name for m in METRICS if m.table)
    for m in METRICS:
        assert TEXT[f"metric.{m.name}"] == (m.zh, m.en), m.name
        assert m.source in ("tally", "kernel", "engine") and m.better in (None, "higher", "lower"), m.name
    # the kernel adds to exactly the counters the registry declares as the kernel's (``k.NAME +=``)
    kernel = (ROOT / "sim" / "model" / "kernel.py").read_text(encoding="utf-8")
    engines = "".join((ROOT / "sim" / "model" / "engines" / f).read_text(encoding="utf-8")
                      for f in ("fast_engine.py", "mesa_engine.py"))
    counted = (set(re.findall(r"\bk\.(\w+) \+=", kernel))
               | set(re.findall(r"\b(?:k|counters\[c\])\.(\w+) \+= 1", engines)))
    assert counted == set(KERNEL_COUNTERS)


def test_a_month_record_has_every_metric_in_the_registry_s_order():
    import numpy as np

    from sim.model.metrics import COUNTERS, METRICS, N_GROUPS, TALLY_COLUMNS, month_record

    t = np.ones((N_GROUPS, len(TALLY_COLUMNS)))
    totals, _ = month_record(t, dict.fromkeys(COUNTERS, 2), 10.0, 1.0)
    assert list(totals) == [m.name for m in METRICS]
    for m in METRICS:
        if m.source != "tally":
            assert type(totals[m.name]) is (int if m.integer else float), m.name


def test_the_generator_rewrites_every_generated_file_as_shipped(tmp_path):
    """``python -m sim.present.generated`` on a copy of the project changes nothing: every generated file (ablations,
    their batch, the README's and the ODD's tables, docs/PARAMETERS.md) is as shipped, and a stale table is replaced
    whole, leaving the text around it alone."""
    import shutil

    from sim.present.generated import replace_table, write_all

    shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    (tmp_path / "docs").mkdir()
    for rel in ("README.md", "docs/ODD.md", "docs/PARAMETERS.md"):
        shutil.copy(ROOT / rel, tmp_path / rel)
    written = write_all(tmp_path)
    assert len(written) == len(M.ABLATIONS) + 4
    for p in written:
        assert p.read_bytes() == (ROOT / p.relative_to(tmp_path)).read_bytes(), p
    table = M.mechanisms_table()
    stale = "before\n\n" + table.replace("S25", "S99") + "| `extra` | row |\n\nafter\n"
    assert replace_table(stale, table) == "before\n\n" + table + "\nafter\n"

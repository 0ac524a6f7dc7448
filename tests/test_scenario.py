"""Scenario files: shipped ones valid, every parameter documented, bad input named precisely."""

from __future__ import annotations

import pytest

from sim.errors import InputError
from sim.model.schema import TEXT_FIELDS, load_scenario, parameter_table

from .conftest import SCENARIOS, SHIPPED

DESIGN_PATHS = [
    *(f"policy.inspection.sampling_ratio.{t}" for t in "ABCD"),
    *(f"policy.inspection.campaigns_per_year.{t}" for t in "ABCD"),
    "policy.inspection.capacity_per_month",
    *(f"policy.tiers.{t}" for t in "ABC"),
    "policy.lists.red.min_score", "policy.lists.key_attention.max_score",
    "policy.lists.blacklist.max_score", "policy.lists.blacklist.duration_months",
    "policy.incentives.red_list_monthly_value", "policy.incentives.joint_punishment_multiplier",
    "population.merchants", "population.months",
    *(f"population.type_mix.{t}" for t in ("honest", "strategic", "defiant", "careless")),
]


def test_at_least_five_scenarios_ship_and_validate():
    names = {p.stem for p in SHIPPED}
    assert {"baseline", "shahe_plan"} <= names and len(names) >= 5
    for p in SHIPPED:
        assert load_scenario(p).name == p.stem


def test_design_paths_exist_and_every_parameter_has_unit_range_meaning():
    rows = {r["path"]: r for r in parameter_table()}
    for path in DESIGN_PATHS:
        assert path in rows, path
    for r in rows.values():
        if r["path"] in TEXT_FIELDS:
            continue
        assert r["unit"] and r["meaning"], r["path"]
        if r["unit"] not in ("switch", "sector"):
            assert r["lo"] is not None and r["hi"] is not None, r["path"]
            # an optional parameter (default null: not given) has a range for when it is given
            assert r["default"] is None or r["lo"] <= r["default"] <= r["hi"], r["path"]


def test_levers_apart_from_uncertainties():
    rows = [r["path"] for r in parameter_table()]
    assert any(p.startswith("policy.") for p in rows) and any(p.startswith("behaviour.") for p in rows)
    assert not any(p.startswith("policy.") and "risk_aversion" in p for p in rows)


def test_extends_merges_and_child_wins():
    plan = load_scenario(SCENARIOS / "shahe_plan.yaml")
    strict = load_scenario(SCENARIOS / "strict_enforcement.yaml")
    base = load_scenario(SCENARIOS / "baseline.yaml")
    # inherited from the plan
    assert strict.policy.inspection.sampling_ratio.A == plan.policy.inspection.sampling_ratio.A == 0.03
    # overridden in the child
    assert strict.policy.inspection.sampling_ratio.D == 1.0 and plan.policy.inspection.sampling_ratio.D == 0.8
    # inherited two levels up from baseline
    assert strict.population.merchants == base.population.merchants
    # a partial sector override keeps that sector's other defaults
    assert base.population.sectors.ecommerce.violation_gain == 0.064
    assert base.population.sectors.ecommerce.share == 0.15


def test_set_overrides_are_validated_like_the_file():
    scn = load_scenario(SCENARIOS / "baseline.yaml", ["policy.tiers.A=95", "policy.lists.red.enabled=true"])
    assert scn.policy.tiers.A == 95 and scn.policy.lists.red.enabled is True
    with pytest.raises(InputError) as e:
        load_scenario(SCENARIOS / "baseline.yaml", ["policy.inspection.sampling_ratio.A=1.5"])
    (p,) = e.value.problems
    assert p.path == "policy.inspection.sampling_ratio.A" and p.value == 1.5 and "0 to 1" in p.allowed


def _problems(tmp_path, text: str, sets=None) -> list[str]:
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        load_scenario(f, sets)
    return [str(p) for p in e.value.problems]


@pytest.mark.parametrize("text, path, allowed", [
    ("policy: {inspection: {sampling_ratio: {A: 1.2}}}", "policy.inspection.sampling_ratio.A", "from 0 to 1"),
    ("policy: {inspection: {capacity_per_monht: 10}}", "policy.inspection.capacity_per_monht", "unknown field"),
    ("population: {merchants: ten}", "population.merchants", "whole number"),
    ("population: {merchants: 2.5}", "population.merchants", "whole number"),
    ("policy: {lists: {blacklist: {duration_months: 48}}}", "policy.lists.blacklist.duration_months", "1 to 36"),
    ("policy: {lists: {repair: {min_months_on_list: 3}}}", "policy.lists.repair.min_months_on_list", "6 to 36"),
    ("policy: {lists: {red: {enabled: maybe}}}", "policy.lists.red.enabled", "true or false"),
    ("policy: {tiers: {A: 60, B: 75, C: 70}}", "policy.tiers", "A > B > C"),
    ("policy: {lists: {blacklist: {max_score: 70}}}", "policy.lists", "blacklist.max_score < key_attention"),
    ("population: {type_mix: {honest: 0.9}}", "population.type_mix", "sum to 1"),
    ("polcy: {}", "polcy", "unknown field"),
    ("- a\n- b", "(top level)", "mapping"),
    ("policy: [1, 2", "line", "valid YAML"),
    ("extends: missing.yaml", "extends", "existing scenario file"),
])
def test_bad_files_name_file_path_value_and_allowed(tmp_path, text, path, allowed):
    lines = _problems(tmp_path, text)
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith(str(tmp_path / "s.yaml")) and path in line and allowed in line


def test_every_problem_reported_once(tmp_path):
    lines = _problems(tmp_path, "policy: {inspection: {sampling_ratio: {A: 2, B: -1}, inspectors: 0}}")
    assert len(lines) == 3


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(InputError) as e:
        load_scenario(tmp_path / "a.yaml")
    assert "cycle" in str(e.value)


@pytest.mark.parametrize("setting, fragment", [
    ("policy.tiers.Z=3", "unknown field"),
    ("nonsense", "PATH=VALUE"),
    ("policy.tiers.A=", "a value after"),
    ("population.months=abc", "whole number"),
])
def test_bad_set(setting, fragment):
    with pytest.raises(InputError) as e:
        load_scenario(SCENARIOS / "baseline.yaml", [setting])
    assert len(e.value.problems) == 1 and fragment in str(e.value)


def test_parameter_reference_is_in_step_with_the_schema():
    from sim.present.paramdoc import parameters_markdown

    from .conftest import ROOT
    assert (ROOT / "docs" / "PARAMETERS.md").read_text() == parameters_markdown(), \
        "regenerate with: python -m sim.present.generated"


def test_chinese_descriptions_follow_their_english(tmp_path):
    """A file that writes its own description without a Chinese one does not inherit its parent's Chinese
    description (it would describe the parent); a file that writes neither inherits both."""
    (tmp_path / "parent.yaml").write_text("description: parent\ndescription_zh: 父情景\n", encoding="utf-8")
    (tmp_path / "own.yaml").write_text("extends: parent.yaml\ndescription: child\n", encoding="utf-8")
    (tmp_path / "same.yaml").write_text("extends: parent.yaml\nname: same\n", encoding="utf-8")
    own, same = load_scenario(tmp_path / "own.yaml"), load_scenario(tmp_path / "same.yaml")
    assert (own.description, own.description_zh) == ("child", "")
    assert (same.description, same.description_zh) == ("parent", "父情景")


def test_every_shipped_scenario_has_a_chinese_description():
    for path in SHIPPED + sorted((SCENARIOS / "ablations").glob("*.yaml")):
        scn = load_scenario(path)
        assert scn.description and scn.description_zh, path

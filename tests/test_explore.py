"""The explorer behind 01_explore: levers with the schema's ranges, reruns that move the right way."""

from __future__ import annotations

import pytest

from sim.errors import InputError
from sim.model.schema import parameter_table
from sim.present.explore import LEVERS, Explorer
from sim.present.report import prepare

from .conftest import ROOT


@pytest.fixture(scope="module")
def explorer():
    setup = prepare(str(ROOT / "scenarios" / "shahe_plan.yaml"), reps=2, merchants=2000, months=24, engine="fast",
                    lang="en", min_reps=1, sets=["policy.inspection.capacity_per_month=100000"])
    return Explorer(setup)


def test_levers_take_their_ranges_from_the_schema(explorer):
    table = {r["path"]: r for r in parameter_table()}
    assert [lv.path for lv in explorer.levers] == [p for p, _ in LEVERS]
    for lv in explorer.levers:
        assert (lv.lo, lv.hi) == (table[lv.path]["lo"], table[lv.path]["hi"])
        assert lv.switch == (table[lv.path]["unit"] == "switch")
    assert explorer.original["policy.inspection.sampling_ratio.D"] == 0.8


def test_more_checks_of_d_merchants_mean_more_inspections(explorer):
    low, _ = explorer.update(policy__inspection__sampling_ratio__D=0.0)
    high, seconds = explorer.update(policy__inspection__sampling_ratio__D=1.0)
    total = lambda ts: ts[ts["by"] == "all"]["inspections"].sum()  # noqa: E731
    assert total(high) > total(low) and seconds > 0
    assert explorer.values["policy.inspection.sampling_ratio.D"] == 1.0
    assert "changed" in explorer.settings() and "class=changed" in explorer.settings()


def test_settings_that_break_a_rule_are_named_and_not_run(explorer):
    before = dict(explorer.values)
    with pytest.raises(InputError, match="cut-offs must fall"):
        explorer.update(policy__tiers__A=50)
    assert explorer.values == before


def test_the_widgets_redraw_when_a_lever_moves(explorer):
    pytest.importorskip("ipywidgets")
    box = explorer.ui()
    status = box.children[1]
    assert status.value.endswith(" s")
    explorer.controls["policy.tiers.A"].value = 40  # below B: invalid
    assert "Settings not valid" in status.value and "policy.tiers" in status.value
    figure, table = box.children[2], box.children[4]
    before = bytes(figure.value)
    assert before.startswith(b"\x89PNG") and "policy.tiers.A" in table.value
    explorer.controls["policy.tiers.A"].value = 91
    assert status.value.endswith(" s") and explorer.values["policy.tiers.A"] == 91
    assert bytes(figure.value).startswith(b"\x89PNG") and bytes(figure.value) != before  # the panels were redrawn


def test_redraws_reuse_one_figure_without_piling_up_bands(explorer):
    ts, _ = explorer.update(policy__inspection__campaigns_per_year__C=3.0)
    first = explorer.png(ts)
    fig = explorer.figure(ts)
    ts2, _ = explorer.update(policy__inspection__campaigns_per_year__C=1.0)
    second = explorer.png(ts2)
    assert explorer.figure(ts2) is fig
    assert first.startswith(b"\x89PNG") and first != second
    assert all(len(ax.collections) <= 1 for ax in fig.axes)  # one band per panel, replaced not added


def test_an_instrument_switch_turns_its_mechanism_off_and_on(explorer):
    """The instruments tab: associations off -> no members; on again -> members (shahe_plan's shares)."""
    off, _ = explorer.update(policy__associations__enabled=False)
    on, _ = explorer.update(policy__associations__enabled=True)
    members = lambda ts: ts[ts["by"] == "all"]["association_members"]  # noqa: E731
    assert (members(off) == 0).all() and (members(on) > 0).all()
    pytest.importorskip("ipywidgets")
    import ipywidgets as w
    box = explorer.ui()
    ctl = explorer.controls["policy.associations.enabled"]
    assert isinstance(ctl, w.Checkbox) and ctl.value is True
    ctl.value = False
    assert box.children[1].value.endswith(" s") and explorer.values["policy.associations.enabled"] is False

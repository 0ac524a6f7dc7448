"""Paired comparisons and the generated summary: numbers with known answers, and claims that follow them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment.statistics import compare, describe, interval, paired, per_rep, rep_table
from sim.model.metrics import METRICS
from sim.present.narrative import TARGETS, format_value, summary_claims, target_table


def _table(compliance, inspections=None, seed=0, n=None):
    """A replication table with every metric column; the named ones set, the rest 1.0."""
    compliance = np.asarray(compliance, dtype=float)
    n = len(compliance)
    rng = np.random.default_rng(seed)
    cols = {m.name: np.ones(n) for m in METRICS}
    cols["compliance_rate"] = compliance
    cols["inspections"] = np.asarray(inspections if inspections is not None else 10 + rng.normal(0, 1, n))
    cols["inspection_cost"] = 800.0 * cols["inspections"]
    cols["burden_on_compliant"] = cols["inspections"] * compliance
    cols["consumer_harm"] = 1e6 * (1 - compliance)
    cols["merchants"] = np.full(n, 1000.0)
    df = pd.DataFrame(cols, index=pd.RangeIndex(n, name="rep"))
    df["checks_per_merchant_year"] = 12 * df["inspections"] / df["merchants"]
    df["harm_per_merchant"] = df["consumer_harm"] / df["merchants"]
    return df


def test_interval_matches_the_t_formula():
    mean, lo, hi = interval([1.0, 2.0, 3.0])
    half = stats.t.ppf(0.975, 2) * 1.0 / math.sqrt(3)
    assert mean == 2.0 and lo == pytest.approx(2 - half) and hi == pytest.approx(2 + half)
    assert interval([5.0]) == (5.0, 5.0, 5.0)
    assert all(math.isnan(v) for v in interval([np.nan]))


def test_paired_difference_and_effect_size_by_hand():
    base = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}, index=pd.RangeIndex(4, name="rep"))
    alt = pd.DataFrame({"x": [2.0, 2.5, 4.5, 5.0]}, index=pd.RangeIndex(4, name="rep"))
    r = paired(base, alt).loc["x"]
    d = np.array([1.0, 0.5, 1.5, 1.0])
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2
    assert r["diff"] == pytest.approx(1.0) and r["lo"] == pytest.approx(1 - half) and r["hi"] == pytest.approx(1 + half)
    assert r["rel"] == pytest.approx(1.0 / 2.5)
    pooled = math.sqrt((np.var([2, 2.5, 4.5, 5], ddof=1) + np.var([1, 2, 3, 4], ddof=1)) / 2)
    assert r["effect"] == pytest.approx(1.0 / pooled)
    assert r["sign"] == 1 and r["n"] == 4


def test_pairing_removes_shared_noise():
    """Common random numbers: a 1-point shift under large shared noise is found paired, not unpaired."""
    rng = np.random.default_rng(1)
    shared = rng.normal(0.6, 0.05, 20)
    base = pd.DataFrame({"c": shared}, index=pd.RangeIndex(20, name="rep"))
    alt = pd.DataFrame({"c": shared + 0.01 + rng.normal(0, 0.002, 20)}, index=pd.RangeIndex(20, name="rep"))
    r = paired(base, alt).loc["c"]
    assert r["sign"] == 1 and r["lo"] > 0.008 and r["hi"] < 0.012
    assert stats.ttest_ind(alt["c"], base["c"]).pvalue > 0.05  # unpaired, the same shift is lost in the noise


def test_a_known_difference_is_claimed_and_named_in_both_languages():
    rng = np.random.default_rng(0)
    base = _table(0.60 + rng.normal(0, 0.005, 10))
    alt = _table(base["compliance_rate"] + 0.05 + rng.normal(0, 0.002, 10), inspections=base["inspections"] * 3)
    for lang, word in (("en", "higher"), ("zh", "升至")):
        claims = summary_claims({"base": base, "plan": alt}, "base", lang)
        c = next(c for c in claims if c.scenario == "plan" and c.metric == "compliance_rate")
        assert c.direction == 1 and c.lo > 0 and word in c.text
        assert "65.0%" in c.text or "64.9%" in c.text or "65.1%" in c.text  # the alternative's level is stated
        cost = next(c for c in claims if c.kind == "cost")
        assert cost.direction == 1


def test_no_difference_is_never_claimed():
    base = _table([0.60, 0.62, 0.61, 0.63, 0.60, 0.62])
    alt = _table(base["compliance_rate"] + np.array([0.01, -0.01, 0.01, -0.01, 0.005, -0.005]),
                 inspections=base["inspections"])
    for lang, words in (("en", "cannot be told apart"), ("zh", "无法区分")):
        claims = summary_claims({"base": base, "same": alt}, "base", lang)
        c = next(c for c in claims if c.scenario == "same" and c.metric == "compliance_rate")
        assert c.direction == 0 and c.lo < 0 < c.hi and words in c.text
        assert not any(c.kind == "cost" for c in claims)


@pytest.mark.parametrize("seed", range(25))
def test_every_directional_claim_rests_on_an_interval_that_excludes_zero(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 12))
    base = _table(rng.uniform(0.5, 0.7, n), seed=seed)
    tables = {"base": base}
    for k in range(3):
        shift = rng.normal(0, 0.01)
        tables[f"alt{k}"] = _table(base["compliance_rate"] + shift + rng.normal(0, 0.01, n), seed=seed + k + 1)
    for c in summary_claims(tables, "base", "en"):
        if c.direction != 0 and c.kind != "cost":
            assert c.lo > 0 or c.hi < 0, c
        if c.direction == 0 and c.kind == "metric":
            assert c.lo <= 0 <= c.hi, c


def test_best_is_claimed_only_when_it_beats_the_runner_up():
    rng = np.random.default_rng(3)
    base = _table(0.60 + rng.normal(0, 0.003, 12))
    strong = _table(base["compliance_rate"] + 0.08 + rng.normal(0, 0.003, 12))
    weak = _table(base["compliance_rate"] + 0.03 + rng.normal(0, 0.003, 12))
    tie = _table(weak["compliance_rate"] + rng.normal(0, 0.003, 12))
    best = [c for c in summary_claims({"b": base, "strong": strong, "weak": weak}, "b", "en") if c.kind == "best"]
    assert len(best) == 1 and best[0].scenario == "strong" and best[0].direction == 1 and "most" in best[0].text
    tied = [c for c in summary_claims({"b": base, "weak": weak, "tie": tie}, "b", "en") if c.kind == "best"]
    assert len(tied) == 1 and tied[0].direction == 0 and "cannot be told apart" in tied[0].text


def test_target_table_has_every_target_and_marks_only_clear_differences():
    rng = np.random.default_rng(0)
    base = _table(0.60 + rng.normal(0, 0.005, 8))
    alt = _table(base["compliance_rate"] + 0.05, inspections=base["inspections"])
    tab = target_table({"base": base, "plan": alt}, "base", "en")
    assert len(tab) == sum(len(names) for _, names in TARGETS)
    row = tab[tab["Indicator"] == "Compliance rate"].iloc[0]
    assert row["plan"].endswith("↑") and not row["base"].endswith(("↑", "↓"))
    spot = tab[tab["Indicator"] == "Checks per merchant a year"].iloc[0]
    assert not spot["plan"].endswith(("↑", "↓"))  # identical inspections: no mark
    zh = target_table({"base": base, "plan": alt}, "base", "zh")
    assert "全过程信用监管基本建立" in set(zh["2022年目标"])


def test_format_value():
    assert format_value("compliance_rate", 0.6403, "en") == "64.0%"
    assert format_value("compliance_rate", 0.012, "en", signed=True) == "+1.2%"
    assert format_value("inspection_cost", 4020.4, "zh") == "4,020元"
    assert format_value("inspection_cost", -4020.4, "en", signed=True) == "-CNY 4,020"
    assert format_value("inspections", float("nan"), "en") == "-"


def test_rep_table_and_describe_on_a_real_run():
    from sim.experiment.runner import run_scenario
    from tests.conftest import small

    r = run_scenario(small("shahe_plan.yaml"), reps=3, seed=0, engine="fast", progress=False)
    tab = rep_table(r.timeseries)
    assert list(tab.index) == [0, 1, 2]
    assert tab["checks_per_merchant_year"].to_numpy() == pytest.approx(
        12 * tab["inspections"].to_numpy() / tab["merchants"].to_numpy())
    d = describe(per_rep(r.timeseries))
    for m in METRICS:  # describe agrees with summary.json
        s = r.summary[m.name]
        if s["mean"] is not None:
            assert d.loc[m.name, "mean"] == pytest.approx(s["mean"])
            assert d.loc[m.name, "lo"] == pytest.approx(s["lo"])
    same = compare({"a": tab, "b": tab}, "a").loc["b"]
    assert (same["diff"].fillna(0) == 0).all() and (same["sign"] == 0).all()


def test_monthly_bands_are_the_interval_of_each_month():
    from sim.experiment.statistics import bands

    rng = np.random.default_rng(0)
    ts = pd.DataFrame({"rep": np.repeat(np.arange(4), 5), "month": np.tile(np.arange(5), 4), "by": "all",
                       "group": "all", "x": rng.normal(size=20)})
    ts.loc[3, "x"] = np.nan  # a month where one replication has no value (e.g. no checks: no hit rate)
    b = bands(ts, "x").set_index("month")
    for m, g in ts.groupby("month"):
        assert b.loc[m, ["mean", "lo", "hi"]].to_numpy(dtype=float) == pytest.approx(interval(g["x"]))


def test_the_report_says_when_capacity_does_not_carry_out_the_ratios():
    """A scenario whose ratios ask for 30 checks a month while 10 are made gets a sentence naming both and the
    200% excess, in both languages; one asking for 10.4 of 10 made (within 5%) gets none; one that can make
    no check at all is named too."""
    rng = np.random.default_rng(1)
    base = _table(0.60 + rng.normal(0, 0.005, 10), inspections=np.full(10, 10.0))
    base["inspections_requested"] = 10.4
    short = base.copy()
    short["inspections_requested"] = 30.0
    none = base.copy()
    none["inspections"], none["inspections_requested"] = 0.0, 5.0
    for lang, word in (("en", "200% more than the 10.0"), ("zh", "超出执法力量所能完成的10.0次200%")):
        claims = [c for c in summary_claims({"base": base, "short": short, "none": none}, "base", lang)
                  if c.kind == "capacity"]
        assert [c.scenario for c in claims] == ["short", "none"]
        assert word in claims[0].text and "30" in claims[0].text
        assert claims[0].diff == pytest.approx(2.0) and claims[1].diff == float("inf")

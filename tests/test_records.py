"""Records: the two forms read and checked, the model's records in them, one line per bad value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.calibration import data_covariance, data_moments, moment_spec
from sim.experiment.records import AGGREGATE_COLUMNS, CHECK_COLUMNS, read_records, synthetic_records, write_records
from tests.conftest import SCENARIOS, small

AGG_HEADER = "period,sector,tier,checks,problems,serious,penalties_cny,new_listings,merchants,regime,source"
CHK_HEADER = ",".join(CHECK_COLUMNS)


def _write(tmp_path, text: str | bytes, name: str = "r.csv"):
    p = tmp_path / name
    (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
    return p


@pytest.fixture(scope="module")
def checks_and_aggregates(tmp_path_factory):
    """One small run's records of single checks (Mesa engine) and, from the same run, its aggregates."""
    tmp = tmp_path_factory.mktemp("records")
    scn = small("shahe_plan.yaml", population={"burn_in_months": 24, "months": 24})
    checks = synthetic_records(scn, "checks", seed=3)
    aggs = synthetic_records(scn, "aggregates", seed=3, engine="mesa")
    write_records(checks, tmp / "checks.csv")
    write_records(aggs, tmp / "aggs.csv")
    return tmp / "checks.csv", tmp / "aggs.csv", checks, aggs


def test_the_models_records_show_the_bureaus_view_only(checks_and_aggregates):
    _, _, checks, aggs = checks_and_aggregates
    assert list(checks.columns) == list(CHECK_COLUMNS)
    assert list(aggs.columns) == list(AGGREGATE_COLUMNS)
    for df in (checks, aggs):  # never a merchant's type
        assert not any("type" in c or "honest" in c or "strategic" in c for c in df.columns)
    assert set(checks["result"]) <= {"none", "minor", "serious"}
    assert set(checks["tier"]) <= set("ABCD")
    assert (checks.loc[checks.result == "none", "penalty_cny"] == 0).all()
    assert checks["merchant_id"].nunique() < len(checks)  # merchants are checked more than once


def test_checks_and_aggregates_of_one_run_agree(checks_and_aggregates):
    """The two forms of the same run (same seed, Mesa engine) count the same checks, problems and serious
    problems in every year, tier and sector: the records are the model's counts, whichever form."""
    chk_path, agg_path, _, _ = checks_and_aggregates
    chk, agg = read_records(chk_path), read_records(agg_path)
    assert (chk.form, agg.form) == ("checks", "aggregates")
    for r in (chk, agg):
        assert r.start == "2019-01" and r.months == 24
    c = chk.cells.assign(year=chk.cells.month0 // 12).groupby(["year", "sector", "tier"])[
        ["checks", "problems", "serious"]].sum()
    a = agg.cells.assign(year=agg.cells.month0 // 12).groupby(["year", "sector", "tier"])[
        ["checks", "problems", "serious"]].sum()
    a, c = a.loc[a.checks > 0], c.loc[c.checks > 0]
    pd.testing.assert_frame_equal(c.sort_index(), a.sort_index(), check_dtype=False)
    spec = moment_spec(agg)
    obs_a, _ = data_moments(agg, spec)
    obs_c, _ = data_moments(chk, moment_spec(chk))
    common = [i for i, m in enumerate(spec.rows) if m["moment"] in ("hit_rate", "check_share", "serious_share")]
    spec_c = [m for m in moment_spec(chk).rows]
    for i in common:
        j = spec_c.index(spec.rows[i])
        assert obs_a[i] == pytest.approx(obs_c[j], abs=1e-12)


def test_bootstrap_variance_of_a_proportion_is_binomial(tmp_path):
    """One year's aggregate of n = 400 checks with 60 problems: the bootstrap's variance of the hit rate is
    p(1-p)/n within 15% (400 draws: the variance's own relative standard error is sqrt(2/400) = 7%, so 15%
    is two of them)."""
    p = _write(tmp_path, "period,checks,problems\n2020,400,60\n")
    rec = read_records(p)
    spec = moment_spec(rec)
    assert [m["moment"] for m in spec.rows] == ["hit_rate"]
    cov = data_covariance(rec, spec)
    ph = 60.5 / 401
    assert cov[0, 0] == pytest.approx(ph * (1 - ph) / 400, rel=0.15)


def test_check_bootstrap_keeps_a_merchants_checks_together(tmp_path):
    """Two merchants, each checked 50 times, one always with a problem, one never: resampling merchants (not
    checks) gives the hit rate a variance near (1/2)(1/2)/2 merchants = 0.125, far above the binomial 0.0025 of
    100 independent checks."""
    rows = [f"2020-01-{1 + i % 28:02d},M{k},retail,B,{'minor' if k == 1 else 'none'},0," for k in (1, 2)
            for i in range(50)]
    rec = read_records(_write(tmp_path, CHK_HEADER + "\n" + "\n".join(rows) + "\n"))
    spec = moment_spec(rec)
    i = spec.rows.index({"moment": "hit_rate", "regime": "plan", "year": 0, "sector": "", "tier": ""})
    cov = data_covariance(rec, spec)
    assert cov[i, i] > 0.05


BAD = [
    ("missing column", "period,checks\n2020,10\n", "problems: (missing)"),
    ("negative checks", "period,checks,problems\n2020,-3,0\n", "row 2: checks: -3"),
    ("problems above checks", "period,checks,problems\n2020,5,9\n", "row 2: problems: 9: at most checks (5)"),
    ("unknown tier", "period,tier,checks,problems\n2020,E,5,1\n", "row 2: tier: E"),
    ("unknown sector", "period,sector,checks,problems\n2020,banking,5,1\n", "row 2: sector: banking"),
    ("bad period", "period,checks,problems\n2020-13,5,1\n", "row 2: period: 2020-13"),
    ("bad date", CHK_HEADER + "\n2020-02-30,M1,retail,B,none,0,\n", "row 2: date: 2020-02-30"),
    ("bad result", CHK_HEADER + "\n2020-02-03,M1,retail,B,bad,0,\n", "row 2: result: bad"),
    ("negative penalty", CHK_HEADER + "\n2020-02-03,M1,retail,B,minor,-5,\n", "row 2: penalty_cny: -5"),
    ("listing after a clean check", CHK_HEADER + "\n2020-02-03,M1,retail,B,none,0,blacklist\n",
     "row 2: list_event: blacklist"),
    ("empty file", "", "(file): (empty): a header row"),
    ("header only", "period,checks,problems\n", "(a header only)"),
    ("wrong encoding", "period,sector,checks,problems\n2020,零售,5,1\n".encode("gb18030"), "(encoding)"),
    ("unknown column", "period,checks,problems,colour\n2020,5,1,red\n", "(header): colour"),
    ("neither form", "a,b\n1,2\n", "(header): a,b"),
    ("fields short", "period,checks,problems\n2020,5\n", "row 2: (row): 2 fields"),
    ("duplicate cell", "period,checks,problems\n2020,5,1\n2020,6,1\n", "row 3: period: 2020"),
    ("mixed periods", "period,checks,problems\n2020,5,1\n2021-01,6,1\n", "row 3: period: 2021-01"),
    ("serious above problems", "period,checks,problems,serious\n2020,5,1,2\n", "row 2: serious: 2"),
    ("sector and tier", "period,sector,tier,checks,problems\n2020,retail,A,5,1\n", "row 2: tier: A"),
]


@pytest.mark.parametrize("case,text,named", BAD, ids=[b[0] for b in BAD])
def test_bad_records_one_line_exit_2_nothing_written(tmp_path, capsys, case, text, named):
    p = _write(tmp_path, text)
    out = tmp_path / "out"
    code = main(["calibrate", str(p), "--scenario", str(SCENARIOS / "baseline.yaml"), "--out", str(out),
                 "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1, err
    assert named in err[0] and str(p) in err[0]
    assert "Traceback" not in err[0]
    assert not out.exists() and sorted(x.name for x in tmp_path.iterdir()) == ["r.csv"]


@pytest.mark.parametrize("argv,named", [
    (["--form", "rows"], "--form: rows"),
    (["--period", "week"], "--period: week"),
    (["--start", "2019-13"], "--start: 2019-13"),
    (["--engine", "gpu"], "--engine: gpu"),
    (["--set", "behaviour.learning.rate=2"], "behaviour.learning.rate"),
])
def test_sim_records_bad_flags(tmp_path, capsys, argv, named):
    out = tmp_path / "r.csv"
    code = main(["records", str(SCENARIOS / "baseline.yaml"), "--out", str(out), "--quiet", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and named in err[0], err
    assert not out.exists()


def test_sim_records_never_replaces_a_file_it_did_not_write(tmp_path, capsys):
    mine = _write(tmp_path, "my,own\n1,2\n", "mine.csv")
    args = ["records", str(SCENARIOS / "baseline.yaml"), "--set", "population.merchants=200", "--set",
            "population.months=12", "--set", "population.burn_in_months=0", "--quiet"]
    assert main([*args, "--out", str(mine)]) == 2
    assert "a new file or one 'sim records' wrote" in capsys.readouterr().err
    assert mine.read_text() == "my,own\n1,2\n"
    assert main([*args, "--out", str(tmp_path / "r.txt")]) == 2
    ours = tmp_path / "ours.csv"
    assert main([*args, "--out", str(ours)]) == 0
    first = ours.read_bytes()
    assert main([*args, "--out", str(ours)]) == 0  # its own file: replaced, the same bytes for the same seed
    assert ours.read_bytes() == first
    df = pd.read_csv(ours, keep_default_na=False)
    assert (df["period"].astype(str) == "2019").all() and len(df) == 15  # all, 10 sectors, 4 tiers
    allrow = df[(df.sector == "") & (df.tier == "")].iloc[0]
    assert allrow.checks == df[df.tier != ""].checks.sum() == df[df.sector != ""].checks.sum()
    assert np.isclose(allrow.merchants, df[df.tier != ""].merchants.sum())

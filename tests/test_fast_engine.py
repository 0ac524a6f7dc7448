"""The fast engine's own machinery: compact state, counter-based draws, tally, threads, growth."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.experiment import runner
from sim.experiment.runner import run_scenario
from sim.model import rules as R
from sim.model import streams
from sim.model.engines import fast_engine as F
from sim.model.layout import STATE
from sim.model.metrics import N_GROUPS, SUM_COLUMNS, TALLY_COLUMNS, tally
from sim.model.params import compile_scenario
from sim.model.schema import SECTORS

from .conftest import small


def test_state_fits_in_64_bytes_per_merchant():
    state = F.State(10_000)
    per_slot = state.a.nbytes / state.capacity
    assert per_slot == F.bytes_per_merchant() <= 64
    assert set(state.a.dtype.names) == {name for name, *_ in STATE}  # one record layout, named in sim.model


@numba.njit
def _draws(key, months, slots, purposes):
    out = np.empty((purposes, months, slots))
    for u in range(purposes):
        for m in range(months):
            for s in range(slots):
                out[u, m, s] = streams.counter_uniform(streams.counter(key, m, s), u)
    return out


def test_counter_based_draws_are_uniform_and_distinct_per_purpose():
    """200,000 draws (2,000 slots x 100 months) per purpose. KS against U(0,1) at alpha 1e-4, and
    correlation between purposes below 0.015 (|r| of independent samples of 200,000 has sd 0.0022,
    so this is about 7 sd)."""
    draws = _draws(np.uint64(123456789), 100, 2000, 3).reshape(3, -1)
    for u in range(3):
        assert 0.0 <= draws[u].min() and draws[u].max() < 1.0
        assert stats.kstest(draws[u], "uniform").pvalue > 1e-4
    assert abs(np.corrcoef(draws[0], draws[1])[0, 1]) < 0.015
    assert abs(np.corrcoef(draws[1], draws[2])[0, 1]) < 0.015
    # neighbouring slots and months are not correlated either
    grid = draws[0].reshape(100, 2000)
    assert abs(np.corrcoef(grid[:, :-1].ravel(), grid[:, 1:].ravel())[0, 1]) < 0.015
    assert abs(np.corrcoef(grid[:-1].ravel(), grid[1:].ravel())[0, 1]) < 0.015


def test_cell_and_pattern_counts_give_the_metrics_tally():
    """The fast engine counts (cell, pattern) and money per cell; the tally it builds from them must equal
    sim.model.metrics.tally of the same merchants (the definition)."""
    rng = np.random.default_rng(0)
    n = 5000
    operating = rng.random(n) < 0.9
    violated = operating & (rng.random(n) < 0.3)
    severe = violated & (rng.random(n) < 0.2)
    checked = operating & (rng.random(n) < 0.2)
    detected = checked & violated & (rng.random(n) < 0.8)
    false_positive = checked & ~violated & (rng.random(n) < 0.1)
    m = {"sector": rng.integers(0, len(SECTORS), n), "tier": rng.integers(0, 4, n), "mtype": rng.integers(0, 4, n),
         "list_state": rng.integers(0, 4, n), "operating": operating, "violated": violated, "severe": severe,
         "checked": checked, "detected": detected, "false_positive": false_positive,
         "harm": np.where(violated, rng.random(n) * 1e4, 0.0),
         "fine": np.where(detected | false_positive, rng.random(n) * 1e3, 0.0),
         "revenue": np.where(operating, rng.random(n) * 1e5, 0.0), "demand_lost": rng.random(n) * 1e3,
         "credit_demand": rng.random(n) * 1e3, "norm": rng.random(n), "wrongly_listed": rng.random(n) < 0.05,
         "member": rng.random(n) < 0.3}
    cells = np.zeros((2, F.N_CELLS, F.N_PATTERNS), dtype=np.int32)  # two chunks, split arbitrarily
    money = np.zeros((2, F.N_CELLS), F.MONEY_DTYPE)
    sums = money.view(np.float64).reshape(2, F.N_CELLS, len(SUM_COLUMNS))  # fields in SUM_COLUMNS order
    for i in range(n):
        c = i % 2
        cell = F._cell_of(m["sector"][i], m["tier"][i], m["mtype"][i])
        rec = bool(detected[i] or false_positive[i])
        cells[c, cell, F._pattern_of(operating[i], violated[i], severe[i], checked[i], rec, m["list_state"][i])] += 1
        rev = m["revenue"][i]
        sums[c, cell] += (m["harm"][i], m["fine"][i], rev, rev * (operating[i] and not violated[i]),
                           m["demand_lost"][i], m["credit_demand"][i], m["norm"][i], m["wrongly_listed"][i],
                           m["member"][i], m["fine"][i] * (checked[i] and rec))
    got = F._tally_from_cells(cells, money)
    assert got.shape == (N_GROUPS, len(TALLY_COLUMNS))
    np.testing.assert_allclose(got, tally(m), rtol=1e-12)


def _growing(merchants: int, months: int):
    return small("shahe_plan.yaml", population={"merchants": merchants, "months": months,
                                                "entry_rate_per_month": 0.03, "exit_rate_per_month": 0.01})


def test_same_numbers_with_one_thread_or_two():
    """Two chunks, worked on by one thread or two: not a number may change."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: nothing to compare")
    scn = _growing(F.CHUNK + 1000, 3)
    F.clear_burn_ins()  # each run steps its own burn-in
    numba.set_num_threads(1)
    try:
        one = run_scenario(scn, reps=1, seed=9, engine="fast", progress=False).timeseries
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    F.clear_burn_ins()
    two = run_scenario(scn, reps=1, seed=9, engine="fast", progress=False).timeseries
    assert one.equals(two)
    assert (two[two["by"] == "all"]["merchants"] > F.CHUNK).all()  # more than one chunk throughout


def test_replications_side_by_side_give_the_numbers_of_one_after_another():
    """Small fast runs step their replications in threads, one per core (runner._replications): each
    replication's numbers must be those it has when the replications run one after another."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: nothing to compare")
    scn = small("shahe_plan.yaml", population={"merchants": 500, "months": 8, "burn_in_months": 12})
    params = compile_scenario(scn)
    assert runner._side_by_side("fast", params, 3) == 2
    F.clear_burn_ins()
    side = run_scenario(scn, reps=3, seed=2, engine="fast", progress=False).timeseries
    F.clear_burn_ins()
    numba.set_num_threads(1)
    try:
        assert runner._side_by_side("fast", params, 3) == 1
        alone = run_scenario(scn, reps=3, seed=2, engine="fast", progress=False).timeseries
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    pd.testing.assert_frame_equal(side, alone, check_exact=True)


def test_a_kept_burn_in_continues_exactly_as_a_new_one():
    """Scenarios that differ only in the plan's levers share their burn-in: the second is continued from a
    copy of the first's, and must give the numbers it gives when it steps its own."""
    plan = small("shahe_plan.yaml", population={"merchants": 600, "months": 6, "burn_in_months": 24})
    other = plan.model_copy(deep=True)
    other.policy.inspection.sampling_ratio.B = 0.3
    other.policy.campaign.enabled = True  # its first month's strata differ from the burn-in's last month's
    other.policy.campaign.start_month = 0
    assert F.burn_in_key(compile_scenario(plan)) == F.burn_in_key(compile_scenario(other))
    F.clear_burn_ins()
    hits = F.burn_in_hits
    run_scenario(plan, reps=2, seed=4, engine="fast", progress=False)
    kept = run_scenario(other, reps=2, seed=4, engine="fast", progress=False).timeseries
    assert F.burn_in_hits == hits + 2  # both replications continued from the plan's burn-ins
    F.clear_burn_ins()
    fresh = run_scenario(other, reps=2, seed=4, engine="fast", progress=False).timeseries
    assert F.burn_in_hits == hits + 2
    pd.testing.assert_frame_equal(kept, fresh, check_exact=True)
    again = run_scenario(plan, reps=2, seed=5, engine="fast", progress=False)  # another seed: no burn-in to share
    assert F.burn_in_hits == hits + 2 and again.reps == 2


def test_behaviour_and_the_pre_plan_policy_key_the_burn_in():
    base = small("shahe_plan.yaml", population={"merchants": 600, "months": 6, "burn_in_months": 24})
    key = F.burn_in_key(compile_scenario(base))
    for path, value in (("behaviour.learning.rate", 0.2), ("population.merchants", 700),
                        ("pre_plan.inspection.capacity_per_1000_merchants", 5.0)):
        other = base.model_copy(deep=True)
        obj = other
        *head, last = path.split(".")
        for part in head:
            obj = getattr(obj, part)
        setattr(obj, last, value)
        assert F.burn_in_key(compile_scenario(other)) != key, path


def test_population_grows_past_the_first_chunk_without_losing_merchants():
    scn = _growing(F.CHUNK - 500, 4)
    tot = run_scenario(scn, reps=1, seed=1, engine="fast", progress=False).timeseries
    tot = tot[tot["by"] == "all"]
    prev = np.concatenate([[F.CHUNK - 500], tot["merchants"].to_numpy()[:-1]])
    np.testing.assert_array_equal(tot["merchants"], prev + tot["entries"] - tot["exits"])
    assert tot["merchants"].iloc[-1] > F.CHUNK


@numba.njit
def _compiled_rules(args):
    return (R.tier_of(80.5, 90.0, 75.0, 60.0),
            R.score_after(80.5, True, True, False, 10.0, 30.0, 10.0, 80.0, 36.0, True, 10.0),
            R.commits_falsely(R.STRATEGIC, 0.7, 0.3, 0.0, 0.1, 3.0, 0.0, 0.25, 3.0), R.drop_record(9, 7, 3, 7),
            R.repair_eligible(20, 10, True, R.NEVER, R.NEVER, 6, 12, 2),
            R.consequence_ratio(args[0], args[1], args[2], args[3], args[4], args[5], args[6] > 0, args[7],
                                args[8], args[9], args[10], args[11], args[12], args[13], args[14], args[15],
                                args[16]))


def test_rules_compile_from_the_shared_source():
    """The rules of sim.model.rules are plain Python that numba compiles where compiled code calls them: the same
    numbers either way."""
    args = (0.5, 36, 0.1, 0.05, 0.5, 2.0, True, 12, 100.0, 0.05, 1e5, 0.5, 12, 0.05, 0.02, 36, 1.5)
    tier, score, commits, dropped, repair, cons = _compiled_rules(np.array(args, dtype=np.float64))
    assert tier == R.tier_of(80.5, 90.0, 75.0, 60.0) == 1
    assert score == R.score_after(80.5, True, True, False, 10.0, 30.0, 10.0, 80.0, 36.0, True, 10.0)
    assert commits and R.commits_falsely(R.STRATEGIC, 0.7, 0.3, 0.0, 0.1, 3.0, 0.0, 0.25, 3.0)
    assert dropped == R.drop_record(9, 7, 3, 7)
    assert repair and R.repair_eligible(20, 10, True, R.NEVER, R.NEVER, 6, 12, 2)
    assert cons == pytest.approx(R.consequence_ratio(*args), rel=1e-15)

"""Each rule on its own, with answers worked out by hand, on scalars and on arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import rules as R


def test_check_probability_spreads_campaigns_and_caps_at_one():
    # 40% of a tier per campaign, 3 campaigns a year: 0.4 * 3 / 12 = 0.1 a month
    assert R.check_probability(0.4, 3, 1.0) == pytest.approx(0.1)
    # key-attention doubles it: 0.2; a huge factor caps at 1
    assert R.check_probability(0.4, 3, 2.0) == pytest.approx(0.2)
    assert R.check_probability(1.0, 12, 5.0) == 1.0
    np.testing.assert_allclose(R.check_probability(np.array([0.03, 0.8]), np.array([1, 4]), 1.0),
                               [0.0025, 0.8 * 4 / 12])


def test_strategic_rule_is_allingham_sandmo_without_social_terms():
    # p = 0.25, F = 4 gains: p*F = 1 -> comply (boundary included); F = 3.9 -> violate
    assert R.strategic_complies(R.expected_sanction(0.25, 4.0, 0.0, 0.0), 0.0)
    assert not R.strategic_complies(R.expected_sanction(0.25, 3.9, 0.0, 0.0), 0.0)
    # risk aversion 0.1 inflates 0.25*3.9 = 0.975 to 1.0725 -> comply
    assert R.strategic_complies(R.expected_sanction(0.25, 3.9, 0.0, 0.1), 0.0)


def test_moral_cost_and_honest_and_defiant_rules():
    # norm 0.8, influence 0.5, 90% of peers comply: 0.8 * 0.5 * 0.9 = 0.36 of gain
    assert R.moral_cost(0.8, 0.5, 0.9) == pytest.approx(0.36)
    # sanction 0.64 + moral 0.36 = 1 -> comply
    assert R.strategic_complies(0.64, R.moral_cost(0.8, 0.5, 0.9))
    # honest: norm above collapse complies whatever the calculus; below it follows the calculus
    # confiscation (S14): this month's gain is lost if a detection comes within the statute window
    assert R.expected_confiscation(0.01, 24, 0.0) == pytest.approx(1 - 0.99 ** 24)  # 0.214
    assert R.expected_confiscation(0.01, 24, 1.0) == pytest.approx(2 * (1 - 0.99 ** 24))
    assert R.expected_confiscation(0.0, 24, 0.0) == 0.0 and R.expected_confiscation(1.0, 1, 0.0) == 1.0
    # the logit choice (S9): sharp at noise 0, one half at indifference, logistic in between
    assert R.compliance_probability(0.6, 0.4, 0.0) == 1.0 and R.compliance_probability(0.6, 0.39, 0.0) == 0.0
    assert R.compliance_probability(0.6, 0.4, 0.5) == pytest.approx(0.5)
    assert R.compliance_probability(0.5, 0.0, 0.5) == pytest.approx(1 / (1 + math.e))  # net -0.5 at scale 0.5
    assert R.compliance_probability(1.5, 0.0, 0.5) == pytest.approx(1 / (1 + math.exp(-1)))
    assert R.compliance_probability(-400.0, 0.0, 0.5) == 0.0 and R.compliance_probability(400.0, 0.0, 0.5) == 1.0
    assert R.honest_complies(0.5, 0.3, False)
    assert not R.honest_complies(0.2, 0.3, False)
    assert R.honest_complies(0.2, 0.3, True)
    # defiant: needs both certainty and severity
    assert R.defiant_complies(0.3, 3.5, 0.25, 3.0)
    assert not R.defiant_complies(0.2, 10.0, 0.25, 3.0)
    assert not R.defiant_complies(0.9, 2.9, 0.25, 3.0)
    got = R.defiant_complies(np.array([0.3, 0.2, 0.9]), np.array([3.5, 10.0, 2.9]), 0.25, 3.0)
    assert got.tolist() == [True, False, False]


def test_consequence_ratio_by_hand():
    # blacklist: p_bl 0.5 * 36 months * margin 0.1 * loss 0.3 * joint 1.5 / gain share 0.05 = 16.2 gains
    # red: 12 months * (2000 + 0.05 * 0.1 * 100000) / (0.05 * 100000) = 12 * 2500 / 5000 = 6 gains
    # weight 0.5 -> (16.2 + 6) / 2 = 11.1
    c = R.consequence_ratio(0.5, 36, 0.1, 0.05, 0.3, 1.5, 1, 12, 2000.0, 0.05, 100_000.0, 0.5, 12, 0.0, 0.0, 36, 1.0)
    assert c == pytest.approx(11.1)
    # not red, no blacklist risk, nothing published, no tier bonus at stake: nothing
    assert R.consequence_ratio(0.0, 36, 0.1, 0.05, 0.3, 1.5, 0, 12, 2000.0, 0.05, 100_000.0, 1.0, 12, 0, 0, 36,
                               1.0) == 0
    # disclosure (clause 3): 12 months published * 0.05 demand lost * margin 0.1 / gain share 0.05 = 1.2 gains;
    # credit consumption (clause 8): falling from A (4%) to B (2%) for 36 months: 36 * 0.02 * 0.1 / 0.05 = 1.44
    # gains; weight 0.5 -> (1.2 + 1.44) / 2 = 1.32
    c = R.consequence_ratio(0.0, 36, 0.1, 0.05, 0.3, 1.5, 0, 12, 2000.0, 0.05, 100_000.0, 0.5, 12, 0.05, 0.02, 36,
                            1.0)
    assert c == pytest.approx(1.32)
    # consumers see twice as much (information x2, e-commerce traceability): both demand terms double -> 2.64;
    # a blacklist loss of 0.6 x 2 is capped at 1: 0.5 * 36 * 0.1 * 1 * 1.5 / 0.05 = 54 gains, weight 0.5 -> 27
    assert R.consequence_ratio(0.0, 36, 0.1, 0.05, 0.3, 1.5, 0, 12, 2000.0, 0.05, 100_000.0, 0.5, 12, 0.05, 0.02,
                               36, 2.0) == pytest.approx(2.64)
    assert R.consequence_ratio(0.5, 36, 0.1, 0.05, 0.6, 1.5, 0, 12, 2000.0, 0.05, 100_000.0, 0.5, 12, 0.0, 0.0,
                               36, 2.0) == pytest.approx(27.0)


def test_blacklist_if_recorded():
    # severe share 0.2; one record in window, repeat threshold 3: only severe lists -> 0.2
    assert R.blacklist_if_recorded(0.2, 1, 3, 1) == pytest.approx(0.2)
    # two records already: the next is the third -> certain
    assert R.blacklist_if_recorded(0.2, 2, 3, 1) == pytest.approx(1.0)
    # blacklist switched off -> 0
    assert R.blacklist_if_recorded(0.2, 2, 3, 0) == 0


def test_score_tier_and_windows():
    # score_after(score, recorded, severe, clean_check, l_minor, l_severe, clean_points, entry, memory, breach, l_c)
    # a month ages the score 1/memory of the way to the entry score: 70 -> 70 + (80 - 70) / 10 = 71
    assert R.score_after(70.0, 0, 0, 0, 10, 30, 10, 80, 10, 0, 10) == pytest.approx(71.0)
    assert R.score_after(90.0, 0, 0, 0, 10, 30, 10, 80, 10, 0, 10) == pytest.approx(89.0)  # from above too
    assert R.score_after(80.0, 0, 0, 0, 10, 30, 10, 80, 10, 0, 10) == 80  # time alone never lifts past entry
    # then a record costs its points, a clean check earns them: 80 - 10 = 70; 80 - 30 = 50; 80 + 10 = 90
    assert R.score_after(80.0, 1, 0, 1, 10, 30, 10, 80, 10, 0, 10) == 70
    assert R.score_after(80.0, 1, 1, 1, 10, 30, 10, 80, 10, 0, 10) == 50
    assert R.score_after(80.0, 0, 0, 1, 10, 30, 10, 80, 10, 0, 10) == 90
    # 70 checked clean: aged 71, + 10 = 81
    assert R.score_after(70.0, 0, 0, 1, 10, 30, 10, 80, 10, 0, 10) == pytest.approx(81.0)
    # clipped at 0 and 100
    assert R.score_after(5.0, 1, 1, 1, 10, 30, 10, 80, 10, 0, 10) == 0
    assert R.score_after(99.0, 0, 0, 1, 10, 30, 10, 80, 10, 0, 10) == 100
    # arrays: the same numbers element by element
    np.testing.assert_allclose(R.score_after(np.array([70.0, 80.0]), np.array([0, 1]), 0, np.array([1, 1]),
                                             10, 30, 10, 80, 10, 0, 10), [81.0, 70.0])
    # tiers with cut-offs 90 / 75 / 60
    assert [int(R.tier_of(s, 90, 75, 60)) for s in (95, 90, 89.9, 75, 60, 59.9)] == [0, 0, 1, 1, 2, 3]
    np.testing.assert_array_equal(R.tier_of(np.array([95.0, 80, 65, 10]), 90, 75, 60), [0, 1, 2, 3])
    # records at months 20, 5, never; now 24, window 12 -> only month 20 counts
    assert R.records_in_window(20, 5, R.NEVER, 24, 12) == 1
    assert R.records_in_window(20, 18, 13, 24, 12) == 3


def test_list_triggers():
    assert R.red_eligible(96, 12, 95, 12) and not R.red_eligible(96, 11, 95, 12)
    assert not R.red_eligible(94.9, 50, 95, 12)
    # lists follow records: a low score lists only together with a record this month
    assert R.key_trigger(True, 59, 60) and not R.key_trigger(True, 80, 60) and not R.key_trigger(False, 59, 60)
    assert not R.key_trigger(True, 60, 60)
    assert R.blacklist_trigger(True, True, 1, 3, 80, 40)
    assert R.blacklist_trigger(False, True, 3, 3, 80, 40)
    assert R.blacklist_trigger(False, True, 0, 3, 39, 40) and not R.blacklist_trigger(False, False, 0, 3, 39, 40)
    assert not R.blacklist_trigger(False, True, 2, 3, 40, 40)


def test_repair_follows_mofcom_limits():
    args = dict(min_months_on_list=6, min_months_between=12, max_in_36=2)
    # listed at 10, now 16: 6 months, clean, never repaired -> yes; at 15 -> no (5 months)
    assert R.repair_eligible(16, 10, True, R.NEVER, R.NEVER, **args)
    assert not R.repair_eligible(15, 10, True, R.NEVER, R.NEVER, **args)
    # not clean since listing -> no
    assert not R.repair_eligible(16, 10, False, R.NEVER, R.NEVER, **args)
    # last repair 11 months ago -> no; 12 months ago -> yes
    assert not R.repair_eligible(30, 20, True, 19, R.NEVER, **args)
    assert R.repair_eligible(31, 20, True, 19, R.NEVER, **args)
    # two repairs within 36 months -> no, even if the last was long enough ago
    assert not R.repair_eligible(40, 30, True, 20, 8, **args)
    assert R.repair_eligible(45, 30, True, 20, 8, **args)  # the one at 8 is now 37 months old


def test_learning_and_norms():
    # belief 0.1, checked by an inspector with skill 0.8, published 0.02, own weight 0.3, rate 0.5:
    # evidence = 0.3*0.8 + 0.7*0.02 = 0.254; new = 0.1 + 0.5 * (0.254 - 0.1) = 0.177
    assert R.update_belief(0.1, 0.8, 0.02, 0.5, 0.3) == pytest.approx(0.177)
    # peers only (both weights 0): norm 0.5 toward compliance 0.9 at rate 0.25 -> 0.6, whatever the conduct
    for conduct in (R.GOT_AWAY, R.COMPLIED, R.CAUGHT):
        assert R.update_norm(0.5, 0.3, conduct, 0.9, 0.25, 0.0, 0.0, 0.0) == pytest.approx(0.6)
    # with publicity 0.1 (clauses 14-15): 0.6 + 0.1 * (1 - 0.6) = 0.64
    assert R.update_norm(0.5, 0.3, R.COMPLIED, 0.9, 0.25, 0.0, 0.0, 0.1) == pytest.approx(0.64)
    # publicity alone (no peer influence) raises a norm toward 1, never past it
    x = np.full(3, 0.2)
    for _ in range(200):
        x = R.update_norm(x, x, R.COMPLIED, 0.0, 0.0, 0.5, 0.2, 0.05)
    assert np.all(x <= 1.0) and x[0] == pytest.approx(1 - 0.8 * 0.95**200)


def test_norm_target_weighs_disposition_conduct_and_peers():
    """S37 by hand: norm 0.6, anchor 0.8, peers 0.5, rate 0.1, anchor weight 0.5, conduct weight 0.2."""
    args = dict(peer_compliance=0.5, rate=0.1, anchor_weight=0.5, conduct_weight=0.2, publicity=0.0)
    # complied: target 0.5*0.8 + 0.2*1 + 0.3*0.5 = 0.75; 0.6 + 0.1*(0.75 - 0.6) = 0.615
    assert R.update_norm(0.6, 0.8, R.COMPLIED, **args) == pytest.approx(0.615)
    # got away with a deliberate violation: target 0.4 + 0 + 0.15 = 0.55 -> 0.595 (impunity erodes)
    assert R.update_norm(0.6, 0.8, R.GOT_AWAY, **args) == pytest.approx(0.595)
    # caught: the conduct term holds the norm: 0.4 + 0.2*0.6 + 0.15 = 0.67 -> 0.607
    assert R.update_norm(0.6, 0.8, R.CAUGHT, **args) == pytest.approx(0.607)
    # a norm at its target stays: anchor 0.5, peers 0.5, conduct caught -> target = norm
    assert R.update_norm(0.5, 0.5, R.CAUGHT, **args) == pytest.approx(0.5)
    # a merchant that always gets away tends to its target a*anchor + (1-a-b)*peers = 0.4 + 0.15 = 0.55;
    # one that always complies to 0.75
    n_away, n_ok = 0.6, 0.6
    for _ in range(400):
        n_away = R.update_norm(n_away, 0.8, R.GOT_AWAY, **args)
        n_ok = R.update_norm(n_ok, 0.8, R.COMPLIED, **args)
    assert n_away == pytest.approx(0.55) and n_ok == pytest.approx(0.75)
    # always caught: n* solves n = 0.4 + 0.2 n + 0.15, so n* = 0.55 / 0.8 = 0.6875
    n = 0.2
    for _ in range(600):
        n = R.update_norm(n, 0.8, R.CAUGHT, **args)
    assert n == pytest.approx(0.6875)


def test_conduct_of_a_month():
    assert R.conduct_of(True, False, False) == R.COMPLIED  # complied (or slipped: not deliberate)
    assert R.conduct_of(True, False, True) == R.COMPLIED  # a sanctioned slip is still not chosen
    assert R.conduct_of(True, True, False) == R.GOT_AWAY
    assert R.conduct_of(True, True, True) == R.CAUGHT
    assert R.conduct_of(False, False, False) == R.CAUGHT  # banned from trading


def test_attention_scales_slips_with_the_norms_laxity():
    # at its type's mean norm: 1; honest type mean 0.8, norm 0.9: (0.1/0.2)^1 = 0.5; norm 0.6: 2
    assert R.attention(0.8, 0.8, 1.0) == pytest.approx(1.0)
    assert R.attention(0.9, 0.8, 1.0) == pytest.approx(0.5)
    assert R.attention(0.6, 0.8, 1.0) == pytest.approx(2.0)
    # elasticity 2 squares it; a full norm never slips; elasticity 0 or a full type mean: unrelated
    assert R.attention(0.9, 0.8, 2.0) == pytest.approx(0.25)
    assert R.attention(1.0, 0.7, 1.0) == 0.0
    assert R.attention(0.2, 0.8, 0.0) == 1.0 and R.attention(0.2, 1.0, 1.0) == 1.0


def test_revenue_and_harm():
    # red bonus 5% -> 105; blacklisted with 30% loss -> 70
    assert R.effective_revenue(100.0, R.credit_bonus(1, 0.05, 0.0, 1.0), R.demand_kept(0, 0.3, 0, 0.05, 1.0)) == \
        pytest.approx(105.0)
    assert R.effective_revenue(100.0, R.credit_bonus(0, 0.05, 0.0, 1.0), R.demand_kept(1, 0.3, 0, 0.05, 1.0)) == \
        pytest.approx(70.0)
    # credit consumption (clause 8): tier A bonus 4% on top of red 5%; traceability x1.5 (clause 7) -> 13.5%
    assert R.credit_bonus(1, 0.05, 0.04, 1.5) == pytest.approx(0.135)
    # blacklisted (30% x1.5 = 45%) with a published penalty (5% x1.5 = 7.5%): keeps 0.55 * 0.925 = 0.50875
    assert R.demand_kept(1, 0.3, 1, 0.05, 1.5) == pytest.approx(0.50875)
    # a loss scaled past 1 is capped: a market ban (loss 1) keeps nothing whatever the information
    assert R.demand_kept(1, 1.0, 0, 0.0, 2.0) == 0.0
    # penalty published for 12 months: recorded at month 5, published in months 6 to 17; off: never
    assert [m for m in range(25) if R.penalty_published(m, 5, 12, True)] == list(range(6, 18))
    assert not R.penalty_published(6, 5, 12, False)
    assert R.consumer_harm(1000.0, 1.5, 0, 3.0) == pytest.approx(1500.0)
    assert R.consumer_harm(1000.0, 1.5, 1, 3.0) == pytest.approx(4500.0)


def test_stratified_counts_respects_capacity_and_sizes():
    rng = np.random.default_rng(1)
    sizes = np.array([100, 50, 10, 0])
    probs = np.array([0.1, 0.5, 1.0, 0.7])
    counts, requested, scale = R.stratified_counts(sizes, probs, 1000, rng)
    assert requested == pytest.approx(10 + 25 + 10)
    assert (scale == 1.0).all()
    # each stratum is within one of its expected count (stochastic rounding); never above its size
    assert np.all(np.abs(counts - sizes * probs) < 1) and np.all(counts <= sizes)
    # capacity 9 of 45 requested, in proportion: scale 0.2 everywhere, total never above 9
    for seed in range(50):
        c, _, s = R.stratified_counts(sizes, probs, 9, np.random.default_rng(seed))
        assert s == pytest.approx(0.2) and c.sum() <= 9 and np.all(c <= sizes)


def test_binding_capacity_goes_to_the_priority_classes_in_order():
    """Requested 10, 25, 10 checks in strata of priority 2, 0, 1; capacity 30: class 0 gets its 25 in full,
    class 1 the 5 left of its 10 (scale 0.5), class 2 nothing; at capacity 50 everyone is served."""
    sizes, probs, priority = np.array([100, 50, 10]), np.array([0.1, 0.5, 1.0]), np.array([2, 0, 1])
    _, requested, scale = R.stratified_counts(sizes, probs, 30, np.random.default_rng(0), priority)
    assert requested == pytest.approx(45) and scale == pytest.approx([0.0, 1.0, 0.5])
    for seed in range(20):
        c, _, _ = R.stratified_counts(sizes, probs, 30, np.random.default_rng(seed), priority)
        assert c[0] == 0 and c[1] == 25 and c[2] == 5
    assert (R.stratified_counts(sizes, probs, 50, np.random.default_rng(0), priority)[2] == 1).all()


def test_stratified_counts_unbiased():
    # 0.37 * 10 = 3.7 expected: over 4000 draws the mean count must be 3.7 within 4 standard errors
    # (sd of a floor+Bernoulli(0.7) draw is sqrt(0.21) = 0.458; se = 0.458/sqrt(4000) = 0.0072)
    rng = np.random.default_rng(7)
    got = [R.stratified_counts(np.array([10]), np.array([0.37]), 100, rng)[0][0] for _ in range(4000)]
    assert abs(np.mean(got) - 3.7) < 4 * 0.0072


def test_severe_share_and_exit_hazard():
    # sector 0.15, defiant x2 -> 0.3; not defiant -> 0.15; x10 caps at 1
    assert R.severe_share(0.15, True, 2.0) == pytest.approx(0.3)
    assert R.severe_share(0.15, False, 2.0) == pytest.approx(0.15)
    assert R.severe_share(0.15, True, 10.0) == 1.0
    # exit 0.005 a month, banned x5 -> 0.025
    assert R.exit_hazard(0.005, True, 5.0) == pytest.approx(0.025)
    assert R.exit_hazard(0.005, False, 5.0) == pytest.approx(0.005)
    np.testing.assert_allclose(R.exit_hazard(0.005, np.array([True, False]), 5.0), [0.025, 0.005])


def test_score_after_with_a_false_commitment():
    # minor record (10) and a false commitment found (10): 80 - 20 = 60; no clean-check points
    assert R.score_after(80.0, True, False, True, 10.0, 30.0, 10.0, 80.0, 36.0, True, 10.0) == pytest.approx(60.0)
    # a false commitment alone, in a month the merchant was checked clean: 80 - 10, the check earns nothing
    assert R.score_after(80.0, False, False, True, 10.0, 30.0, 10.0, 80.0, 36.0, True, 10.0) == pytest.approx(70.0)
    # neither, not checked: stays at the entry score
    assert R.score_after(80.0, False, False, False, 10.0, 30.0, 10.0, 80.0, 36.0, False, 10.0) == pytest.approx(80.0)


def test_commits_falsely_by_type():
    """Clause 2: an unqualified applicant weighs the approval against check share x penalty."""
    args = dict(collapse_norm=0.3, check_share=0.1, penalty_multiple=3.0, risk_aversion=0.0,
                min_detection=0.25, deterrence_multiple=3.0)
    # strategic, no moral cost: sanction 0.1 * 3 = 0.3 < 1 -> signs falsely
    assert R.commits_falsely(R.STRATEGIC, 0.7, moral=0.0, **args)
    # moral cost 0.75: 0.3 + 0.75 >= 1 -> does not
    assert not R.commits_falsely(R.STRATEGIC, 0.7, moral=0.75, **args)
    # check share 0.34: 1.02 >= 1 -> does not
    assert not R.commits_falsely(R.STRATEGIC, 0.7, moral=0.0, **{**args, "check_share": 0.34})
    # honest with a holding norm and careless never lie; honest with a collapsed norm decides like strategic
    assert not R.commits_falsely(R.HONEST, 0.7, moral=0.0, **args)
    assert R.commits_falsely(R.HONEST, 0.2, moral=0.0, **args)
    assert not R.commits_falsely(R.CARELESS, 0.0, moral=0.0, **args)
    # defiant: deterred only when the check share reaches 0.25 and the sanction 3 approvals
    assert R.commits_falsely(R.DEFIANT, 0.7, moral=0.9, **{**args, "check_share": 0.5})  # sanction 1.5 < 3
    assert not R.commits_falsely(R.DEFIANT, 0.7, moral=0.0, **{**args, "check_share": 0.5, "penalty_multiple": 6})
    got = R.commits_falsely(np.array([R.STRATEGIC, R.HONEST, R.DEFIANT]), np.array([0.7, 0.7, 0.7]), 0.3,
                            np.zeros(3), 0.1, 3.0, 0.0, 0.25, 3.0)
    assert got.tolist() == [True, False, True]


def test_association_sanction_and_drop_record():
    # clause 9: member, detection 0.1, sanction 2 gains, risk aversion 0.5 -> 0.3 gains; non-members 0
    assert R.association_sanction(True, 0.1, 2.0, 0.5) == pytest.approx(0.3)
    assert R.association_sanction(False, 0.1, 2.0, 0.5) == 0
    # clause 3 objections: removing the record of month 7 from (9, 7, 3) leaves (9, 3, NEVER)
    assert R.drop_record(9, 7, 3, 7) == (9, 3, R.NEVER)
    assert R.drop_record(9, 7, 3, 9) == (7, 3, R.NEVER)
    assert R.drop_record(9, 7, 3, 3) == (9, 7, R.NEVER)
    assert R.drop_record(9, 7, 3, 5) == (9, 7, 3)  # not among the last three: nothing to remove


def test_unintended_chance_by_size_sector_and_type():
    # 0.02 x 1.5 (sector) x (5,000 / 50,000) ** -0.3 = 0.03 x 1.99526 = 0.0598579
    assert R.unintended_chance(0.02, 1.5, 5_000.0, 50_000.0, 0.3, 0.05, False) == pytest.approx(0.0598579, rel=1e-5)
    # a merchant at the median: the base rate x factor; capped at 1
    assert R.unintended_chance(0.02, 1.0, 50_000.0, 50_000.0, 0.3, 0.05, False) == pytest.approx(0.02)
    assert R.unintended_chance(0.9, 2.0, 1_000.0, 50_000.0, 0.3, 0.0, False) == 1.0
    # a careless merchant slips at its rate as well, independently: 1 - 0.98 x 0.95 = 0.069
    assert R.unintended_chance(0.02, 1.0, 50_000.0, 50_000.0, 0.3, 0.05, True) == pytest.approx(0.069)


def test_exit_hazard_rises_with_profit_lost():
    # base 0.005; a month that cost half a month's profit at sensitivity 0.05: + 0.025
    assert R.exit_hazard(0.005, False, 5.0, 0.5, 0.05) == pytest.approx(0.03)
    # losses beyond a month's profit count as one: 0.005 + 0.05
    assert R.exit_hazard(0.005, False, 5.0, 3.0, 0.05) == pytest.approx(0.055)
    # banned: 0.025 + 0.05 x 1
    assert R.exit_hazard(0.005, True, 5.0, 1.0, 0.05) == pytest.approx(0.075)
    # no loss, or no sensitivity: the base hazard alone
    assert R.exit_hazard(0.005, False, 5.0, 0.0, 0.05) == R.exit_hazard(0.005, False, 5.0, 2.0, 0.0) == 0.005


def test_option_value_is_the_logit_log_sum():
    # sharp choice: the better of violating (net gain) and complying (0)
    assert R.option_value(0.3, 0.0) == 0.3 and R.option_value(-0.2, 0.0) == 0.0
    # logit of scale 0.5 at indifference: 0.5 * log 2; far above: the net itself; far below: nearly 0
    assert R.option_value(0.0, 0.5) == pytest.approx(0.5 * math.log(2))
    assert R.option_value(40.0, 0.5) == 40.0
    assert 0.0 < R.option_value(-10.0, 0.5) < 1e-8
    # always at least the net and at least 0
    assert R.option_value(0.2, 0.5) > 0.2


def test_months_to_climb_follows_the_fading_of_records():
    # from 70 to 75 with entry 80 and a 36-month memory: the gap halves, log(1/2) / log(35/36) = 24.6 months
    assert R.months_to_climb(70.0, 75.0, 80.0, 36.0, 120.0) == pytest.approx(math.log(0.5) / math.log(35 / 36))
    assert R.months_to_climb(70.0, 75.0, 80.0, 36.0, 120.0) == pytest.approx(24.6, abs=0.05)
    assert R.months_to_climb(70.0, 75.0, 80.0, 36.0, 12.0) == 12.0      # within the horizon
    assert R.months_to_climb(76.0, 75.0, 80.0, 36.0, 36.0) == 0.0       # there already
    assert R.months_to_climb(85.0, 90.0, 80.0, 36.0, 36.0) == 36.0      # above the entry score: never by fading


def test_complaint_chance_follows_harm():
    # S38: a minor violation at rate 0.01; a severe one three times as harmful draws three times as many
    assert R.complaint_chance(0.01, False, 3.0) == pytest.approx(0.01)
    assert R.complaint_chance(0.01, True, 3.0) == pytest.approx(0.03)
    assert R.complaint_chance(0.5, True, 3.0) == 1.0  # capped
    assert R.complaint_chance(0.0, True, 3.0) == 0.0

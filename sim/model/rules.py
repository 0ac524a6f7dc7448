"""The model's rules, each written once for a scalar or a numpy array.

Every engine calls these functions; engines differ only in orchestration
(one Mesa ``Agent`` per merchant, or arrays over all merchants). The functions
use arithmetic and comparisons only, so a Python float, a numpy scalar and a
numpy array all work, and give the same numbers.

Units: probabilities and shares are in 0-1; scores in points 0-100; money in
CNY; time in months. "Units of gain" means "as a multiple of the merchant's
gain from violating this month".
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

from sim.model.vocabulary import LIST_NAMES, NEVER, Conduct, ListState, MerchantType

__all__ = [
    "NONE", "RED", "KEY", "BLACK", "LIST_NAMES",
    "HONEST", "STRATEGIC", "DEFIANT", "CARELESS",
    "NEVER",
    "check_probability",
    "expected_sanction",
    "moral_cost",
    "strategic_complies",
    "honest_complies",
    "defiant_complies",
    "severe_share",
    "exit_hazard",
    "unintended_chance",
    "consequence_ratio",
    "blacklist_if_recorded",
    "credit_bonus",
    "demand_kept",
    "effective_revenue",
    "penalty_published",
    "association_sanction",
    "commits_falsely",
    "drop_record",
    "consumer_harm",
    "fine_due",
    "score_after",
    "tier_of",
    "records_in_window",
    "red_eligible",
    "key_trigger",
    "blacklist_trigger",
    "repair_eligible",
    "update_belief",
    "update_norm",
    "complaint_chance",
    "attention",
    "conduct_of",
    "stratified_counts",
]

# the vocabulary's values as plain integers (what numba folds into constants)
NONE, RED, KEY, BLACK = (int(s) for s in ListState)
HONEST, STRATEGIC, DEFIANT, CARELESS = (int(t) for t in MerchantType)
GOT_AWAY, COMPLIED, CAUGHT = (int(c) for c in Conduct)

jitable = register_jitable(forceinline=True)
"""Each rule stays a plain Python function; numba compiles it where compiled code calls it, and LLVM
inlines it there (``forceinline``: as fast as inlining numba IR, at a fraction of the compile time)."""


@jitable
def check_probability(ratio, campaigns_per_year, factor):
    """Monthly chance that a merchant is drawn for a check, before capacity limits.

    Parameters
    ----------
    ratio : float or array
        Share of the tier drawn per campaign (0-1).
    campaigns_per_year : float or array
        Campaigns per year (0-12); campaigns are spread evenly over the months.
    factor : float or array
        List multiplier (red < 1 < key-attention, blacklist).

    Returns
    -------
    float or array
        Probability per month, capped at 1.
    """
    return np.minimum(1.0, ratio * campaigns_per_year / 12.0 * factor)


@jitable
def expected_sanction(p_hat, fine_multiple, consequences, risk_aversion):
    """Perceived expected sanction of violating, in units of gain.

    ``p_hat * (fine_multiple + consequences) * (1 + risk_aversion)``: the
    perceived monthly detection probability times the fine and the list
    consequences (both as multiples of the month's gain), inflated by risk
    aversion (0 = risk neutral).
    """
    return p_hat * (fine_multiple + consequences) * (1.0 + risk_aversion)


@jitable
def expected_confiscation(p_hat, statute_months, risk_aversion):
    """Perceived expected confiscation of this month's gain, in units of gain (行政处罚法 2021 art. 36).

    A detection confiscates every gain since the last check, back to the statute window: this month's gain
    is lost if a detection comes within ``statute_months`` months, ``1 - (1 - p_hat)^statute_months`` for a
    merchant that keeps violating at perceived monthly detection ``p_hat``; inflated by risk aversion.
    """
    return (1.0 - (1.0 - p_hat) ** statute_months) * (1.0 + risk_aversion)


@jitable
def moral_cost(norm, influence, peer_compliance):
    """Moral cost of violating, as a share of gain (0-1).

    Rises with the merchant's integrity norm (0-1) and with the share of
    compliant peers in its sector (0-1); ``influence`` (0-1) is the cost for a
    fully committed merchant when every peer complies. Zero when social
    influence is off.
    """
    return norm * influence * peer_compliance


@jitable
def compliance_probability(sanction, moral, noise):
    """Chance (0-1) that a merchant weighing sanctions complies this month (scalars).

    The net benefit of complying, ``sanction + moral - 1`` in units of the month's gain, plus a logistic
    random-utility term of scale ``noise`` (gains; McFadden 1974): ``1 / (1 + exp(-(sanction + moral - 1) /
    noise))``. The noise stands for what the model does not see of each merchant's month (the gain's
    spread, its cash needs, its reading of the risk), so compliance responds gradually to deterrence;
    ``noise = 0`` is the sharp rule of :func:`strategic_complies` (1 when ``sanction + moral >= 1``, else 0).
    """
    net = sanction + moral - 1.0
    if noise <= 0.0:
        return 1.0 if net >= 0.0 else 0.0
    return 0.5 * (1.0 + math.tanh(0.5 * net / noise))


@jitable
def option_value(net, noise):
    """What being free to violate is worth in a month, in units of the month's gain (scalars): the expected
    best of violating (net benefit ``net`` = gain - moral cost - expected sanction, in gains) and complying
    (0) under the logit choice of scale ``noise`` (:func:`compliance_probability`): the log-sum
    ``noise * log(1 + exp(net / noise))`` (McFadden 1974); ``max(net, 0)`` when ``noise = 0``."""
    if noise <= 0.0:
        return max(net, 0.0)
    z = net / noise
    if z > 30.0:
        return net
    return noise * math.log1p(math.exp(z))


@jitable
def months_to_climb(score_from, score_to, entry_score, memory_months, horizon_months):
    """Months (continuous, 0 to ``horizon_months``) an unchecked merchant's score (points) takes to fade from
    ``score_from`` back up to ``score_to``, moving ``1 / memory_months`` of the way to ``entry_score`` a
    month (:func:`score_after`): ``log((entry - to) / (entry - from)) / log(1 - 1 / memory)``. 0 when it is
    there already; the whole horizon when fading never gets there (``score_to >= entry_score``: only clean
    checks would)."""
    if score_from >= score_to:
        return 0.0
    if score_to >= entry_score:
        return horizon_months
    if memory_months <= 1.0:
        return 0.0
    t = math.log((entry_score - score_to) / (entry_score - score_from)) / math.log(1.0 - 1.0 / memory_months)
    return min(horizon_months, t)


@jitable
def strategic_complies(sanction, moral):
    """A strategic merchant complies iff expected sanction plus moral cost >= gain.

    With both in units of gain the rule is ``sanction + moral >= 1``. With no
    social influence (``moral = 0``), no list consequences, full information
    and risk neutrality this is Allingham-Sandmo: comply iff p*F >= 1
    (Allingham & Sandmo 1972, doi:10.1016/0047-2727(72)90010-2).
    """
    return sanction + moral >= 1.0


@jitable
def honest_complies(norm, collapse_norm, strategic_ok):
    """An honest merchant complies unless its norm fell below ``collapse_norm``;
    then it decides like a strategic one (``strategic_ok``)."""
    return (norm >= collapse_norm) | strategic_ok


@jitable
def defiant_complies(p_hat, sanction, min_detection, deterrence_multiple):
    """A defiant merchant complies only under strong and certain sanctions:
    perceived monthly detection >= ``min_detection`` and expected sanction >=
    ``deterrence_multiple`` gains."""
    return (p_hat >= min_detection) & (sanction >= deterrence_multiple)


@jitable
def severe_share(sector_share, is_defiant, defiant_multiplier):
    """Share (0-1) of a merchant's violations that are severe: the sector's share, multiplied
    for defiant merchants and capped at 1."""
    return np.minimum(1.0, sector_share * (1.0 + (defiant_multiplier - 1.0) * is_defiant))


@jitable
def exit_hazard(exit_rate, is_banned, banned_multiplier, profit_lost=0.0, loss_sensitivity=0.0):
    """Monthly chance (0-1) that a merchant leaves the market (S24): the base rate, multiplied under a market
    ban, plus ``loss_sensitivity`` (probability/month) per month's normal profit lost last month to fines and
    lost demand (``profit_lost``, in months of profit; counted up to 1)."""
    return np.minimum(1.0, exit_rate * (1.0 + (banned_multiplier - 1.0) * is_banned)
                      + loss_sensitivity * np.minimum(1.0, profit_lost))


@jitable
def unintended_chance(base_rate, sector_factor, revenue, sector_median, size_elasticity, careless_rate, is_careless):
    """A new merchant's monthly chance (0-1) of an unintended violation (S36): ``base_rate`` x the sector's
    factor x ``(revenue / sector_median) ** -size_elasticity`` (smaller merchants slip more; revenue in CNY),
    capped at 1; a careless merchant also slips at ``careless_rate``, independently."""
    own = np.minimum(1.0, base_rate * sector_factor * (revenue / sector_median) ** (-size_elasticity))
    return 1.0 - (1.0 - own) * (1.0 - careless_rate * is_careless)


@jitable
def blacklist_if_recorded(severe_share, records_in_window_now, repeat_violations, blacklist_on):
    """Chance (0-1) that a newly recorded violation puts the merchant on the blacklist.

    Severe violations list directly; a minor one lists when it is the
    ``repeat_violations``-th record within the window.
    """
    repeat_hit = 1.0 * (records_in_window_now + 1 >= repeat_violations)
    return blacklist_on * (severe_share + (1.0 - severe_share) * repeat_hit)


@jitable
def consequence_ratio(p_blacklist, duration_months, profit_margin, gain_share, demand_loss,
                      joint_multiplier, is_red, red_months, red_value, red_bonus, revenue,
                      consequence_weight, publication_months, publication_loss, tier_bonus_drop,
                      horizon_months, information):
    """Consequences of a recorded violation beyond the fine, in units of the month's gain.

    * blacklist: ``p_blacklist * duration * margin * demand_loss * joint_multiplier / gain_share``
      (profit lost each month listed, multiplied by joint punishment; the
      revenue cancels because profit and gain are both shares of revenue);
    * red list: a red merchant loses ``red_value + red_bonus * margin * revenue``
      a month for ``red_months`` (the clean period to regain it);
    * disclosure (clause 3): ``publication_months * margin * publication_loss / gain_share``, the profit
      lost while the penalty is published (``publication_loss``: share of demand, 0 when not published);
    * credit consumption (clause 8): ``horizon_months * margin * tier_bonus_drop / gain_share``, the profit
      on the extra demand lost by falling a tier (``tier_bonus_drop``: share of revenue).

    Consumers' reaction scales with ``information`` (x) as in :func:`credit_bonus` and :func:`demand_kept`:
    the demand shares ``demand_loss``, ``red_bonus``, ``publication_loss`` (0 when penalties are not
    published) and ``tier_bonus_drop`` are multiplied by it, losses capped at 1. The sum is weighted by
    ``consequence_weight`` (0-1: myopia). Money in CNY.
    """
    gain = gain_share * revenue
    demand_loss = np.minimum(1.0, information * demand_loss)
    publication_loss = np.minimum(1.0, information * publication_loss)
    red_bonus = information * red_bonus
    tier_bonus_drop = information * tier_bonus_drop
    black = p_blacklist * duration_months * profit_margin * demand_loss * joint_multiplier / gain_share
    red = is_red * red_months * (red_value + red_bonus * profit_margin * revenue) / np.maximum(gain, 1e-9)
    demand = (publication_months * publication_loss + horizon_months * tier_bonus_drop) * profit_margin / gain_share
    return consequence_weight * (black + red + demand)


@jitable
def credit_bonus(is_red, red_bonus, tier_bonus, information):
    """Extra demand that good credit earns, as a share of revenue.

    The red-list bonus (``red_bonus`` when red-listed) plus the credit-consumption bonus of the
    merchant's tier (``tier_bonus``, clause 8), times how much consumers see of a merchant's credit
    (``information``, x; 1 by default, higher with e-commerce traceability, clause 7).
    """
    return information * (red_bonus * is_red + tier_bonus)


@jitable
def demand_kept(is_black, black_loss, published, publication_loss, information):
    """Share (0-1) of demand a merchant keeps after disclosure of its blacklisting and published penalties.

    ``black_loss`` and ``publication_loss`` are shares of demand lost, scaled by ``information`` (x)
    and capped at 1; ``is_black`` and ``published`` (a penalty of the merchant's is published) are 0/1.
    """
    lost_black = np.minimum(1.0, information * black_loss) * is_black
    lost_published = np.minimum(1.0, information * publication_loss) * published
    return (1.0 - lost_black) * (1.0 - lost_published)


@jitable
def effective_revenue(revenue, bonus, kept):
    """Monthly revenue (CNY) after credit's demand bonus (share) and the share of demand kept after disclosure."""
    return revenue * (1.0 + bonus) * kept


@jitable
def penalty_published(now, last_record, publication_months, disclosure_on):
    """Whether the merchant's last recorded penalty (month ``last_record``) is published in month ``now``.

    A penalty recorded in month t is published from month t + 1 (decisions of month t were taken before
    it) to month t + ``publication_months``: ``publication_months`` months of lost demand, as the
    decision counts them (:func:`consequence_ratio`).
    """
    return 1 * disclosure_on * (now - last_record >= 1) * (now - last_record <= publication_months)


@jitable
def association_sanction(is_member, detection, sanction_multiple, risk_aversion):
    """Expected association sanction of violating (clause 9), in units of gain: members only."""
    return is_member * detection * sanction_multiple * (1.0 + risk_aversion)


@jitable
def commits_falsely(mtype, norm, collapse_norm, moral, check_share, penalty_multiple, risk_aversion,
                    min_detection, deterrence_multiple):
    """Whether an applicant that does not meet the conditions signs a credit commitment anyway (clause 2).

    The gain is the approval; the sanction is ``check_share * penalty_multiple`` approvals (inflated
    by risk aversion). A strategic applicant, or an honest one whose norm collapsed, signs falsely
    when sanction plus moral cost (share of gain) is below 1; a defiant one unless the check share
    reaches ``min_detection`` and the sanction ``deterrence_multiple``; honest applicants whose norm
    holds and careless ones do not lie.
    """
    sanction = check_share * penalty_multiple * (1.0 + risk_aversion)
    weighs = (mtype == STRATEGIC) | ((mtype == HONEST) & (norm < collapse_norm))
    defiant_signs = (check_share < min_detection) | (sanction < deterrence_multiple)
    return (weighs & (sanction + moral < 1.0)) | ((mtype == DEFIANT) & defiant_signs)


@jitable
def drop_record(r1, r2, r3, month):
    """The last three record stamps (newest first) with the one at ``month`` removed (an upheld objection).

    Returns ``(r1, r2, r3)``; the freed oldest place becomes :data:`NEVER`.
    """
    a = 1 * (r1 == month)
    b = 1 * (r2 == month) * (1 - a)
    c = 1 * (r3 == month) * (1 - a) * (1 - b)
    n1 = r1 + a * (r2 - r1)
    n2 = r2 + (a + b) * (r3 - r2)
    n3 = r3 + (a + b + c) * (NEVER - r3)
    return n1, n2, n3


@jitable
def consumer_harm(gain, harm_per_gain, severe, severe_multiple):
    """Harm to consumers (CNY) of a violation with the given gain (CNY)."""
    return gain * harm_per_gain * (1.0 + (severe_multiple - 1.0) * severe)


@jitable
def fine_due(gain, fine_multiple):
    """Fine (CNY) for a recorded violation: ``fine_multiple`` times the month's gain (CNY)."""
    return fine_multiple * gain


@jitable
def score_after(score, recorded, severe, clean_check, loss_minor, loss_severe, clean_points, entry_score,
                memory_months, breach, loss_breach):
    """Credit score (0-100 points) after a month: from the records, not from time or type (S14).

    First the month ages the score: records and clean checks fade, the score moving ``1 / memory_months``
    of the way back to ``entry_score`` (points: a merchant with no check and no record), so a record's
    points are about two thirds gone after ``memory_months`` months (an exponential memory). Then a recorded
    violation costs ``loss_minor`` or ``loss_severe`` points, a false commitment found (``breach``)
    ``loss_breach`` more, and a check that found nothing (``clean_check``) earns ``clean_points``. Time alone
    never lifts a score above ``entry_score``: only clean checks do. Clipped to 0-100.
    """
    aged = score + (entry_score - score) / memory_months
    loss = recorded * (loss_minor + severe * (loss_severe - loss_minor)) + breach * loss_breach
    gain = clean_check * (1 - recorded) * (1 - breach) * clean_points
    return np.minimum(100.0, np.maximum(0.0, aged - loss + gain))


@jitable
def tier_of(score, cut_a, cut_b, cut_c):
    """Tier index from score: 0 = A (>= cut_a), 1 = B, 2 = C, 3 = D (< cut_c)."""
    return 1 * (score < cut_a) + 1 * (score < cut_b) + 1 * (score < cut_c)


@jitable
def records_in_window(r1, r2, r3, now, window):
    """Recorded violations among the last three stamps (months) within ``window`` months of ``now``."""
    return 1 * (now - r1 < window) + 1 * (now - r2 < window) + 1 * (now - r3 < window)


@jitable
def red_eligible(score, months_clean, min_score, clean_months):
    """Red list: score >= ``min_score`` and no recorded violation for ``clean_months``."""
    return (score >= min_score) & (months_clean >= clean_months)


@jitable
def key_trigger(recorded, score, max_score):
    """Key-attention list: a record this month that leaves the score below ``max_score``. A low score alone
    lists no one: lists follow records, tiers follow scores."""
    return recorded & (score < max_score)


@jitable
def blacklist_trigger(recorded_severe, recorded, records_now, repeat_violations, score, max_score):
    """Blacklist candidacy: a severe record, ``repeat_violations`` records in the window, or a record this month
    that leaves the score below ``max_score`` (a low score alone makes no candidate)."""
    return recorded_severe | (records_now >= repeat_violations) | (recorded & (score < max_score))


@jitable
def repair_eligible(now, listed_since, clean_since_listing, last_repair, prev_repair,
                    min_months_on_list, min_months_between, max_in_36):
    """Credit repair allowed (MOFCOM 2019): at least ``min_months_on_list`` listed and clean
    since, ``min_months_between`` since the last repair, fewer than ``max_in_36``
    repairs in the last 36 months."""
    recent = 1 * (now - last_repair < 36) + 1 * (now - prev_repair < 36)
    return ((now - listed_since >= min_months_on_list) & clean_since_listing
            & (now - last_repair >= min_months_between) & (recent < max_in_36))


@jitable
def update_belief(p_hat, own_signal, published, rate, own_weight):
    """Perceived monthly detection probability after a month of evidence.

    ``own_signal`` is the detection probability experienced in an own check
    this month (0 when not checked); ``published`` the published check rate of
    the merchant's stratum times the detection probability. Exponential
    smoothing with weight ``rate`` (0-1).
    """
    evidence = own_weight * own_signal + (1.0 - own_weight) * published
    return p_hat + rate * (evidence - p_hat)


@jitable
def update_norm(norm, anchor, conduct, peer_compliance, rate, anchor_weight, conduct_weight, publicity):
    """Integrity norm (0-1) after a month (S23, S37): toward a target at ``rate`` (share/month), then toward 1
    by ``publicity``.

    The target weighs the merchant's disposition ``anchor`` (its norm at entry, 0-1) by ``anchor_weight``,
    its own ``conduct`` of the month (:data:`COMPLIED` counts 1, :data:`GOT_AWAY`, a deliberate violation
    that went unpunished, counts 0; after :data:`CAUGHT` the term holds the norm where it is) by
    ``conduct_weight``, and its sector's compliance ``peer_compliance`` (0-1) by the rest. ``publicity``
    (share/month, clauses 14-15) closes that share of the remaining gap to a full norm; 0 leaves the rule
    alone. With both weights 0 the norm follows peers only. Every step keeps the norm within 0-1.
    """
    own = 1.0 * (conduct == COMPLIED) + norm * (conduct == CAUGHT)
    target = anchor_weight * anchor + conduct_weight * own + (1.0 - anchor_weight - conduct_weight) * peer_compliance
    moved = norm + rate * (target - norm)
    return moved + publicity * (1.0 - moved)


@jitable
def complaint_chance(rate, severe, severe_harm_multiple):
    """Chance (0-1) that a month's violation draws a complaint the bureau investigates (S38): ``rate``
    (probability/month) for a minor violation, ``severe_harm_multiple`` (x) times as much for a severe one,
    whose harm is that many times larger; capped at 1."""
    return min(1.0, rate * (1.0 + (severe_harm_multiple - 1.0) * severe))


@jitable
def conduct_of(operating, deliberate, sanctioned):
    """What the month's conduct says to the norm (:class:`sim.model.vocabulary.Conduct`): :data:`CAUGHT` for a
    deliberate violation that a check or the association sanctioned, or a month not trading (a market ban);
    :data:`GOT_AWAY` for a deliberate violation that went unpunished; :data:`COMPLIED` otherwise (an
    unintended slip included)."""
    if not operating or (deliberate and sanctioned):
        return CAUGHT
    return GOT_AWAY if deliberate else COMPLIED


@jitable
def attention(norm, type_norm, elasticity):
    """Factor (x, 0 to ``1 / (1 - type_norm) ** elasticity``) on a merchant's chance of unintended violations
    from its norm (S37): ``((1 - norm) / (1 - type_norm)) ** elasticity``, 1 at its type's mean norm at entry
    ``type_norm`` (0-1), below 1 for a firmer norm (pledges, publicity), above for an eroded one; 1 when
    ``elasticity`` is 0 or the type's mean is a full norm."""
    if elasticity == 0.0 or type_norm >= 1.0:
        return 1.0
    return ((1.0 - norm) / (1.0 - type_norm)) ** elasticity


def stratified_counts(sizes, probs, capacity, rng, priority=None):
    """Checks per stratum this month, drawn without replacement within each stratum.

    Parameters
    ----------
    sizes : array of int
        Merchants per stratum.
    probs : array of float
        Monthly check probability per stratum (0-1).
    capacity : float
        Checks the bureau can make this month.
    rng : numpy.random.Generator
        The model's generator.
    priority : array of int, optional
        Priority class per stratum (0 first). When capacity binds, classes are served in order: each in
        full while capacity lasts, the class where it runs out in proportion, later ones not at all.
        ``None`` (or one class): every stratum in proportion.

    Returns
    -------
    counts : array of int
        Checks per stratum (each <= size); ``counts.sum() <= capacity``.
    requested : float
        Checks the ratios asked for (expected value, before capacity).
    scale : array of float
        Share of each stratum's requested checks made (1 when capacity suffices).

    Each stratum's expected count ``size * prob * scale`` is rounded
    stochastically (floor plus a Bernoulli remainder), so realised shares are
    unbiased; if rounding up overshoots capacity, the excess is removed from
    randomly chosen rounded-up strata.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    expected = sizes * probs
    requested = float(expected.sum())
    scale = np.ones(len(sizes))
    if requested > capacity:
        classes = np.zeros(len(sizes), np.int64) if priority is None else np.asarray(priority, np.int64)
        left = float(capacity)
        for c in np.unique(classes):
            members = classes == c
            asked = float(expected[members].sum())
            share = 1.0 if asked <= left else (left / asked if asked > 0 else 0.0)
            scale[members] = share
            left = max(0.0, left - asked)
    target = expected * scale
    base = np.floor(target)
    frac = target - base
    up = rng.random(len(sizes)) < frac
    counts = (base + up).astype(np.int64)
    counts = np.minimum(counts, sizes)
    excess = int(counts.sum() - capacity)
    if excess > 0:
        candidates = np.flatnonzero(up)
        drop = rng.choice(candidates, size=min(excess, len(candidates)), replace=False)
        counts[drop] -= 1
    return counts, requested, scale

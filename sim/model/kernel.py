"""The merchant's month, written once: plain Python that both engines run.

A month of one merchant is a short sequence of named phases:

1. :func:`decide`: comply or violate (by behavioural type, weighing the expected sanction and its later
   consequences, the moral cost and peers), the month's demand, and an application on a credit
   commitment (:func:`apply_on_commitment`);
2. :func:`on_check`: what a check finds, when the engine selected the merchant;
3. :func:`update_record`: a complaint's investigation (:func:`on_complaint`), fines, score, the record of
   violations, objections to a wrong record, association sanctions and the associations' own lists
   (:func:`association_lists`);
4. :func:`update_lists`: the list machine: objection decisions (:func:`decide_objection`), blacklist
   recognition and appeal (:func:`recognise_blacklist`), expiry, new listings, the red list, credit
   repair (:func:`leave_list`);
5. :func:`learn_belief` and :func:`learn_norm`: perceived detection and the integrity norm;
6. :func:`close_month`: the score and tier the next month starts from;

and :func:`leaves`: whether the merchant leaves the market.

Each phase reads and writes named records (:mod:`sim.model.layout`): ``m`` the merchant's state, ``mo``
its month, ``P`` the parameters, ``w`` the :class:`~sim.model.layout.World` of the month, ``k`` the
counters, and draws through :func:`sim.model.streams.uniform` from ``rng``. The Mesa engine calls the
phases uncompiled on an agent (``m`` and ``mo`` are the agent itself, ``rng`` the model's generator);
the fast engine calls them compiled by numba on a slot of its state array. The engines keep only what
genuinely differs: the population and its slots, check planning and selection, random streams and
tallies.

Units: probabilities and shares in 0-1, scores in points 0-100, money in CNY, time in months. ``float()``
around a rule that uses numpy's ``minimum``/``maximum`` keeps the uncompiled kernel in Python floats (the
same values, several times faster than numpy scalars); compiled, it changes nothing.
"""

from __future__ import annotations

from numba.extending import register_jitable

from sim.model import rules as R
from sim.model.params import N_STRATA, stratum_of
from sim.model.streams import Draw, uniform
from sim.model.vocabulary import NEVER, ListState, MerchantType

__all__ = ["decide", "apply_on_commitment", "on_check", "on_complaint", "update_record", "update_lists",
           "decide_objection", "recognise_blacklist", "enter_list", "leave_list", "learn_belief", "learn_norm",
           "type_norm", "close_month",
           "profit_lost", "leaves", "weighs_sanctions", "sanction_at", "downgrade_cost", "association_list_stake",
           "association_lists"]

_NONE, _RED, _KEY, _BLACK = int(ListState.NONE), int(ListState.RED), int(ListState.KEY), int(ListState.BLACK)
_HONEST, _DEFIANT = int(MerchantType.HONEST), int(MerchantType.DEFIANT)
_CARELESS = int(MerchantType.CARELESS)
_U_CARELESS, _U_SEVERE, _U_DETECT = int(Draw.CARELESS), int(Draw.SEVERE), int(Draw.DETECT)
_U_APPEAL, _U_APPEAL_WON, _U_REPAIR, _U_EXIT = int(Draw.APPEAL), int(Draw.APPEAL_WON), int(Draw.REPAIR), int(Draw.EXIT)
_U_APPLY, _U_QUALIFIED, _U_VERIFY = int(Draw.APPLY), int(Draw.QUALIFIED), int(Draw.VERIFY)
_U_OBJECT, _U_UPHELD, _U_ASSOCIATION = int(Draw.OBJECT), int(Draw.OBJECTION_UPHELD), int(Draw.ASSOCIATION)
_U_CHOICE, _U_COMPLAINT = int(Draw.CHOICE), int(Draw.COMPLAINT)
_CAMPAIGN_OFFSET = N_STRATA // 2  # strata from here on are under a special campaign


# -- 1. decide ---------------------------------------------------------------------------------------------


@register_jitable(forceinline=True)
def decide(m, mo, P, w, rng, k):
    """Comply or violate this month, and how severely; the month's demand; a commitment application.

    Clears the month record ``mo`` (but for ``mo.stratum``, set by the engine), then sets
    ``operating``, ``revenue_now``, ``credit_demand`` and ``demand_lost`` (CNY), ``violated``,
    ``severe``, ``gain`` and ``harm`` (CNY). A merchant under a market ban does not trade.
    """
    mo.operating = True
    mo.violated = False
    mo.severe = False
    mo.breach = False
    mo.checked = False
    mo.investigated = False
    mo.detected = False
    mo.false_positive = False
    mo.gain = 0.0
    mo.harm = 0.0
    mo.fine = 0.0
    mo.own_signal = 0.0
    mo.revenue_now = 0.0
    mo.demand_lost = 0.0
    mo.credit_demand = 0.0
    mo.unintended = False
    is_red = m.list_state == _RED
    is_black = m.list_state == _BLACK
    if is_black and P.market_ban:
        mo.operating = False
        return
    sec = w.sectors[m.sector]
    info = sec.information
    tier_bonus = w.tiers[m.tier].credit_bonus
    published = R.penalty_published(w.now, m.r1, P.publication_months, P.disclosure_on)
    bonus = R.credit_bonus(is_red, sec.red_bonus, tier_bonus, info)
    kept = float(R.demand_kept(is_black, P.black_loss, published, P.penalty_demand_loss, info))
    if m.assoc_list != _NONE:  # the association's recommendation or public condemnation (S34)
        bonus += R.credit_bonus(m.assoc_list == _RED, P.assoc_red_bonus, 0.0, info)
        kept *= float(R.demand_kept(m.assoc_list == _BLACK, P.condemnation_loss, False, 0.0, info))
    base_revenue = float(m.revenue)
    rev = R.effective_revenue(base_revenue, bonus, kept)
    mo.revenue_now = rev
    mo.credit_demand = base_revenue * bonus * kept
    mo.demand_lost = base_revenue * (1.0 + bonus) - rev
    severe_share = float(R.severe_share(sec.severe_share, m.mtype == _DEFIANT, P.defiant_severe_multiplier))
    # an unintended violation, whatever the merchant decides (S36), as likely as its norm is lax (S37)
    slip = m.slip * R.attention(m.norm, type_norm(P, m.mtype), P.norm_attention)
    slips = uniform(rng, _U_CARELESS) < slip
    if m.mtype == _CARELESS:
        ok = True  # a careless merchant does not choose to violate: it slips (m.slip includes its rate)
    elif m.mtype == _HONEST and R.honest_complies(m.norm, P.collapse_norm, False):
        ok = True  # an honest merchant whose norm holds complies whatever the sanction
    else:
        ok = weighs_sanctions(m, mo, P, w, severe_share, rev, is_red, is_black, rng)
    if not ok or slips:
        mo.violated = True
        mo.unintended = ok
        mo.severe = uniform(rng, _U_SEVERE) < severe_share
        mo.gain = 0.0 if ok else sec.gain_share * rev  # an unintended violation gains nothing
        mo.harm = R.consumer_harm(sec.gain_share * rev, sec.harm_per_gain, mo.severe, P.severe_harm_multiple)
        k.unintended_violations += ok
    if P.commit_on and not is_black and uniform(rng, _U_APPLY) < P.commit_rate:
        apply_on_commitment(m, mo, P, w, rng, k)


@register_jitable(forceinline=True)
def weighs_sanctions(m, mo, P, w, severe_share, revenue, is_red, is_black, rng):
    """Whether a merchant that weighs sanctions complies: the expected sanction (fine, confiscation, list
    consequences, association, and what a lower tier's extra checks take later: :func:`downgrade_cost`)
    against the gain, with the moral cost for strategic and collapsed-honest merchants (a logit choice of
    scale ``P.choice_noise``, sharp at 0: :func:`sim.model.rules.compliance_probability`), the defiant rule
    for defiant ones. ``revenue`` is this month's (CNY)."""
    sec = w.sectors[m.sector]
    if P.full_information:
        p_hat = w.strata[mo.stratum].true_detection * sec.detection_factor
    else:
        p_hat = float(m.p_hat)
    n_rec = R.records_in_window(m.r1, m.r2, m.r3, w.now, P.repeat_window)
    # on the blacklist already, any new record extends the listing: certain for the merchant
    p_bl = R.blacklist_if_recorded(1.0 if is_black else severe_share, n_rec, P.repeat_violations, P.black_on)
    loss = P.loss_minor + severe_share * (P.loss_severe - P.loss_minor)
    score_after = max(0.0, m.score - loss)
    tier_after = R.tier_of(score_after, P.cut_a, P.cut_b, P.cut_c)
    cons = float(R.consequence_ratio(
        p_bl, P.black_months, sec.margin, sec.gain_share, P.black_loss, P.joint_multiplier, is_red and P.red_on,
        P.red_clean_months, sec.red_value, sec.red_bonus, revenue, P.consequence_weight, P.publication_months,
        P.disclosure_on * P.penalty_demand_loss, w.tiers[m.tier].credit_bonus - w.tiers[tier_after].credit_bonus,
        P.horizon, sec.information))
    assoc = P.assoc_multiple
    if P.assoc_lists_on and m.member:
        assoc += association_list_stake(m, P, sec, revenue)
    fixed = R.association_sanction(m.member, P.assoc_detection, assoc, P.risk_aversion)
    moral = 0.0 if m.mtype == _DEFIANT else R.moral_cost(m.norm, P.influence, w.peer[m.sector])
    sanction = sanction_at(p_hat, P, cons) + fixed
    if P.consequence_weight > 0.0:  # the record's later checks, weighed like its other consequences
        ahead = downgrade_cost(m, mo, P, w, p_hat, cons, fixed, moral, score_after, tier_after)
        sanction += R.expected_sanction(p_hat, 0.0, P.consequence_weight * ahead, P.risk_aversion)
    if m.mtype == _DEFIANT:
        return R.defiant_complies(p_hat, sanction, P.defiant_min_detection, P.defiant_multiple)
    if P.choice_noise > 0.0:
        ok = uniform(rng, _U_CHOICE) < R.compliance_probability(sanction, moral, P.choice_noise)
    else:
        ok = R.strategic_complies(sanction, moral)
    if m.mtype == _HONEST:
        ok = R.honest_complies(m.norm, P.collapse_norm, ok)
    return ok


@register_jitable(forceinline=True)
def sanction_at(p, P, cons):
    """Expected sanction of a month's violation at perceived monthly detection ``p`` (0-1), in units of the
    month's gain: the fine and the consequences ``cons`` (gains) on detection, and the confiscation of the
    gains since the last check where it is in force; inflated by risk aversion."""
    s = R.expected_sanction(p, P.fine_multiple, cons, P.risk_aversion)
    if P.confiscate_on:
        s += R.expected_confiscation(p, P.statute_months, P.risk_aversion)
    return s


@register_jitable(forceinline=True)
def _detection_seen(w, s, sec, full_information):
    """The monthly detection a merchant of sector ``sec`` expects in stratum ``s`` when it looks ahead: the true
    one under full information, else the plan's (its published ratios and frequencies, known to every
    merchant whether or not check results are published, and the same in both engines), 0-1."""
    row = w.strata[s]
    return (row.true_detection if full_information else row.planned_detection) * sec.detection_factor


@register_jitable(forceinline=True)
def _value_in(s, m, P, w, p_hat, seen_now, cons, fixed, moral):
    """What a month free to violate is worth in stratum ``s`` (gains, :func:`sim.model.rules.option_value`): at
    the stratum's detection as the merchant reads it, its belief ``p_hat`` shifted by the difference between
    the plan's detection for the stratum and for its own stratum (``seen_now``), the true one under full
    information."""
    seen = _detection_seen(w, s, w.sectors[m.sector], P.full_information)
    p = seen if P.full_information else min(1.0, max(0.0, p_hat + seen - seen_now))
    return R.option_value(1.0 - moral - fixed - sanction_at(p, P, cons), P.choice_noise)


@register_jitable(forceinline=True)
def downgrade_cost(m, mo, P, w, p_hat, cons, fixed, moral, score_after, tier_after):
    """Looking ahead (Harrington 1988): what a record's later checks would cost, in units of the month's gain.

    A record moves the merchant to a stratum checked more often: the tiers its score falls through
    (``score_after``, points; ``tier_after``), the key-attention list if the record lists it, out of the red
    list's lighter checks. For each month it would spend there, the worse stratum's detection takes from what
    being free to violate is worth (:func:`sim.model.rules.option_value` of the month's net gain at each
    detection): summed over the months the score takes to fade back to its tier
    (:func:`sim.model.rules.months_to_climb`), within the planning horizon. The merchant reads a stratum's
    detection as its own belief ``p_hat`` shifted by the difference between the two strata's rates in the plan
    (``planned_detection``: the plan's ratios, frequencies and list factors; their true rates under full
    information). ``cons`` and ``fixed`` (gains) are the month's consequences
    and association sanction, the same in every stratum; ``moral`` its moral cost (gains). 0 when the record
    changes no stratum or every stratum is checked alike.
    """
    campaign = mo.stratum // _CAMPAIGN_OFFSET
    seen_now = _detection_seen(w, mo.stratum, w.sectors[m.sector], P.full_information)
    v_now = R.option_value(1.0 - moral - fixed - sanction_at(p_hat, P, cons), P.choice_noise)
    keyed = P.key_on and m.list_state != _BLACK and m.list_state != _KEY and score_after < P.key_max_score
    base_list = _NONE if m.list_state == _RED else m.list_state
    if tier_after == m.tier:  # no lower tier: only a list the record would change
        if keyed:
            months = min(float(P.key_months), P.horizon)
            lst = _KEY
        elif m.list_state == _RED:
            months = min(float(P.red_clean_months), P.horizon)
            lst = _NONE
        else:
            return 0.0
        return months * (v_now - _value_in(stratum_of(m.tier, lst, campaign), m, P, w, p_hat, seen_now, cons, fixed,
                                           moral))
    cost = 0.0
    elapsed = 0.0
    start = score_after
    t = tier_after
    while t > m.tier and elapsed < P.horizon:
        top = P.cut_a if t == 1 else (P.cut_b if t == 2 else P.cut_c)  # the lowest score of the tier above
        months = R.months_to_climb(start, top, P.entry_score, P.memory_months, P.horizon - elapsed)
        lst = _KEY if keyed and t == tier_after else base_list
        cost += months * (v_now - _value_in(stratum_of(t, lst, campaign), m, P, w, p_hat, seen_now, cons, fixed, moral))
        elapsed += months
        start = top
        t -= 1
    return cost


@register_jitable(forceinline=True)
def association_list_stake(m, P, sec, revenue):
    """What a member stands to lose on its association's lists if the association finds a violation (S34), in
    gains of the month: a commended member its recommendation's extra profit for the red-list period, until
    it qualifies again; a member one sanction from expulsion the profit lost while publicly condemned.
    Weighted like the bureau's consequences (:func:`sim.model.rules.consequence_ratio`); ``revenue`` is this
    month's (CNY)."""
    condemned = 1.0 if m.strikes + 1 >= P.expel_after else 0.0
    return float(R.consequence_ratio(
        condemned, P.condemnation_months, sec.margin, sec.gain_share, P.condemnation_loss, 1.0,
        m.assoc_list == _RED, P.assoc_red_months, 0.0, P.assoc_red_bonus, revenue, P.consequence_weight, 0, 0.0,
        0.0, P.horizon, sec.information))


@register_jitable(forceinline=True)
def apply_on_commitment(m, mo, P, w, rng, k):
    """Apply for an approval on a credit commitment (clause 2; blacklisted merchants may not): sign
    truthfully when qualified; otherwise sign falsely or apply the normal way, by type
    (:func:`sim.model.rules.commits_falsely`). A signed false commitment is verified with the bureau's check
    share (``mo.breach``)."""
    signs = True
    if uniform(rng, _U_QUALIFIED) < P.unqualified_share:
        moral = R.moral_cost(m.norm, P.influence, w.peer[m.sector])
        signs = R.commits_falsely(m.mtype, m.norm, P.collapse_norm, moral, P.commit_check_share, P.commit_penalty,
                                  P.risk_aversion, P.defiant_min_detection, P.defiant_multiple)
        if signs:
            k.false_commitments += 1
            if uniform(rng, _U_VERIFY) < P.commit_check_share:
                mo.breach = True
                k.commitment_breaches += 1
    if signs:
        k.commitments_signed += 1


# -- 2. a check ---------------------------------------------------------------------------------------------


@register_jitable(forceinline=True)
def on_check(m, mo, P, w, inspector_skill, rng):
    """The merchant is checked by an inspector of skill ``inspector_skill`` (detection probability, 0-1),
    scaled by the sector's detection factor and capped at 1; a compliant merchant is wrongly recorded at
    the false-positive rate."""
    skill = min(1.0, inspector_skill * w.sectors[m.sector].detection_factor)
    mo.checked = True
    mo.own_signal = skill
    if mo.violated:
        mo.detected = uniform(rng, _U_DETECT) < skill
    else:
        mo.false_positive = uniform(rng, _U_DETECT) < P.false_positive_rate


@register_jitable(forceinline=True)
def on_complaint(m, mo, P, w, rng, k):
    """A violation not checked this month draws a consumer's complaint with the chance of
    :func:`sim.model.rules.complaint_chance` (S38); the bureau investigates it (``mo.investigated``) with its
    inspectors' mean detection probability, scaled by the sector's detection factor and capped at 1, and a
    finding (``mo.detected``) is a record like a check's. The merchant learns from it as from a check
    (``mo.own_signal``); it is not one of the double-random checks, so it counts in no check metric."""
    if not (P.complaints_on and mo.violated and not mo.checked):
        return
    if uniform(rng, _U_COMPLAINT) < R.complaint_chance(P.complaint_rate, mo.severe, P.severe_harm_multiple):
        skill = min(1.0, P.complaint_detection * w.sectors[m.sector].detection_factor)
        mo.investigated = True
        mo.own_signal = skill
        k.complaint_investigations += 1
        mo.detected = uniform(rng, _U_DETECT) < skill
        k.complaint_records += mo.detected


# -- 3. record ----------------------------------------------------------------------------------------------


@register_jitable(forceinline=True)
def update_record(m, mo, P, w, rng, k):
    """Apply the month's check result and commitment verification: score (``mo.score``), fines (CNY),
    the record of violations, an objection to a wrong record, association sanctions and lists, and what
    the month's conduct says to the norm (``m.conduct``, :func:`sim.model.rules.conduct_of`). A finding
    (``mo.detected``) is a check's or a complaint investigation's (:func:`on_complaint`, first)."""
    on_complaint(m, mo, P, w, rng, k)
    recorded = mo.detected or mo.false_positive
    severe_rec = mo.detected and mo.severe
    mo.score = float(R.score_after(m.score, recorded, severe_rec, mo.checked, P.loss_minor, P.loss_severe,
                                   P.clean_points, P.entry_score, P.memory_months, mo.breach, P.commit_score_loss))
    if mo.violated and not mo.unintended:
        m.unchecked_violations = min(P.statute_months, m.unchecked_violations + 1)
    if recorded or mo.breach:
        gain_share = w.sectors[m.sector].gain_share
        if recorded:  # a false record or an unintended violation is fined on the nominal gain
            gain = mo.gain if mo.detected and not mo.unintended else gain_share * m.revenue
            mo.fine = R.fine_due(gain, P.fine_multiple)
        if mo.detected and P.confiscate_on:  # the gains of every month violated since the last check (S14)
            confiscated = m.unchecked_violations * gain_share * mo.revenue_now
            mo.fine += confiscated
            k.confiscated_gains += confiscated
        if mo.breach:
            mo.fine += R.fine_due(P.approval_value, P.commit_penalty)
        m.r3 = m.r2
        m.r2 = m.r1
        m.r1 = w.now
        m.months_clean = 0
        m.clean_since_listing = False
        if mo.detected or mo.breach:  # a true record: any listing is deserved from now on
            m.wrong_list = False
        elif (P.objections_on and m.objection_until == NEVER
              and uniform(rng, _U_OBJECT) < P.objection_propensity):
            m.objection_until = w.now + P.objection_delay
            k.objections += 1
    else:
        m.months_clean += 1
    if mo.checked or mo.detected:  # a clean check, or a finding that confiscated what was gained
        m.unchecked_violations = 0
    if mo.detected and m.slip > 0.0:  # the finding is rectified (整改): capability improves (S36)
        m.slip = m.slip * (1.0 - P.rectification)
        k.rectifications += 1
    sanctioned = mo.detected
    if m.member and mo.violated and uniform(rng, _U_ASSOCIATION) < P.assoc_detection:
        sanctioned = True
        m.strikes += 1
        k.association_sanctions += 1
        if P.assoc_lists_on:  # no commendation for the association's red-list period (S34)
            m.assoc_until = w.now + P.assoc_red_months
        if m.strikes >= P.expel_after:
            m.member = False
            k.association_expulsions += 1
            if P.assoc_lists_on:  # refused and publicly condemned: the association's black list (S34)
                m.assoc_list = _BLACK
                m.assoc_until = w.now + P.condemnation_months
                k.association_condemnations += 1
    if P.assoc_lists_on:
        association_lists(m, w.now, P, k)
    m.conduct = R.conduct_of(mo.operating, mo.violated and not mo.unintended, sanctioned)


@register_jitable(forceinline=True)
def association_lists(m, now, P, k):
    """The association's own lists at the end of the record phase (S34): a condemnation ends after its months
    (the merchant stays outside the association); a member without a record and without an association
    sanction for ``assoc_red_months`` months (``assoc_until`` passed), on neither the key-attention list nor
    the blacklist, is on its red list, and leaves it when that no longer holds. Counts the month's
    commendations and both lists."""
    if m.assoc_list == _BLACK:
        if now >= m.assoc_until:
            m.assoc_list = _NONE
    elif (m.member and m.months_clean >= P.assoc_red_months and now >= m.assoc_until
          and m.list_state != _KEY and m.list_state != _BLACK):
        if m.assoc_list != _RED:
            m.assoc_list = _RED
            k.association_commendations += 1
    else:
        m.assoc_list = _NONE
    k.association_red_listed += m.assoc_list == _RED
    k.association_black_listed += m.assoc_list == _BLACK


# -- 4. lists -----------------------------------------------------------------------------------------------


@register_jitable(forceinline=True)
def enter_list(m, state, now, duration, wrongful):
    """Enter the key-attention list or blacklist (``state``) in month ``now`` for ``duration`` months;
    ``wrongful``: the listing rests on a false record."""
    m.list_state = state
    m.list_since = now
    m.list_until = now + duration
    m.clean_since_listing = True
    m.wrong_list = wrongful


@register_jitable(forceinline=True)
def leave_list(m, k):
    """Leave the key-attention list or blacklist by expiry or repair. The score is left as it is: lists
    follow records (a listing needs a new record), tiers follow scores (S21)."""
    k.wrongful_listings_stood += m.wrong_list
    m.list_state = _NONE
    m.wrong_list = False


@register_jitable(forceinline=True)
def decide_objection(m, mo, P, now, rng, k):
    """The objection's decision is due: an upheld one removes the wrong record, gives back the points it
    cost, stops a blacklist recognition resting on it and ends a listing resting on it (or undoes the
    renewal it caused)."""
    month = m.objection_until - P.objection_delay
    m.objection_until = NEVER
    if uniform(rng, _U_UPHELD) >= P.objection_success:
        return
    k.records_overturned += 1
    r1, r2, r3 = R.drop_record(m.r1, m.r2, m.r3, month)
    m.r1 = r1
    m.r2 = r2
    m.r3 = r3
    mo.score = min(100.0, mo.score + P.loss_minor)
    if m.pending_until != NEVER and m.pending_wrongful and m.pending_until - P.recognition_delay == month:
        m.pending_until = NEVER  # the recognition rested on the record just removed
    listed = m.list_state == _KEY or m.list_state == _BLACK
    if m.wrong_list and listed:
        m.list_state = _NONE
        m.wrong_list = False
    elif listed:
        duration = P.key_months if m.list_state == _KEY else P.black_months
        if m.list_until == month + duration:  # the false record renewed the listing: undo the renewal
            m.list_until = max(m.list_since, m.r1) + duration


@register_jitable(forceinline=True)
def recognise_blacklist(m, P, now, rng, k):
    """End of the recognition delay: the candidate may appeal, and a wrongful candidate may win; otherwise
    it is blacklisted."""
    m.pending_until = NEVER
    if uniform(rng, _U_APPEAL) < P.appeal_propensity:
        k.appeals += 1
        if m.pending_wrongful and uniform(rng, _U_APPEAL_WON) < P.appeal_success:
            k.appeals_won += 1
            return
    enter_list(m, _BLACK, now, P.black_months, m.pending_wrongful)
    k.new_blacklistings += 1
    k.wrongful_listings += m.pending_wrongful


@register_jitable(forceinline=True)
def update_lists(m, mo, P, w, rng, k):
    """The list machine for this month: objection decisions, blacklist recognition, expiry, renewal, new
    blacklist candidacy and key-attention listing, the red list, credit repair."""
    now = w.now
    recorded = mo.detected or mo.false_positive or mo.breach
    severe_rec = mo.detected and mo.severe
    if m.objection_until != NEVER and now >= m.objection_until:
        decide_objection(m, mo, P, now, rng, k)
    if m.pending_until != NEVER and now >= m.pending_until:
        recognise_blacklist(m, P, now, rng, k)
    if (m.list_state == _KEY or m.list_state == _BLACK) and now >= m.list_until:
        leave_list(m, k)
    if m.list_state == _BLACK and recorded:  # a new record while listed extends the listing
        m.list_until = now + P.black_months
    n_rec = R.records_in_window(m.r1, m.r2, m.r3, now, P.repeat_window)
    if (P.black_on and m.list_state != _BLACK and m.pending_until == NEVER
            and R.blacklist_trigger(severe_rec, recorded, n_rec, P.repeat_violations, mo.score, P.black_max_score)):
        m.pending_wrongful = mo.false_positive
        m.pending_until = now + P.recognition_delay
        if P.recognition_delay == 0:
            recognise_blacklist(m, P, now, rng, k)
    if P.key_on and m.list_state != _BLACK and R.key_trigger(recorded, mo.score, P.key_max_score):
        if m.list_state != _KEY:
            enter_list(m, _KEY, now, P.key_months, mo.false_positive and not mo.breach)
            k.new_key_listings += 1
            k.wrongful_listings += mo.false_positive
        elif recorded:  # a new record renews the listing; a low score alone does not (MOFCOM cap)
            m.list_until = now + P.key_months
    if P.red_on:
        if m.list_state == _RED and (recorded or mo.score < P.red_min_score):
            m.list_state = _NONE
        elif m.list_state == _NONE and R.red_eligible(mo.score, m.months_clean, P.red_min_score,
                                                       P.red_clean_months):
            m.list_state = _RED
    if (P.repair_on and (m.list_state == _KEY or m.list_state == _BLACK)
            and R.repair_eligible(now, m.list_since, m.clean_since_listing, m.last_repair, m.prev_repair,
                                  P.repair_min_listed, P.repair_between, P.repair_max36)
            and uniform(rng, _U_REPAIR) < P.repair_probability):
        leave_list(m, k)
        m.prev_repair = m.last_repair
        m.last_repair = now
        k.repairs += 1


# -- 5. learning, 6. close ------------------------------------------------------------------------------------


@register_jitable(forceinline=True)
def learn_belief(m, mo, P, w):
    """Perceived detection after the month's evidence: an own check and the stratum's published rate."""
    published = w.strata[mo.stratum].published_detection * w.sectors[m.sector].detection_factor
    m.p_hat = R.update_belief(m.p_hat, mo.own_signal, published, P.learn_rate, P.own_weight)


@register_jitable(forceinline=True)
def learn_norm(m, P, peer):
    """Integrity norm toward its disposition (``m.anchor``), its own conduct of the month (``m.conduct``) and
    the sector's compliance ``peer`` (0-1) of the month, then publicity's pull
    (:func:`sim.model.rules.update_norm`)."""
    m.norm = R.update_norm(m.norm, m.anchor, m.conduct, peer, P.norm_rate, P.anchor_weight, P.conduct_weight,
                           P.publicity)


@register_jitable(forceinline=True)
def type_norm(P, mtype):
    """Mean integrity norm at entry (0-1) of behavioural type ``mtype``: ``behaviour.social.initial_norm``."""
    if mtype == _HONEST:
        return P.norm_honest
    if mtype == _DEFIANT:
        return P.norm_defiant
    if mtype == _CARELESS:
        return P.norm_careless
    return P.norm_strategic


@register_jitable(forceinline=True)
def close_month(m, mo, P):
    """The month's score becomes the state's, and the tier (the next month's strata) follows from it."""
    m.score = mo.score
    m.tier = R.tier_of(mo.score, P.cut_a, P.cut_b, P.cut_c)


@register_jitable(forceinline=True)
def profit_lost(m, mo, w):
    """The month's fines and lost demand's profit as months of the merchant's normal profit (margin x base
    revenue): what exit by profit weighs (S24)."""
    margin = w.sectors[m.sector].margin
    return (mo.fine + margin * mo.demand_lost) / max(margin * m.revenue, 1e-9)


@register_jitable(forceinline=True)
def leaves(m, P, rng, lost):
    """Whether the merchant leaves the market before the next month: higher under a market ban and after a
    month that cost it ``lost`` months of profit (:func:`profit_lost`; 0 before the first month)."""
    hazard = float(R.exit_hazard(P.exit_rate, P.market_ban and m.list_state == _BLACK, P.banned_exit_multiplier,
                                 lost, P.exit_loss_sensitivity))
    return uniform(rng, _U_EXIT) < hazard

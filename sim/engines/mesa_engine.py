"""The reference engine: one Mesa 3 ``Agent`` per merchant.

Readable rather than fast. Every rule comes from :mod:`sim.rules`; this module
only orders the phases of a month and keeps each merchant's state. A month:

1. ``exit_and_entry``: merchants leave; applicants pass ex-ante credit review;
2. ``plan_checks``: strata (campaign x tier x list), monthly check probabilities, capacity;
3. merchants ``decide`` (in random order) to comply or violate, and whether to
   apply for an approval on a credit commitment (truthfully or not);
4. ``inspect``: double-random draw of merchants and inspectors, detection;
5. merchants ``update_record``: fines, score, record of violations and of
   false commitments found, objections to wrong records, association sanctions;
6. merchants ``update_lists``: objection decisions, blacklist recognition and
   appeal, expiry, key-attention, red list, credit repair;
7. ``collect`` the month (metrics, sector compliance seen by peers);
8. merchants ``learn``: perceived detection and integrity norm;
9. merchants ``update_tier`` from the new score (the strata of the next month).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import SimpleNamespace

import mesa
import numpy as np

from sim import rules as R
from sim.metrics import COUNTERS, month_record, tally
from sim.params import (
    CAMPAIGN_STRATA,
    N_STRATA,
    Params,
    campaign_active,
    draw_merchants,
    full_process_share,
    stratum_of,
)

__all__ = ["Merchant", "CreditModel", "run"]

_COLLECTED = (  # (agent attribute, tally key, dtype) counted each month
    ("sector", "sector", np.int64), ("mtype", "mtype", np.int64), ("tier", "tier", np.int64),
    ("list_state", "list_state", np.int64), ("operating", "operating", bool), ("violated", "violated", bool),
    ("severe", "severe", bool), ("checked", "checked", bool), ("detected", "detected", bool),
    ("false_positive", "false_positive", bool), ("harm", "harm", np.float64), ("fine", "fine", np.float64),
    ("revenue_now", "revenue", np.float64), ("demand_lost", "demand_lost", np.float64),
    ("credit_demand", "credit_demand", np.float64), ("norm", "norm", np.float64), ("member", "member", bool),
    ("wrong_list", "wrong_list", bool),
)

_PER_AGENT = ("margin", "gain_share", "harm", "severe_share", "detection_factor", "red_value", "red_bonus",
              "information", "tier_bonus")



class Merchant(mesa.Agent):
    """A market entity (市场主体) under the commerce bureau.

    Fixed traits: ``sector`` and ``mtype`` (indices into
    :data:`sim.scenario.SECTORS` / :data:`sim.scenario.TYPES`), ``revenue``
    (CNY/month). State: ``score`` (points), ``tier`` (0-3 = A-D),
    ``list_state`` (:data:`sim.rules.NONE`/``RED``/``KEY``/``BLACK``) with
    ``list_since``/``list_until`` (months), a pending blacklist recognition,
    the months of the last three recorded violations, ``p_hat`` (perceived
    monthly detection probability), ``norm`` (integrity norm 0-1), industry
    association membership and sanctions (``member``, ``strikes``), a pending
    objection (``objection_until``, month) and whether its listing rests on a
    false record (``wrong_list``).
    """

    def __init__(self, model: CreditModel, sector: int, mtype: int, revenue: float, score: float,
                 norm: float, member: bool = False, months_clean: int = 0) -> None:
        super().__init__(model)
        p = model.p
        self.sector = int(sector)
        self.mtype = int(mtype)
        self.revenue = float(revenue)
        self.score = float(score)
        self.norm = float(norm)
        self.tier = int(R.tier_of(self.score, *p.cuts))
        self.p_hat = float(model.scn.behaviour.learning.initial_perceived_detection)
        self.list_state = R.NONE
        self.list_since = R.NEVER
        self.list_until = R.NEVER
        self.clean_since_listing = True
        self.pending_until = R.NEVER
        self.pending_wrongful = False
        self.r1 = self.r2 = self.r3 = R.NEVER
        self.months_clean = int(months_clean)
        self.last_repair = self.prev_repair = R.NEVER
        self.member = bool(member)
        self.strikes = 0
        self.objection_until = R.NEVER
        self.wrong_list = False
        self.stratum = 0
        self.severe_share_fixed = self.severe_share()  # sector and type never change
        self._reset_month()

    def _reset_month(self) -> None:
        self.operating = True
        self.violated = False
        self.severe = False
        self.harm = 0.0
        self.gain = 0.0
        self.fine = 0.0
        self.checked = False
        self.detected = False
        self.false_positive = False
        self.own_signal = 0.0
        self.breach = False
        self.revenue_now = 0.0
        self.demand_lost = 0.0
        self.credit_demand = 0.0

    # -- 3. decision -------------------------------------------------------
    def severe_share(self) -> float:
        """Share (0-1) of this merchant's violations that are severe."""
        m = self.model
        return float(R.severe_share(m.lp.severe_share[self.sector], self.mtype == R.DEFIANT,
                                    m.scn.behaviour.defiant.severe_share_multiplier))

    def perceived_detection(self) -> float:
        """Monthly detection probability the merchant acts on (0-1)."""
        m = self.model
        if m.scn.behaviour.learning.full_information:
            return float(m.true_detection[self.stratum] * m.lp.detection_factor[self.sector])
        return self.p_hat

    def decide(self) -> None:
        """Comply or violate this month (and how severely), by behavioural type."""
        m = self.model
        p, pol, beh = m.lp, m.scn.policy, m.scn.behaviour
        self._reset_month()
        is_red = self.list_state == R.RED
        is_black = self.list_state == R.BLACK
        if is_black and pol.lists.blacklist.market_ban:
            self.operating = False
            return
        s = self.sector
        info = p.information[s]
        published = R.penalty_published(m.month, self.r1, pol.disclosure.publication_months, m.disclosure_on)
        bonus = R.credit_bonus(is_red, p.red_bonus[s], p.tier_bonus[self.tier], info)
        kept = R.demand_kept(is_black, m.black_loss, published, pol.disclosure.penalty_demand_loss, info)
        rev = float(R.effective_revenue(self.revenue, bonus, kept))
        self.revenue_now = rev
        self.credit_demand = float(self.revenue * bonus * kept)
        self.demand_lost = float(self.revenue * (1.0 + bonus) - rev)
        severe_share = self.severe_share_fixed
        if self.mtype == R.CARELESS:
            ok = not R.careless_violates(m.rng.random(), beh.careless_violation_rate)
        elif self.mtype == R.HONEST and R.honest_complies(self.norm, beh.social.honest_collapse_norm, False):
            ok = True  # an honest merchant whose norm holds complies whatever the sanction (no draw skipped)
        else:
            p_hat = self.perceived_detection()
            n_rec = R.records_in_window(self.r1, self.r2, self.r3, m.month, pol.lists.blacklist.repeat_window_months)
            # on the blacklist already, any new record extends the listing: certain for the merchant
            p_bl = R.blacklist_if_recorded(1.0 if is_black else severe_share, n_rec,
                                           pol.lists.blacklist.repeat_violations, m.blacklist_on)
            pen = pol.penalties
            loss = pen.score_loss_minor + severe_share * (pen.score_loss_severe - pen.score_loss_minor)
            tier_after = R.tier_of(max(0.0, self.score - loss), *p.cuts)
            cons = R.consequence_ratio(
                p_bl, pol.lists.blacklist.duration_months, p.margin[s], p.gain_share[s], m.black_loss,
                pol.incentives.joint_punishment_multiplier, is_red * m.red_on, pol.lists.red.clean_months,
                p.red_value[s], p.red_bonus[s], rev, beh.consequence_weight, pol.disclosure.publication_months,
                m.disclosure_on * pol.disclosure.penalty_demand_loss,
                p.tier_bonus[self.tier] - p.tier_bonus[tier_after], beh.planning_horizon_months, info)
            sanction = (R.expected_sanction(p_hat, pen.fine_multiple, cons, beh.risk_aversion)
                        + R.association_sanction(self.member, m.assoc_detection, pol.associations.sanction_multiple,
                                                 beh.risk_aversion))
            if self.mtype == R.DEFIANT:
                ok = R.defiant_complies(p_hat, sanction, beh.defiant.min_detection,
                                        beh.defiant.deterrence_multiple)
            else:
                moral = R.moral_cost(self.norm, beh.social.influence, m.peer_compliance[s])
                ok = R.strategic_complies(sanction, moral)
                if self.mtype == R.HONEST:
                    ok = R.honest_complies(self.norm, beh.social.honest_collapse_norm, ok)
        if not ok:
            self.violated = True
            self.severe = bool(m.rng.random() < severe_share)
            self.gain = float(p.gain_share[s] * rev)
            self.harm = float(R.consumer_harm(self.gain, p.harm[s], self.severe, p.severe_harm_multiple))
        if m.commit_on and not is_black and m.rng.random() < pol.commitments.application_rate:
            self.apply_on_commitment()

    def apply_on_commitment(self) -> None:
        """Apply for an approval on a credit commitment (clause 2; blacklisted merchants may not):
        sign truthfully when qualified;
        otherwise sign falsely or apply the normal way, by type (:func:`sim.rules.commits_falsely`).
        A signed false commitment is verified with the bureau's check share."""
        m = self.model
        cm, beh, c = m.scn.policy.commitments, m.scn.behaviour, m.counters
        if m.rng.random() < beh.unqualified_share:
            moral = R.moral_cost(self.norm, beh.social.influence, m.peer_compliance[self.sector])
            if not R.commits_falsely(self.mtype, self.norm, beh.social.honest_collapse_norm, moral, cm.check_share,
                                     cm.penalty_multiple, beh.risk_aversion, beh.defiant.min_detection,
                                     beh.defiant.deterrence_multiple):
                return
            c["false_commitments"] += 1
            if m.rng.random() < cm.check_share:
                self.breach = True
                c["commitment_breaches"] += 1
        c["commitments_signed"] += 1
        c["approval_days_saved"] += cm.days_saved

    # -- 5. record -----------------------------------------------------------
    def update_record(self) -> None:
        """Apply this month's check result to the score and the record of violations."""
        m = self.model
        pol = m.scn.policy
        pen, cm = pol.penalties, pol.commitments
        recorded = self.detected or self.false_positive
        severe_rec = self.detected and self.severe
        self.score = float(R.score_after(self.score, recorded, severe_rec, pen.score_loss_minor,
                                         pen.score_loss_severe, pen.monthly_score_recovery, self.breach,
                                         cm.score_loss))
        if recorded or self.breach:
            if recorded:
                gain = self.gain if self.detected else m.lp.gain_share[self.sector] * self.revenue
                self.fine = float(R.fine_due(gain, pen.fine_multiple))
            if self.breach:
                self.fine += float(R.fine_due(cm.approval_value, cm.penalty_multiple))
            self.r3, self.r2, self.r1 = self.r2, self.r1, m.month
            self.months_clean = 0
            self.clean_since_listing = False
            if self.detected or self.breach:  # a true record: any listing is deserved from now on
                self.wrong_list = False
            elif (m.objections_on and self.objection_until == R.NEVER
                  and m.rng.random() < pol.objections.propensity):
                self.objection_until = m.month + pol.objections.delay_months
                m.counters["objections"] += 1
        else:
            self.months_clean += 1
        if self.member and self.violated and m.rng.random() < m.assoc_detection:
            self.strikes += 1
            m.counters["association_sanctions"] += 1
            if self.strikes >= pol.associations.expel_after:
                self.member = False
                m.counters["association_expulsions"] += 1

    # -- 6. lists ------------------------------------------------------------
    def _enter(self, state: int, now: int, duration: int, wrongful: bool) -> None:
        self.list_state = state
        self.list_since = now
        self.list_until = now + duration
        self.clean_since_listing = True
        self.wrong_list = bool(wrongful)

    def _leave(self, threshold: float) -> None:
        """Leave the key-attention list or blacklist by expiry or repair."""
        self.model.counters["wrongful_listings_stood"] += int(self.wrong_list)
        self.list_state = R.NONE
        self.wrong_list = False
        self.score = float(R.score_on_exit(self.score, threshold))

    def _decide_objection(self) -> None:
        """The objection's decision is due: an upheld one removes the wrong record, gives back the points
        it cost, stops a blacklist recognition resting on it and ends a listing resting on it."""
        m = self.model
        obj = m.scn.policy.objections
        month = self.objection_until - obj.delay_months
        self.objection_until = R.NEVER
        if m.rng.random() >= obj.success_probability:
            return
        m.counters["records_overturned"] += 1
        self.r1, self.r2, self.r3 = (int(x) for x in R.drop_record(self.r1, self.r2, self.r3, month))
        self.score = min(100.0, self.score + m.scn.policy.penalties.score_loss_minor)
        delay = m.scn.policy.lists.blacklist.recognition_delay_months
        if self.pending_until != R.NEVER and self.pending_wrongful and self.pending_until - delay == month:
            self.pending_until = R.NEVER  # the recognition rested on the record just removed
        if self.wrong_list and self.list_state in (R.KEY, R.BLACK):
            self.list_state = R.NONE
            self.wrong_list = False
        elif self.list_state in (R.KEY, R.BLACK):
            L = m.scn.policy.lists
            duration = L.key_attention.duration_months if self.list_state == R.KEY else L.blacklist.duration_months
            if self.list_until == month + duration:  # the false record renewed the listing: undo the renewal
                self.list_until = max(self.list_since, self.r1) + duration

    def _recognise_blacklist(self) -> None:
        """End of the recognition delay: appeal, then listing (or not)."""
        m = self.model
        bl = m.scn.policy.lists.blacklist
        c = m.counters
        self.pending_until = R.NEVER
        if m.rng.random() < m.scn.behaviour.appeal_propensity:
            c["appeals"] += 1
            if self.pending_wrongful and m.rng.random() < bl.appeal_success_probability:
                c["appeals_won"] += 1
                return
        self._enter(R.BLACK, m.month, bl.duration_months, self.pending_wrongful)
        c["new_blacklistings"] += 1
        c["wrongful_listings"] += int(self.pending_wrongful)

    def update_lists(self) -> None:
        """Recognition, expiry, new listings, red list and credit repair for this month."""
        m = self.model
        L = m.scn.policy.lists
        now = m.month
        c = m.counters
        recorded = self.detected or self.false_positive or self.breach
        severe_rec = self.detected and self.severe
        if self.objection_until != R.NEVER and now >= self.objection_until:
            self._decide_objection()
        if self.pending_until != R.NEVER and now >= self.pending_until:
            self._recognise_blacklist()
        if self.list_state in (R.KEY, R.BLACK) and now >= self.list_until:
            self._leave(m.exit_score)
        if self.list_state == R.BLACK and recorded:  # a new record while listed extends the listing
            self.list_until = now + L.blacklist.duration_months
        n_rec = R.records_in_window(self.r1, self.r2, self.r3, now, L.blacklist.repeat_window_months)
        if (m.blacklist_on and self.list_state != R.BLACK and self.pending_until == R.NEVER
                and R.blacklist_trigger(severe_rec, n_rec, L.blacklist.repeat_violations, self.score,
                                        L.blacklist.max_score)):
            self.pending_wrongful = self.false_positive
            self.pending_until = now + L.blacklist.recognition_delay_months
            if L.blacklist.recognition_delay_months == 0:
                self._recognise_blacklist()
        if (m.key_on and self.list_state != R.BLACK
                and R.key_trigger(recorded, self.score, L.key_attention.max_score)):
            if self.list_state != R.KEY:
                self._enter(R.KEY, now, L.key_attention.duration_months, self.false_positive and not self.breach)
                c["new_key_listings"] += 1
                c["wrongful_listings"] += int(self.false_positive)
            elif recorded:  # a new record renews the listing; a low score alone does not (MOFCOM cap)
                self.list_until = now + L.key_attention.duration_months
        if m.red_on:
            if self.list_state == R.RED and (recorded or self.score < L.red.min_score):
                self.list_state = R.NONE
            elif self.list_state == R.NONE and R.red_eligible(self.score, self.months_clean, L.red.min_score,
                                                               L.red.clean_months):
                self.list_state = R.RED
        if (L.repair.enabled and self.list_state in (R.KEY, R.BLACK)
                and R.repair_eligible(now, self.list_since, self.clean_since_listing, self.last_repair,
                                      self.prev_repair, L.repair.min_months_on_list,
                                      L.repair.min_months_between, L.repair.max_in_36_months)
                and m.rng.random() < L.repair.application_probability):
            self._leave(m.exit_score)
            self.prev_repair, self.last_repair = self.last_repair, now
            c["repairs"] += 1

    # -- 7. learning -----------------------------------------------------------
    def learn(self) -> None:
        """Update perceived detection (own check, published results) and the integrity norm."""
        m = self.model
        beh = m.scn.behaviour
        published = m.published[self.stratum] * m.lp.detection_factor[self.sector]
        own_weight = beh.learning.own_weight if m.scn.policy.inspection.publish_results else 1.0
        self.p_hat = float(R.update_belief(self.p_hat, self.own_signal, published, beh.learning.rate, own_weight))
        self.norm = float(R.update_norm(self.norm, m.peer_compliance[self.sector],
                                        beh.social.norm_adaptation_rate, m.scn.policy.publicity.intensity))

    def update_tier(self) -> None:
        """Public credit evaluation: tier from the current score."""
        self.tier = int(R.tier_of(self.score, *self.model.p.cuts))


class CreditModel(mesa.Model):
    """Merchants under a commerce bureau's credit-based supervision (Mesa reference engine).

    Parameters
    ----------
    params : Params
        Compiled scenario (:func:`sim.params.compile_scenario`).
    rng : numpy.random.Generator or int
        Source of every random draw in the run.
    """

    def __init__(self, params: Params, rng: np.random.Generator | int | None = None) -> None:
        super().__init__(rng=rng)
        self.p = params
        # the per-sector and per-tier numbers each merchant reads, as Python floats (much faster than numpy
        # scalars in per-agent arithmetic; the same values)
        self.lp = SimpleNamespace(**{name: getattr(params, name).tolist() for name in _PER_AGENT},
                                  cuts=params.cuts, severe_harm_multiple=params.severe_harm_multiple)
        self.scn = params.scenario
        pol = self.scn.policy
        self.month = 0
        self.red_on = bool(pol.lists.red.enabled)
        self.key_on = bool(pol.lists.key_attention.enabled)
        self.blacklist_on = bool(pol.lists.blacklist.enabled)
        self.black_loss = 1.0 if pol.lists.blacklist.market_ban else pol.incentives.blacklist_demand_loss
        self.disclosure_on = bool(pol.disclosure.enabled)
        self.commit_on = bool(pol.commitments.enabled)
        self.objections_on = bool(pol.objections.enabled)
        self.assoc_detection = pol.associations.detection_probability if pol.associations.enabled else 0.0
        # leaving a sanction list restores the score to the highest threshold in force, so the merchant
        # is not put straight back on a list by its score alone
        self.exit_score = max(pol.lists.blacklist.max_score if self.blacklist_on else 0.0,
                              pol.lists.key_attention.max_score if self.key_on else 0.0)
        ins = pol.inspection
        self.inspector_skill = self.rng.uniform(ins.detection_probability - ins.inspector_skill_spread,
                                                ins.detection_probability + ins.inspector_skill_spread,
                                                ins.inspectors)
        self.peer_compliance = np.full(len(params.sector_share), self.scn.behaviour.social.initial_norm_mean)
        self.published = params.stratum_prob * ins.detection_probability
        self.true_detection = self.published.copy()
        self.records: list[dict] = []
        self.group_records: list[list[dict]] = []
        # the starting population has a clean record of red.clean_months (the plan starts on existing records);
        # entrants start with none
        self._add(draw_merchants(params, params.merchants, self.rng), params.scenario.policy.lists.red.clean_months)

    def _add(self, d: dict, months_clean: int = 0) -> None:
        for i in range(len(d["sector"])):
            Merchant(self, d["sector"][i], d["mtype"][i], d["revenue"][i], d["score"][i], d["norm"][i],
                     d["member"][i], months_clean)

    # -- 1 ---------------------------------------------------------------------
    def exit_and_entry(self) -> None:
        """Exits (base hazard, higher under market ban), then entry through ex-ante review."""
        pop = self.scn.population
        ban = self.scn.policy.lists.blacklist.market_ban
        leaving = []
        hazard = [float(R.exit_hazard(pop.exit_rate_per_month, banned, pop.banned_exit_multiplier))
                  for banned in (False, True)]  # the rule's two values, by market ban
        for a in self.agents:
            if self.rng.random() < hazard[ban and a.list_state == R.BLACK]:
                leaving.append(a)
        for a in leaving:
            a.remove()
        self.counters["exits"] = len(leaving)
        applicants = int(self.rng.poisson(pop.entry_rate_per_month * self.p.merchants))
        flagged = int((self.rng.random(applicants) < pop.blacklisted_applicant_share).sum())
        refused = flagged if self.scn.policy.entry.exante_review else 0
        self._add(draw_merchants(self.p, applicants - flagged, self.rng))
        self._add(draw_merchants(self.p, flagged - refused, self.rng, forced_type=R.DEFIANT))
        self.counters["entries"] = applicants - refused
        self.counters["entries_refused"] = refused

    # -- 2 ---------------------------------------------------------------------
    def plan_checks(self) -> None:
        """Sort merchants into strata and fix this month's check counts under capacity."""
        self.strata: list[list[Merchant]] = [[] for _ in range(N_STRATA)]
        campaign = campaign_active(self.scn, self.month)
        for a in self.agents:  # merchants under market ban sit in strata whose check probability is 0
            a.stratum = stratum_of(a.tier, a.list_state, campaign[a.sector])
            self.strata[a.stratum].append(a)
        sizes = np.array([len(s) for s in self.strata])
        counts, requested, scale = R.stratified_counts(sizes, self.p.stratum_prob,
                                                       self.scn.policy.inspection.capacity_per_month, self.rng)
        self.check_counts = counts
        self.counters["campaign_inspections"] = int(counts[CAMPAIGN_STRATA].sum())
        self.counters["inspections_requested"] = requested
        self.counters["capacity_shortfall"] = requested * (1.0 - scale)
        self.counters["full_process_share"] = full_process_share(self.scn, sizes, self.p.stratum_prob * scale)
        self.true_detection = self.p.stratum_prob * scale * self.scn.policy.inspection.detection_probability

    # -- 4 ---------------------------------------------------------------------
    def inspect(self) -> None:
        """Double-random checks: merchants drawn without replacement per stratum, inspectors at random."""
        ins = self.scn.policy.inspection
        published = np.zeros(N_STRATA)
        for s, members in enumerate(self.strata):
            n = int(self.check_counts[s])
            if members:
                published[s] = n / len(members) * ins.detection_probability
            if n == 0:
                continue
            for idx in self.rng.choice(len(members), size=n, replace=False):
                a = members[idx]
                a.checked = True
                skill = min(1.0, self.inspector_skill[self.rng.integers(ins.inspectors)]
                            * self.lp.detection_factor[a.sector])
                a.own_signal = float(skill)
                if a.violated:
                    a.detected = bool(self.rng.random() < skill)
                else:
                    a.false_positive = bool(self.rng.random() < ins.false_positive_rate)
        if ins.publish_results:
            self.published = published

    # -- 8 ---------------------------------------------------------------------
    def collect(self) -> None:
        """Count the month (shared definitions in :mod:`sim.metrics`) and update peer compliance."""
        # one pass over the agents, then one column per attribute (faster than a pass per attribute)
        get = operator.attrgetter(*(name for name, _, _ in _COLLECTED))
        rows = [get(a) for a in self.agents]
        columns = list(zip(*rows)) if rows else [()] * len(_COLLECTED)
        arrays = {key: np.array(col, dtype=dt) for (_, key, dt), col in zip(_COLLECTED, columns)}
        ls = arrays["list_state"]
        arrays["wrongly_listed"] = arrays.pop("wrong_list") & ((ls == R.KEY) | (ls == R.BLACK))
        red = ls == R.RED
        self.counters["incentive_value"] = float(self.p.red_value[arrays["sector"][red]].sum())
        pol = self.scn.policy
        totals, groups = month_record(tally(arrays), self.counters, pol.inspection.cost_per_check,
                                      pol.associations.cost_per_member)
        totals["month"] = self.month
        self.records.append(totals)
        self.group_records.append(groups)
        op = arrays["operating"]
        n_op = np.bincount(arrays["sector"][op], minlength=len(self.peer_compliance))
        n_ok = np.bincount(arrays["sector"][op & ~arrays["violated"]], minlength=len(self.peer_compliance))
        self.peer_compliance = np.where(n_op > 0, n_ok / np.maximum(n_op, 1), self.peer_compliance)

    def step(self) -> None:
        """One month, in the order given in the module docstring."""
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.exit_and_entry()
        self.plan_checks()
        self.agents.shuffle_do("decide")
        self.inspect()
        self.agents.do("update_record")
        self.agents.do("update_lists")
        self.collect()
        self.agents.do("learn")
        self.agents.do("update_tier")
        self.month += 1


def run(params: Params, rng: np.random.Generator, on_month: Callable[[], None] | None = None
        ) -> tuple[list[dict], list[list[dict]]]:
    """Run one replication with the Mesa engine.

    Returns the month records (one dict of :data:`sim.metrics.METRICS` per
    month) and the breakdown rows per month. ``on_month`` is called after each
    month (for progress bars).
    """
    model = CreditModel(params, rng=rng)
    for _ in range(params.months):
        model.step()
        if on_month is not None:
            on_month()
    return model.records, model.group_records

"""Named layouts: the merchant's state, the month's outcome, the parameter record, the tables, the counters.

Everything the kernel (:mod:`sim.model.kernel`) reads or writes has a name here, never a position:

* :data:`STATE`: one merchant's state record. The fast engine keeps an array of these records
  (:data:`STATE_DTYPE`); a Mesa agent holds the same names as attributes.
* :data:`MONTH`: what one merchant did and underwent this month (cleared by :func:`sim.model.kernel.decide`).
* :data:`PARAMETERS`: the scalar parameters of a scenario with the derived ones, built once by
  :func:`parameter_record` (:func:`sim.model.params.compile_scenario` stores it in ``Params.record``).
* :data:`SECTOR_FIELDS`, :data:`TIER_FIELDS`, :data:`STRATUM_FIELDS`: per-sector, per-tier and
  per-stratum tables (structured arrays, indexed by :class:`~sim.model.vocabulary.Sector`, tier,
  stratum).
* :data:`KERNEL_COUNTERS`: the month's event counts the kernel adds to; their names are the metric names
  of :mod:`sim.model.metrics`.

Numba compiles attribute access on these records (``m.score``, ``P.fine_multiple``) to loads and stores
at fixed offsets: naming costs nothing at run time.
"""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

import numpy as np

from sim.model.mechanisms import MECHANISMS
from sim.model.metrics import METRICS
from sim.model.vocabulary import NEVER, ListState

__all__ = ["STATE", "STATE_DTYPE", "MONTH", "MONTH_DTYPE", "PARAMETERS", "PARAMETER_DTYPE", "parameter_record",
           "SECTOR_FIELDS", "SECTOR_DTYPE", "TIER_FIELDS", "TIER_DTYPE", "STRATUM_FIELDS", "STRATUM_DTYPE",
           "KERNEL_COUNTERS", "COUNTER_DTYPE", "World", "as_namespace", "rows_as_namespaces"]

_CORE_STATE = (
    # (name, dtype, initial value for a new merchant or None when drawn / set by the engine, meaning)
    ("revenue", np.float32, None, "base revenue, CNY/month (drawn, fixed)"),
    ("score", np.float32, None, "credit score, points 0-100"),
    ("norm", np.float32, None, "integrity norm, 0-1"),
    ("p_hat", np.float32, None, "perceived monthly detection probability, 0-1"),
    ("list_since", np.int16, NEVER, "month the current key-attention or blacklisting began"),
    ("list_until", np.int16, NEVER, "month the current key-attention or blacklisting expires"),
    ("pending_until", np.int16, NEVER, "month a pending blacklist recognition is decided"),
    ("r1", np.int16, NEVER, "month of the newest recorded violation"),
    ("r2", np.int16, NEVER, "month of the second newest recorded violation"),
    ("r3", np.int16, NEVER, "month of the third newest recorded violation"),
    ("months_clean", np.int16, None, "months since the last record"),
    ("last_repair", np.int16, NEVER, "month of the last credit repair"),
    ("prev_repair", np.int16, NEVER, "month of the repair before it"),
    ("objection_until", np.int16, NEVER, "month a pending objection is decided"),
    ("alive", np.uint8, 1, "slot holds a merchant (fast engine's free slots are 0)"),
    ("sector", np.int8, None, "Sector index (fixed)"),
    ("mtype", np.int8, None, "MerchantType index (fixed)"),
    ("tier", np.int8, None, "Tier index from the score at the end of last month"),
    ("list_state", np.int8, int(ListState.NONE), "ListState"),
    ("strikes", np.int8, 0, "association sanctions received"),
    ("member", np.bool_, None, "member of the sector's industry association"),
    ("clean_since_listing", np.bool_, True, "no record since entering the current list"),
    ("pending_wrongful", np.bool_, False, "the pending blacklist recognition rests on a false record"),
    ("wrong_list", np.bool_, False, "on the key-attention list or blacklist because of a false record"),
    ("new", np.bool_, True, "entered this month: no norm update is owed for last month (fast engine)"),
)

STATE = _CORE_STATE + tuple(row for m in MECHANISMS for row in m.state)
"""One merchant's state: the core fields, then those the registry's mechanisms declare
(:attr:`sim.model.mechanisms.Mechanism.state`). Months are int16 (scenarios run at most 600 months)."""

STATE_DTYPE = np.dtype([(n, dt) for n, dt, _, _ in STATE], align=True)
"""The fast engine's state record (``STATE_DTYPE.itemsize`` bytes a merchant)."""

MONTH = (
    ("stratum", np.int64, "inspection stratum this month (set by the engine before deciding)"),
    ("operating", np.bool_, "trades this month (not under a market ban)"),
    ("violated", np.bool_, "violated this month"),
    ("severe", np.bool_, "the violation is severe"),
    ("breach", np.bool_, "a false credit commitment of this month was found"),
    ("checked", np.bool_, "checked this month"),
    ("investigated", np.bool_, "a complaint about the violation was investigated (S38)"),
    ("detected", np.bool_, "a check or a complaint's investigation found the violation"),
    ("false_positive", np.bool_, "a check recorded a violation that did not happen"),
    ("gain", np.float64, "gain from violating, CNY"),
    ("harm", np.float64, "harm to consumers, CNY"),
    ("fine", np.float64, "fines due this month, CNY"),
    ("own_signal", np.float64, "detection probability experienced in an own check, 0-1"),
    ("revenue_now", np.float64, "revenue after credit's demand effects, CNY"),
    ("demand_lost", np.float64, "demand lost to disclosure and the blacklist, CNY"),
    ("credit_demand", np.float64, "extra demand earned by good credit, CNY"),
    ("score", np.float64, "the score during the month (stored in the state when the month closes)"),
    ("unintended", np.bool_, "the violation was unintended (capability, S36): no gain"),
)
"""One merchant's month: set by the kernel's phases, read by the engines' tallies."""

MONTH_DTYPE = np.dtype([(n, dt) for n, dt, _ in MONTH], align=True)

_CORE_PARAMETERS = (
    # (name, dtype, value from a compiled scenario p (sim.model.params.Params), meaning and unit)
    ("fine_multiple", np.float64, lambda p: p.scenario.policy.penalties.fine_multiple, "fine, multiples of gain"),
    ("joint_multiplier", np.float64, lambda p: p.scenario.policy.incentives.joint_punishment_multiplier,
     "joint punishment multiplier of the blacklist's demand loss, x"),
    ("black_loss", np.float64, lambda p: 1.0 if p.scenario.policy.lists.blacklist.market_ban
     else p.scenario.policy.incentives.blacklist_demand_loss,
     "derived: share of demand a blacklisted merchant loses (1 under a market ban)"),
    ("consequence_weight", np.float64, lambda p: p.scenario.behaviour.consequence_weight,
     "weight of later consequences in decisions, 0-1"),
    ("risk_aversion", np.float64, lambda p: p.scenario.behaviour.risk_aversion, "risk aversion, 0 = neutral"),
    ("choice_noise", np.float64, lambda p: p.scenario.behaviour.choice_noise,
     "scale of the logit choice of merchants weighing sanctions, gains (0: sharp)"),
    ("defiant_min_detection", np.float64, lambda p: p.scenario.behaviour.defiant.min_detection,
     "perceived monthly detection a defiant merchant needs, 0-1"),
    ("defiant_multiple", np.float64, lambda p: p.scenario.behaviour.defiant.deterrence_multiple,
     "expected sanction a defiant merchant needs, gains"),
    ("defiant_severe_multiplier", np.float64, lambda p: p.scenario.behaviour.defiant.severe_share_multiplier,
     "severe share multiplier of defiant merchants, x"),
    ("influence", np.float64, lambda p: p.scenario.behaviour.social.influence, "moral cost at full norm, gains"),
    ("collapse_norm", np.float64, lambda p: p.scenario.behaviour.social.honest_collapse_norm,
     "norm below which an honest merchant weighs sanctions, 0-1"),
    ("norm_rate", np.float64, lambda p: p.scenario.behaviour.social.norm_adaptation_rate,
     "norm adaptation toward peers, share/month"),
    ("publicity", np.float64, lambda p: p.scenario.policy.publicity.intensity, "publicity's norm pull, share/month"),
    ("learn_rate", np.float64, lambda p: p.scenario.behaviour.learning.rate, "belief smoothing weight, 0-1"),
    ("own_weight", np.float64, lambda p: p.scenario.behaviour.learning.own_weight
     if p.scenario.policy.inspection.publish_results else 1.0,
     "derived: weight of own checks in beliefs (1 when results are not published)"),
    ("full_information", np.bool_, lambda p: p.scenario.behaviour.learning.full_information,
     "merchants know the true detection probability"),
    ("severe_harm_multiple", np.float64, lambda p: p.severe_harm_multiple, "harm of a severe violation, x"),
    ("false_positive_rate", np.float64, lambda p: p.scenario.policy.inspection.false_positive_rate,
     "chance a check of a compliant merchant records a violation, 0-1"),
    ("loss_minor", np.float64, lambda p: p.scenario.policy.penalties.score_loss_minor, "points per minor record"),
    ("loss_severe", np.float64, lambda p: p.scenario.policy.penalties.score_loss_severe,
     "points per severe record"),
    ("clean_points", np.float64, lambda p: p.scenario.policy.penalties.clean_check_points,
     "points a check that finds nothing earns"),
    ("entry_score", np.float64, lambda p: p.scenario.policy.tiers.entry_score,
     "score of a merchant with no check and no record, points"),
    ("memory_months", np.float64, lambda p: p.scenario.policy.penalties.record_memory_months,
     "months over which records and clean checks fade back to the entry score"),
    ("cut_a", np.float64, lambda p: p.cuts[0], "tier A cut-off, points"),
    ("cut_b", np.float64, lambda p: p.cuts[1], "tier B cut-off, points"),
    ("cut_c", np.float64, lambda p: p.cuts[2], "tier C cut-off, points"),
    ("red_on", np.bool_, lambda p: p.scenario.policy.lists.red.enabled, "red list in force"),
    ("red_min_score", np.float64, lambda p: p.scenario.policy.lists.red.min_score, "red list minimum, points"),
    ("red_clean_months", np.int64, lambda p: p.scenario.policy.lists.red.clean_months,
     "months without a record for the red list"),
    ("key_on", np.bool_, lambda p: p.scenario.policy.lists.key_attention.enabled, "key-attention list in force"),
    ("key_max_score", np.float64, lambda p: p.scenario.policy.lists.key_attention.max_score,
     "key-attention below this score, points"),
    ("key_months", np.int64, lambda p: p.scenario.policy.lists.key_attention.duration_months,
     "key-attention listing, months"),
    ("black_on", np.bool_, lambda p: p.scenario.policy.lists.blacklist.enabled, "blacklist in force"),
    ("black_max_score", np.float64, lambda p: p.scenario.policy.lists.blacklist.max_score,
     "blacklist candidacy below this score, points"),
    ("black_months", np.int64, lambda p: p.scenario.policy.lists.blacklist.duration_months,
     "blacklisting, months"),
    ("market_ban", np.bool_, lambda p: p.scenario.policy.lists.blacklist.market_ban,
     "blacklisted merchants may not trade"),
    ("repeat_violations", np.int64, lambda p: p.scenario.policy.lists.blacklist.repeat_violations,
     "records in the window that make a blacklist candidate"),
    ("repeat_window", np.int64, lambda p: p.scenario.policy.lists.blacklist.repeat_window_months,
     "window for repeat records, months"),
    ("recognition_delay", np.int64, lambda p: p.scenario.policy.lists.blacklist.recognition_delay_months,
     "months from candidacy to blacklisting"),
    ("appeal_propensity", np.float64, lambda p: p.scenario.behaviour.appeal_propensity,
     "chance a blacklist candidate appeals, 0-1"),
    ("appeal_success", np.float64, lambda p: p.scenario.policy.lists.blacklist.appeal_success_probability,
     "chance a wrongful candidate's appeal succeeds, 0-1"),
    ("repair_on", np.bool_, lambda p: p.scenario.policy.lists.repair.enabled, "credit repair in force"),
    ("repair_probability", np.float64, lambda p: p.scenario.policy.lists.repair.application_probability,
     "chance an eligible merchant repairs this month, 0-1"),
    ("repair_min_listed", np.int64, lambda p: p.scenario.policy.lists.repair.min_months_on_list,
     "months listed before repair"),
    ("repair_between", np.int64, lambda p: p.scenario.policy.lists.repair.min_months_between,
     "months between repairs"),
    ("repair_max36", np.int64, lambda p: p.scenario.policy.lists.repair.max_in_36_months,
     "repairs allowed in 36 months"),
    ("exit_rate", np.float64, lambda p: p.scenario.population.exit_rate_per_month, "exit hazard, share/month"),
    ("banned_exit_multiplier", np.float64, lambda p: p.scenario.population.banned_exit_multiplier,
     "exit hazard under a market ban, x"),
    ("disclosure_on", np.bool_, lambda p: p.scenario.policy.disclosure.enabled, "penalties are published"),
    ("publication_months", np.int64, lambda p: p.scenario.policy.disclosure.publication_months,
     "months a penalty stays published"),
    ("penalty_demand_loss", np.float64, lambda p: p.scenario.policy.disclosure.penalty_demand_loss,
     "demand lost while a penalty is published, share"),
    ("horizon", np.float64, lambda p: p.scenario.behaviour.planning_horizon_months, "planning horizon, months"),
    ("commit_on", np.bool_, lambda p: p.scenario.policy.commitments.enabled, "credit commitments in force"),
    ("commit_rate", np.float64, lambda p: p.scenario.behaviour.commitment_application_rate,
     "monthly chance of applying for an approval, 0-1"),
    ("unqualified_share", np.float64, lambda p: p.scenario.behaviour.unqualified_share,
     "share of applicants who do not meet the conditions, 0-1"),
    ("commit_check_share", np.float64, lambda p: p.scenario.policy.commitments.check_share,
     "share of commitments verified, 0-1"),
    ("commit_penalty", np.float64, lambda p: p.scenario.policy.commitments.penalty_multiple,
     "penalty for a false commitment, approvals"),
    ("approval_value", np.float64, lambda p: p.scenario.behaviour.approval_value,
     "value of an approval, CNY"),
    ("commit_score_loss", np.float64, lambda p: p.scenario.policy.commitments.score_loss,
     "points lost for a false commitment found"),
    ("objections_on", np.bool_, lambda p: p.scenario.policy.objections.enabled, "objections in force"),
    ("objection_propensity", np.float64, lambda p: p.scenario.behaviour.objection_propensity,
     "chance a wrongly recorded merchant objects, 0-1"),
    ("objection_success", np.float64, lambda p: p.scenario.policy.objections.success_probability,
     "chance an objection is upheld, 0-1"),
    ("objection_delay", np.int64, lambda p: p.scenario.policy.objections.delay_months,
     "months to decide an objection"),
    ("assoc_detection", np.float64, lambda p: p.scenario.policy.associations.detection_probability
     if p.scenario.policy.associations.enabled else 0.0,
     "derived: chance the association finds a member's violation (0 when associations are off), 0-1"),
    ("assoc_multiple", np.float64, lambda p: p.scenario.policy.associations.sanction_multiple,
     "association sanction, gains"),
    ("expel_after", np.int64, lambda p: p.scenario.policy.associations.expel_after, "sanctions before expulsion"),
    ("inspectors", np.int64, lambda p: p.scenario.policy.inspection.inspectors, "inspectors"),
    ("initial_p_hat", np.float64, lambda p: p.scenario.behaviour.learning.initial_perceived_detection,
     "an entrant's perceived monthly detection, 0-1"),
)

PARAMETERS = _CORE_PARAMETERS + tuple(row for m in MECHANISMS for row in m.parameters)
"""The kernel's scalar parameters with their sources (the core ones, then those the registry's mechanisms
declare, :attr:`sim.model.mechanisms.Mechanism.parameters`); ``derived`` ones are computed here, once."""

PARAMETER_DTYPE = np.dtype([(n, dt) for n, dt, _, _ in PARAMETERS], align=True)


def parameter_record(p) -> np.record:
    """The parameter record of a compiled scenario (:class:`sim.model.params.Params`): named fields, see
    :data:`PARAMETERS` for units."""
    arr = np.zeros(1, PARAMETER_DTYPE)
    for name, _, get, _ in PARAMETERS:
        arr[0][name] = get(p)
    return arr[0]


SECTOR_FIELDS = (
    ("margin", "profit margin, share of revenue"),
    ("gain_share", "gain from violating, share of revenue"),
    ("harm_per_gain", "consumer harm per CNY of gain, x"),
    ("severe_share", "share of violations that are severe, 0-1"),
    ("detection_factor", "detection multiplier of the sector, x"),
    ("red_value", "red-list value, CNY/month"),
    ("red_bonus", "red-list demand bonus, share of revenue"),
    ("information", "how much consumers see of credit, x"),
)
"""Per-sector table (structured array indexed by :class:`~sim.model.vocabulary.Sector`)."""

SECTOR_DTYPE = np.dtype([(n, np.float64) for n, _ in SECTOR_FIELDS], align=True)

TIER_FIELDS = (("credit_bonus", "credit-consumption demand bonus, share of revenue"),)
"""Per-tier table (indexed by :class:`~sim.model.vocabulary.Tier`)."""

TIER_DTYPE = np.dtype([(n, np.float64) for n, _ in TIER_FIELDS], align=True)

STRATUM_FIELDS = (
    ("true_detection", "this month's check probability after capacity times detection, 0-1"),
    ("published_detection", "the stratum's published check rate times detection, 0-1"),
    ("planned_detection", "the plan's check rate for the stratum (its ratios, frequencies and list factors, "
                          "before capacity) times detection, 0-1: what merchants look ahead with"),
)
"""Per-stratum table for the month (indexed by :func:`sim.model.params.stratum_of`)."""

STRATUM_DTYPE = np.dtype([(n, np.float64) for n, _ in STRATUM_FIELDS], align=True)

KERNEL_COUNTERS = tuple(m.name for m in METRICS if m.source == "kernel")
"""Events the kernel counts (a count per month): the metrics the registry declares with ``source="kernel"``
(:data:`sim.model.metrics.METRICS`), by the same names."""

COUNTER_DTYPE = np.dtype([(m.name, np.int64 if m.integer else np.float64) for m in METRICS if m.source == "kernel"],
                         align=True)
"""The kernel's counters: a count (int64) or an amount (float64, e.g. CNY), as the registry declares."""

World = namedtuple("World", ["now", "sectors", "tiers", "strata", "peer"])
World.__doc__ = """What every merchant sees this month: ``now`` (month), the sector, tier and stratum tables,
and ``peer`` (each sector's compliance last month, 0-1)."""


def as_namespace(record) -> SimpleNamespace:
    """A record's fields as Python numbers (what the uncompiled kernel reads fastest)."""
    return SimpleNamespace(**{n: record[n].item() for n in record.dtype.names})


def rows_as_namespaces(table: np.ndarray) -> list[SimpleNamespace]:
    """A table's rows as :func:`as_namespace` objects."""
    return [as_namespace(row) for row in table]


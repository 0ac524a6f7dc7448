"""Scenario files: schema, loading with ``extends:``, ``--set`` overrides, checks.

A scenario is a YAML file with three parts:

* ``policy``: the levers a bureau sets (sampling ratios, list thresholds, ...);
* ``behaviour``: uncertainties about how merchants respond;
* ``population``: who is supervised (size, sectors, behavioural type mix).

Every parameter is declared once below with its unit, its allowed range and
its meaning; unknown keys are errors, so a typo never falls back to a default.
Cross-field rules (tier cut-offs ordered, list thresholds ordered, mixes that
sum to 1) are checked by :func:`cross_checks`.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sim.errors import InputError, Problem
from sim.model.names import SLUG_RULE, check_slug
from sim.model.safeyaml import load_yaml, read_capped

__all__ = [
    "Scenario",
    "TIERS",
    "TYPES",
    "SECTORS",
    "TEXT_FIELDS",
    "ROLES",
    "MOVED",
    "load_scenario",
    "load_raw",
    "apply_overrides",
    "parse_set",
    "validate_dict",
    "cross_checks",
    "parameter_table",
    "scenario_hash",
    "to_yaml",
]

TIERS = ("A", "B", "C", "D")
"""Credit tiers, best first (A: good credit, low risk; D: dishonest, high risk)."""

TYPES = ("honest", "strategic", "defiant", "careless")
"""Behavioural types after Bloomquist (2011)."""

SECTORS = (
    "household_services",
    "catering_accommodation",
    "retail",
    "promotions",
    "refined_oil",
    "laundry_dyeing",
    "ecommerce",
    "foreign_trade",
    "service_trade",
    "foreign_invested",
)
"""Sectors of the seed plan: six consumer sectors (clause 6), e-commerce (7),
foreign trade (10), service trade (11) and foreign-invested enterprises (12)."""


TEXT_FIELDS = ("name", "description", "description_zh")
"""Top-level text fields of a scenario (not parameters)."""


ROLES = ("lever", "uncertainty", "population")
"""What a parameter is: a ``lever`` the bureau sets, an ``uncertainty`` about merchants, or ``population``
(who is supervised). A parameter's role is its section's (``policy``: levers, ``behaviour``:
uncertainties, ``population``) unless its declaration says otherwise."""

SECTION_ROLES = {"policy": "lever", "behaviour": "uncertainty", "population": "population"}

MOVED = {
    "policy.objections.propensity": "behaviour.objection_propensity",
    "policy.commitments.application_rate": "behaviour.commitment_application_rate",
    "policy.commitments.approval_value": "behaviour.approval_value",
}
"""Parameters that moved because they describe merchants, not the bureau: old path -> new path."""


def P(default: Any, lo: float | None, hi: float | None, unit: str, doc: str, role: str | None = None,
      **kw: Any) -> Any:
    """Declare a parameter: default, inclusive range [lo, hi], unit, meaning, and (when not its section's)
    its role (:data:`ROLES`)."""
    extra = {"unit": unit}
    if role is not None:
        if role not in ROLES:
            raise ValueError(f"role {role!r}: one of {', '.join(ROLES)}")
        extra["role"] = role
    return Field(default, ge=lo, le=hi, description=doc, json_schema_extra=extra, **kw)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)


# ---------------------------------------------------------------------------
# policy (levers)
# ---------------------------------------------------------------------------


class TierRatios(_Strict):
    """Share of a tier drawn per campaign (0-1)."""

    A: float = P(0.03, 0, 1, "share", "Share of tier A drawn per campaign")
    B: float = P(0.03, 0, 1, "share", "Share of tier B drawn per campaign")
    C: float = P(0.03, 0, 1, "share", "Share of tier C drawn per campaign")
    D: float = P(0.03, 0, 1, "share", "Share of tier D drawn per campaign")


class TierCampaigns(_Strict):
    """Campaigns per year for each tier (spread evenly over the months)."""

    A: float = P(1.0, 0, 12, "campaigns/year", "Campaigns per year for tier A")
    B: float = P(1.0, 0, 12, "campaigns/year", "Campaigns per year for tier B")
    C: float = P(1.0, 0, 12, "campaigns/year", "Campaigns per year for tier C")
    D: float = P(1.0, 0, 12, "campaigns/year", "Campaigns per year for tier D")


class Inspection(_Strict):
    """Double-random spot checks (双随机、一公开), clause 4."""

    sampling_ratio: TierRatios = Field(default_factory=TierRatios)
    campaigns_per_year: TierCampaigns = Field(default_factory=TierCampaigns)
    capacity_per_1000_merchants: float = P(
        40.0, 0, 1_000_000, "checks/month per 1,000 merchants",
        "Checks the bureau can make in a month per 1,000 merchants at the start (its staff follows its caseload): "
        "40 is the 80 checks a month of a city team for the 2,000 merchants of the shipped scenarios",
    )
    capacity_per_month: int | None = P(
        None, 0, 1_000_000_000, "checks/month",
        "Absolute capacity: when given, the checks the bureau can make in a month, whatever the population "
        "(replaces capacity_per_1000_merchants; null: not given)",
    )
    capacity_to_listed_first: bool = P(
        True, None, None, "switch",
        "When requested checks exceed capacity, check blacklisted, then key-attention, then tier D merchants "
        "first (the plan's priorities); false: cut every stratum in proportion",
    )
    inspectors: int = P(20, 1, 100_000, "inspectors", "Inspectors drawn at random for each check")
    detection_probability: float = P(
        0.8, 0, 1, "probability", "Mean chance that a check of a violating merchant finds the violation"
    )
    inspector_skill_spread: float = P(
        0.1, 0, 0.5, "probability",
        "Half-width of the uniform spread of inspectors' detection probabilities around the mean",
    )
    false_positive_rate: float = P(
        0.02, 0, 1, "probability", "Chance that a check of a compliant merchant records a violation"
    )
    cost_per_check: float = P(800.0, 0, 1e7, "CNY/check", "Bureau cost of one on-site check")
    publish_results: bool = P(
        True, None, None, "switch", "Publish check results per tier (the 'one public'); peers learn from them"
    )


class Tiers(_Strict):
    """Public credit evaluation score cut-offs (分级分类); below C is tier D."""

    A: float = P(90.0, 0, 100, "score points", "Lowest score of tier A")
    B: float = P(75.0, 0, 100, "score points", "Lowest score of tier B")
    C: float = P(60.0, 0, 100, "score points", "Lowest score of tier C (below it: tier D)")
    entry_score: float = P(
        80.0, 0, 100, "score points",
        "Score of a merchant with no check and no record (a new merchant's): tier B at the default cut-offs; "
        "records and clean checks move a score from here and fade back to it",
    )


class Penalties(_Strict):
    """Fines and score losses for a recorded violation."""

    fine_multiple: float = P(
        3.0, 0, 100, "x monthly gain", "Fine as a multiple of the month's gain from violating"
    )
    score_loss_minor: float = P(10.0, 0, 100, "score points", "Score lost for a recorded minor violation")
    score_loss_severe: float = P(30.0, 0, 100, "score points", "Score lost for a recorded severe violation")
    clean_check_points: float = P(
        10.0, 0, 100, "score points",
        "Score earned by a check that finds nothing: clean checks, not time alone, lift a score above the "
        "entry score (an assumption: as much as a minor record costs)",
    )
    record_memory_months: float = P(
        36.0, 1, 240, "months",
        "Months over which records and clean checks fade: each month a score moves 1/this of the way back to "
        "the entry score (three years: the longest publication of a penalty, 发改办财金〔2019〕527号)",
    )
    confiscate_gains: bool = P(
        True, None, None, "switch",
        "A detection also confiscates the gains of every month violated since the last check (没收违法所得)",
    )
    statute_months: int = P(
        24, 1, 60, "months",
        "How far back confiscation reaches (行政处罚法 2021, art. 36: two years; five in life and health cases)",
    )


class RedList(_Strict):
    """Red list (红名单): trustworthy merchants with incentives."""

    enabled: bool = P(True, None, None, "switch", "Keep a red list")
    min_score: float = P(95.0, 0, 100, "score points", "Lowest score for the red list")
    clean_months: int = P(12, 0, 120, "months", "Months without a recorded violation required")
    check_factor: float = P(
        0.5, 0, 1, "x tier ratio", "Multiplier on the sampling ratio for red-listed merchants (fewer checks)"
    )


class KeyAttentionList(_Strict):
    """Key-attention list (重点关注对象名单): dishonest but not severe."""

    enabled: bool = P(True, None, None, "switch", "Keep a key-attention list")
    max_score: float = P(60.0, 0, 100, "score points",
                         "A record that leaves the score below this lists the merchant (a low score alone does not)")
    duration_months: int = P(
        12, 1, 24, "months", "Months on the list after the last trigger (MOFCOM 2019: at most 2 years)"
    )
    check_factor: float = P(
        2.0, 1, 100, "x tier ratio", "Multiplier on the sampling ratio for listed merchants (stricter supervision)"
    )


class Blacklist(_Strict):
    """Blacklist (失信联合惩戒对象名单): severe or repeated dishonesty."""

    enabled: bool = P(True, None, None, "switch", "Keep a blacklist")
    max_score: float = P(40.0, 0, 100, "score points",
                         "A record that leaves the score below this makes a candidate (a low score alone does not)")
    repeat_violations: int = P(
        3, 2, 3, "violations", "Recorded violations within the window that make a merchant a candidate"
    )
    repeat_window_months: int = P(24, 1, 60, "months", "Window for counting repeated violations")
    recognition_delay_months: int = P(
        2, 0, 12, "months", "Months from trigger to listing (recognition procedure and appeal)"
    )
    appeal_success_probability: float = P(
        0.7, 0, 1, "probability", "Chance that an appeal against a wrong record (false positive) succeeds"
    )
    duration_months: int = P(
        36, 1, 36, "months", "Months on the blacklist (MOFCOM 2019: at most 3 years)"
    )
    market_ban: bool = P(
        False, None, None, "switch",
        "Market ban (市场禁入): listed merchants may not trade; otherwise service restriction",
    )
    check_factor: float = P(
        3.0, 1, 100, "x tier ratio", "Multiplier on the sampling ratio for blacklisted merchants still trading"
    )


class Repair(_Strict):
    """Credit repair (信用修复), within the MOFCOM 2019 limits."""

    enabled: bool = P(True, None, None, "switch", "Allow early exit from a list by credit repair")
    min_months_on_list: int = P(6, 6, 36, "months", "Months on a list before repair (MOFCOM: at least 6)")
    min_months_between: int = P(12, 12, 60, "months", "Months since the last repair (MOFCOM: at least 12)")
    max_in_36_months: int = P(2, 0, 2, "repairs", "Repairs allowed within 36 months (MOFCOM: at most 2)")
    application_probability: float = P(
        0.2, 0, 1, "probability/month", "Monthly chance that an eligible merchant applies (and is repaired)"
    )


class Lists(_Strict):
    """The three lists and credit repair (clause 5)."""

    red: RedList = Field(default_factory=RedList)
    key_attention: KeyAttentionList = Field(default_factory=KeyAttentionList)
    blacklist: Blacklist = Field(default_factory=Blacklist)
    repair: Repair = Field(default_factory=Repair)


class Incentives(_Strict):
    """Joint reward and punishment (联合奖惩)."""

    red_list_monthly_value: float = P(
        2000.0, 0, 1e7, "CNY/month", "Value of fast-track approvals (优先办理、容缺受理) to a red-listed merchant"
    )
    red_list_demand_bonus: float = P(
        0.05, 0, 1, "share of revenue", "Extra demand for red-listed merchants (credit consumption)"
    )
    joint_punishment_multiplier: float = P(
        1.5, 1, 10, "x", "Multiplier other departments add to the cost of being blacklisted"
    )
    blacklist_demand_loss: float = P(
        0.3, 0, 1, "share of revenue", "Demand lost by a blacklisted merchant that still trades (disclosure)"
    )


class Entry(_Strict):
    """Ex-ante credit review of new merchants (事前信用审查), clause 1."""

    exante_review: bool = P(True, None, None, "switch", "Refuse applicants with a blacklist record")


class Publicity(_Strict):
    """Integrity publicity and training (学习与宣传), clauses 14-15."""

    intensity: float = P(
        0.0, 0, 0.2, "share/month",
        "Each month a merchant's integrity norm moves this share of the way toward 1, on top of peers' influence",
    )


class Complaints(_Strict):
    """Complaint-driven investigations (投诉举报核查, the 12315 channel): consumers harmed by a violation complain
    and the bureau investigates, apart from the double-random checks, before the plan as under it."""

    enabled: bool = P(
        False, None, None, "switch",
        "Consumers' complaints about a violation lead to an investigation that can find it (on in baseline.yaml "
        "and every scenario extending it: complaint handling is a standing duty, not one of the plan's clauses)",
    )
    rate: float = P(
        0.01, 0, 1, "probability/month",
        "Chance that a month of minor violation draws a complaint the bureau investigates; a severe violation's "
        "chance is this times population.severe_harm_multiple (complaints follow harm), capped at 1. "
        "Assumption: one violation month in a hundred (no Shahe figure; a bureau's complaint records estimate it)",
    )


class Commitments(_Strict):
    """Credit commitments (信用承诺 / 告知承诺制), clause 2: fast approval on a signed promise, checked later."""

    enabled: bool = P(False, None, None, "switch", "Offer notify-and-commit approvals")
    days_saved: float = P(15.0, 0, 365, "days", "Approval time a commitment saves an applicant")
    check_share: float = P(
        0.1, 0, 1, "share", "Share of signed commitments the bureau verifies (a false one is then found)"
    )
    penalty_multiple: float = P(
        3.0, 0, 100, "x approval value", "Penalty for a false commitment found, as a multiple of the approval value"
    )
    score_loss: float = P(10.0, 0, 100, "score points",
                          "Score lost for a false commitment found (it goes on the record)")


class Disclosure(_Strict):
    """Credit disclosure of penalties (信用公示), clause 3 (check results: inspection.publish_results;
    list status: incentives.blacklist_demand_loss)."""

    enabled: bool = P(False, None, None, "switch", "Publish administrative penalties")
    publication_months: int = P(
        12, 3, 36, "months",
        "Months a penalty stays published (发改办财金〔2019〕527号: general 3-12, serious 6-36)",
    )
    penalty_demand_loss: float = P(
        0.05, 0, 1, "share of revenue", "Demand a merchant loses while a penalty of its is published"
    )


class Objections(_Strict):
    """Objection handling (异议处理), clause 3: a wrong record can be contested and overturned."""

    enabled: bool = P(False, None, None, "switch", "Accept objections to recorded information")
    delay_months: int = P(1, 1, 12, "months", "Months from objection to decision (20 days is a common deadline)")
    success_probability: float = P(
        0.8, 0, 1, "probability", "Chance that an objection to a wrong record is upheld and the record removed"
    )


class AssociationLists(_Strict):
    """Associations' own red and black lists (clause 9: 支持行业制定红黑名单认定标准): commendation and
    recommendation for the red list, refusal of membership (不予接纳) and public condemnation for the black
    list. In force when associations are. No Shahe figures: the defaults are assumptions, each set equal to
    the bureau's counterpart, as an association's list stands for the same kind of signal to consumers."""

    enabled: bool = P(True, None, None, "switch",
                      "Associations keep red and black lists of their members (when associations are enabled)")
    red_clean_months: int = P(
        12, 0, 120, "months",
        "Months without a recorded violation and without an association sanction for its red list; "
        "assumption: the bureau's red-list period, policy.lists.red.clean_months",
    )
    recommendation_bonus: float = P(
        0.05, 0, 1, "share of revenue",
        "Extra demand for a member the association commends and recommends; assumption: the bureau's "
        "red-list bonus, policy.incentives.red_list_demand_bonus",
    )
    condemnation_demand_loss: float = P(
        0.05, 0, 1, "share of revenue",
        "Demand lost while the association's public condemnation of an expelled member stands; assumption: a "
        "published penalty's, policy.disclosure.penalty_demand_loss",
    )
    condemnation_months: int = P(
        12, 1, 60, "months",
        "Months an expelled member stays on the association's black list (publicly condemned); assumption: "
        "a published penalty's, policy.disclosure.publication_months",
    )


class Associations(_Strict):
    """Industry self-discipline (行业自律), clause 9: associations' archives, lists and sanctions."""

    enabled: bool = P(False, None, None, "switch", "Associations monitor and sanction their members")
    detection_probability: float = P(
        0.1, 0, 1, "probability/month", "Chance that the association finds a member's violation in a month"
    )
    sanction_multiple: float = P(
        2.0, 0, 100, "x monthly gain",
        "Cost of an association sanction (warning, criticism, public condemnation) in gains of the month",
    )
    expel_after: int = P(
        3, 1, 10, "sanctions", "Sanctions after which the association refuses membership (the member leaves)"
    )
    cost_per_member: float = P(20.0, 0, 1e6, "CNY/member/month",
                               "Association's cost of keeping archives and monitoring")
    lists: AssociationLists = Field(default_factory=AssociationLists)


class Ecommerce(_Strict):
    """E-commerce credit (电子商务), clause 7: platform archives, product traceability, integrity pledges."""

    enabled: bool = P(False, None, None, "switch", "Platform credit archives, traceability and pledges in e-commerce")
    archive_detection_multiplier: float = P(
        1.25, 1, 3, "x", "Platform credit archives multiply inspectors' detection in e-commerce (capped at 1)"
    )
    information_multiplier: float = P(
        1.5, 1, 3, "x", "Traceability multiplies how much consumers react to disclosed credit in e-commerce"
    )
    pledge_norm_boost: float = P(
        0.05, 0, 0.5, "share", "Integrity pledge: added to e-commerce merchants' integrity norm when they enter"
    )


class TierBonus(_Strict):
    """Extra demand by tier from credit consumption (share of revenue)."""

    A: float = P(0.04, 0, 1, "share of revenue", "Extra demand for tier A merchants")
    B: float = P(0.02, 0, 1, "share of revenue", "Extra demand for tier B merchants")
    C: float = P(0.0, 0, 1, "share of revenue", "Extra demand for tier C merchants")
    D: float = P(0.0, 0, 1, "share of revenue", "Extra demand for tier D merchants")


class CreditConsumption(_Strict):
    """Credit consumption (信用消费), clause 8: credit instead of deposits gives good credit a market value."""

    enabled: bool = P(False, None, None, "switch", "Consumers buy on credit from good-credit merchants")
    demand_bonus: TierBonus = Field(default_factory=TierBonus)


class Trade(_Strict):
    """Foreign trade, service trade and foreign investment (clauses 10-12)."""

    enabled: bool = P(False, None, None, "switch", "Trade credit incentives and foreign-investment archives")
    credit_insurance_monthly_value: float = P(
        3000.0, 0, 1e7, "CNY/month", "Export credit insurance terms worth this to a red-listed foreign-trade merchant"
    )
    trusted_counterparty_bonus: float = P(
        0.05, 0, 1, "share of revenue",
        "Extra demand for a red-listed service-trade or foreign-trade merchant recommended as a trusted counterparty",
    )
    investment_archive_detection_multiplier: float = P(
        1.2, 1, 3, "x", "Foreign-invested enterprise credit archives multiply inspectors' detection in that sector"
    )


class Campaign(_Strict):
    """Special campaign (专项整治), clause 6: more checks in one sector for some months."""

    enabled: bool = P(False, None, None, "switch", "Run a special campaign")
    sector: str = P("refined_oil", None, None, "sector", "Sector the campaign targets (one of population.sectors)")
    start_month: int = P(12, 0, 600, "month", "Month the (first) campaign starts (0 = first month)")
    duration_months: int = P(3, 1, 600, "months", "Months a campaign lasts")
    every_months: int = P(0, 0, 600, "months", "Months between campaign starts (0: once)")
    check_factor: float = P(
        3.0, 1, 100, "x tier ratio", "Multiplier on the sampling ratio for the sector's merchants during a campaign"
    )


class Policy(_Strict):
    """Policy levers: what the bureau decides."""

    inspection: Inspection = Field(default_factory=Inspection)
    tiers: Tiers = Field(default_factory=Tiers)
    penalties: Penalties = Field(default_factory=Penalties)
    lists: Lists = Field(default_factory=Lists)
    incentives: Incentives = Field(default_factory=Incentives)
    entry: Entry = Field(default_factory=Entry)
    publicity: Publicity = Field(default_factory=Publicity)
    complaints: Complaints = Field(default_factory=Complaints)
    commitments: Commitments = Field(default_factory=Commitments)
    disclosure: Disclosure = Field(default_factory=Disclosure)
    objections: Objections = Field(default_factory=Objections)
    associations: Associations = Field(default_factory=Associations)
    ecommerce: Ecommerce = Field(default_factory=Ecommerce)
    credit_consumption: CreditConsumption = Field(default_factory=CreditConsumption)
    trade: Trade = Field(default_factory=Trade)
    campaign: Campaign = Field(default_factory=Campaign)


# ---------------------------------------------------------------------------
# behaviour (uncertainties)
# ---------------------------------------------------------------------------


class Learning(_Strict):
    """How merchants learn the probability of detection."""

    full_information: bool = P(
        False, None, None, "switch", "Merchants know the true monthly detection probability of their stratum"
    )
    initial_perceived_detection: float = P(
        0.08, 0, 1, "probability/month", "Perceived monthly chance of detection at the start"
    )
    rate: float = P(0.1, 0, 1, "share/month", "Weight of the month's evidence in the updated belief")
    own_weight: float = P(
        0.3, 0, 1, "share", "Weight of own checks against published results of peers"
    )


class InitialNorm(_Strict):
    """Mean integrity norm (0-1) at entry, by behavioural type: the disposition each merchant's norm is
    anchored to (``behaviour.social.anchor_weight``)."""

    honest: float = P(
        0.8, 0, 1, "share",
        "Mean norm at entry of honest merchants: above the others' (an honesty norm is what sets them apart, "
        "Hashimzade, Myles, Page & Rablen 2014; the value is an assumption)",
    )
    strategic: float = P(0.7, 0, 1, "share", "Mean norm at entry of strategic merchants (assumption)")
    defiant: float = P(
        0.3, 0, 1, "share",
        "Mean norm at entry of defiant merchants (assumption; their choices ignore it, their care for records "
        "does not: behaviour.social.norm_attention)",
    )
    careless: float = P(0.7, 0, 1, "share", "Mean norm at entry of careless merchants (assumption)")


class Social(_Strict):
    """Integrity norm and social influence."""

    influence: float = P(
        1.0, 0, 1, "share of gain", "Moral cost of violating when every peer complies, for a fully committed merchant"
    )
    norm_adaptation_rate: float = P(
        0.05, 0, 1, "share/month", "Speed at which a merchant's norm moves toward peers' compliance"
    )
    initial_norm: InitialNorm = Field(default_factory=InitialNorm)
    initial_norm_sd: float = P(0.2, 0, 0.5, "share", "Spread of the integrity norm at entry, within a type")
    anchor_weight: float = P(
        0.5, 0, 1, "share",
        "Weight of the merchant's own disposition (its norm at entry, with any integrity pledge) in what its "
        "norm moves toward each month; the rest is its own conduct and its peers' compliance. Assumption: "
        "dispositions are lasting traits, moved but not replaced by peers (Hashimzade et al. 2014)",
    )
    conduct_weight: float = P(
        0.2, 0, 1, "share",
        "Weight of the merchant's own conduct of the month in what its norm moves toward: 1 after a month of "
        "compliance, 0 after a deliberate violation that went unpunished (impunity erodes the norm), left out "
        "after one that was caught. Assumption: people bring their norms into line with what they do and get "
        "away with (neutralisation, Sykes & Matza 1957)",
    )
    norm_attention: float = P(
        1.0, 0, 3, "x",
        "How a merchant's chance of unintended violations follows its norm: it scales with ((1 - norm) / "
        "(1 - its type's mean norm at entry)) to this power, so publicity and pledges reach the care of honest "
        "and careless merchants; 0: unrelated. Assumption: commitment and capacity move together (integrity "
        "training teaches compliance, clauses 14-15)",
    )
    honest_collapse_norm: float = P(
        0.3, 0, 1, "share", "Honest merchants whose norm falls below this decide like strategic ones"
    )


class Defiant(_Strict):
    """Habitual violators: deterred only by strong, certain sanctions."""

    min_detection: float = P(
        0.25, 0, 1, "probability/month", "Perceived detection below which a defiant merchant always violates"
    )
    deterrence_multiple: float = P(
        3.0, 1, 100, "x gain", "Expected sanction, in gains, that deters a defiant merchant"
    )
    severe_share_multiplier: float = P(
        2.0, 1, 10, "x", "Multiplier on the sector's severe share for defiant violations"
    )


class Capability(_Strict):
    """Unintended violations (poor records, labelling, storage) and rectification after a finding (整改)."""

    unintended_rate: float = P(
        0.02, 0, 1, "probability/month",
        "Monthly chance of an unintended violation for a merchant of its sector's median revenue, whatever it "
        "decides (assumption, to be estimated: most problems checks find are not deliberate, LITERATURE.md)",
    )
    size_elasticity: float = P(
        0.3, 0, 2, "x",
        "How much more often smaller merchants slip: the chance scales with (revenue / sector median) to the "
        "minus this (0.3: a merchant at a tenth of the median slips twice as often; assumption)",
    )
    rectification: float = P(
        0.5, 0, 1, "share",
        "Share of a merchant's chance of unintended violations that a check finding a problem removes "
        "(rectification, 整改; assumption)",
    )


class Behaviour(_Strict):
    """Behavioural uncertainties: how merchants respond."""

    risk_aversion: float = P(
        0.0, 0, 10, "x", "Extra weight on expected sanctions (0: risk neutral)"
    )
    choice_noise: float = P(
        0.5, 0, 10, "x monthly gain",
        "Scale of the logit choice of merchants that weigh sanctions (random utility, McFadden 1974): what the "
        "model does not see of a merchant's month; 0 is the sharp Allingham-Sandmo rule. Assumption: half a "
        "month's gain, to be estimated (no consensus elasticity: LITERATURE.md)",
    )
    consequence_weight: float = P(
        0.5, 0, 1, "share",
        "Weight merchants give to consequences beyond the fine (red-list value, blacklisting, published "
        "penalties, a lower tier's demand and its more frequent checks)"
    )
    careless_violation_rate: float = P(
        0.05, 0, 1, "probability/month", "Unintended violations per month of a careless merchant"
    )
    appeal_propensity: float = P(0.8, 0, 1, "probability", "Chance a blacklist candidate appeals")
    objection_propensity: float = P(0.8, 0, 1, "probability",
                                    "Chance that a merchant with a wrong record objects (when objections are accepted)")
    commitment_application_rate: float = P(
        0.02, 0, 1, "probability/month",
        "Monthly chance that a merchant applies for a licence, subsidy, qualification or award (when credit "
        "commitments are offered)",
    )
    approval_value: float = P(
        5000.0, 0, 1e8, "CNY", "What an approval is worth to an applicant that does not meet its conditions"
    )
    unqualified_share: float = P(
        0.2, 0, 1, "share", "Share of commitment applicants that do not meet the conditions they would promise"
    )
    planning_horizon_months: int = P(
        36, 1, 120, "months",
        "Months ahead a merchant counts the demand it would lose by falling a tier and the extra checks of a "
        "lower tier or a listing (Harrington 1988's state-dependent enforcement)"
    )
    learning: Learning = Field(default_factory=Learning)
    social: Social = Field(default_factory=Social)
    defiant: Defiant = Field(default_factory=Defiant)
    capability: Capability = Field(default_factory=Capability)


# ---------------------------------------------------------------------------
# population
# ---------------------------------------------------------------------------


class TypeMix(_Strict):
    """Shares of behavioural types (sum to 1)."""

    honest: float = P(0.55, 0, 1, "share", "Comply unless their norm collapses")
    strategic: float = P(0.30, 0, 1, "share", "Weigh gain against expected cost")
    defiant: float = P(0.05, 0, 1, "share", "Habitual violators")
    careless: float = P(0.10, 0, 1, "share", "Violate unintentionally at a base rate")


class SectorParams(_Strict):
    """One sector's structure."""

    share: float = P(0.1, 0, 1, "share", "Share of merchants in the sector")
    revenue_median: float = P(50_000.0, 0, 1e10, "CNY/month", "Median monthly revenue")
    revenue_sigma: float = P(1.0, 0, 3, "log units", "Spread of revenue (lognormal sigma)")
    profit_margin: float = P(0.1, 0, 1, "share of revenue", "Normal profit")
    violation_gain: float = P(0.05, 0.001, 1, "share of revenue", "Extra profit in a month of violating")
    consumer_harm: float = P(1.5, 0, 100, "CNY per CNY gained", "Harm to consumers per unit of violation gain")
    severe_share: float = P(0.1, 0, 1, "share", "Share of violations that are severe")
    detection_factor: float = P(1.0, 0, 2, "x", "Multiplier on inspectors' detection probability in the sector")
    unintended_factor: float = P(
        1.0, 0, 10, "x", "Multiplier on the chance of unintended violations in the sector (behaviour.capability)",
    )
    association_share: float = P(
        0.0, 0, 1, "share", "Share of the sector's merchants in its industry association (clause 9)"
    )


def _sector(share: float, rev: float, margin: float, gain: float, harm: float, severe: float) -> Any:
    return Field(
        default_factory=lambda: SectorParams(
            share=share, revenue_median=rev, profit_margin=margin,
            violation_gain=gain, consumer_harm=harm, severe_share=severe,
        )
    )


class Sectors(_Strict):
    """The sectors of the seed plan (clauses 6, 7, 10-12)."""

    household_services: SectorParams = _sector(0.08, 30_000, 0.12, 0.06, 1.5, 0.10)
    catering_accommodation: SectorParams = _sector(0.20, 80_000, 0.10, 0.05, 1.5, 0.10)
    retail: SectorParams = _sector(0.28, 100_000, 0.08, 0.04, 1.5, 0.08)
    promotions: SectorParams = _sector(0.04, 50_000, 0.10, 0.08, 1.5, 0.10)
    refined_oil: SectorParams = _sector(0.03, 400_000, 0.06, 0.05, 2.0, 0.15)
    laundry_dyeing: SectorParams = _sector(0.05, 20_000, 0.12, 0.05, 1.0, 0.05)
    ecommerce: SectorParams = _sector(0.15, 60_000, 0.10, 0.064, 1.5, 0.12)
    foreign_trade: SectorParams = _sector(0.08, 800_000, 0.05, 0.03, 0.5, 0.10)
    service_trade: SectorParams = _sector(0.05, 200_000, 0.10, 0.04, 0.5, 0.08)
    foreign_invested: SectorParams = _sector(0.04, 1_500_000, 0.08, 0.03, 0.5, 0.08)


class Population(_Strict):
    """Who is supervised."""

    merchants: int = P(2000, 1, 1_000_000_000, "merchants",
                       "Merchants at the start (memory sets the real limit: see docs/ODD.md)")
    months: int = P(60, 1, 600, "months", "Months simulated")
    type_mix: TypeMix = Field(default_factory=TypeMix)
    burn_in_months: int = P(
        120, 0, 600, "months",
        "Months run under the pre-plan regime before month 0, unreported, so that scores, tiers, lists, beliefs "
        "and norms start where the bureau stands (ten years: about three record memories; 0 starts every "
        "merchant new)",
    )
    sectors: Sectors = Field(default_factory=Sectors)
    entry_rate_per_month: float = P(
        0.005, 0, 1, "share of start size/month", "Applicants for entry each month"
    )
    exit_rate_per_month: float = P(0.005, 0, 1, "probability/month", "Base chance a merchant exits")
    exit_loss_sensitivity: float = P(
        0.05, 0, 1, "probability/month",
        "Extra monthly chance of leaving the market per month's normal profit lost to fines and lost demand "
        "(losses above a month's profit count as one; assumption)",
    )
    banned_exit_multiplier: float = P(
        5.0, 1, 100, "x", "Multiplier on the exit chance of a merchant under market ban"
    )
    severe_harm_multiple: float = P(
        3.0, 1, 100, "x", "Harm to consumers of a severe violation relative to a minor one"
    )
    blacklisted_applicant_share: float = P(
        0.05, 0, 1, "share", "Share of applicants who carry a blacklist record"
    )


class Scenario(_Strict):
    """A validated scenario: policy levers, behavioural uncertainties, population."""

    name: Annotated[str, AfterValidator(check_slug)] = Field(
        "unnamed", description=f"Short name used in outputs and as a folder name: {SLUG_RULE}")
    description: str = Field("", description="What the scenario stands for")
    description_zh: str = Field("", description="The description in Chinese, for reports in Chinese (optional)")
    policy: Policy = Field(default_factory=Policy)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    population: Population = Field(default_factory=Population)
    pre_plan: Policy | None = Field(
        None, description="The policy in force before the plan, run for population.burn_in_months before month "
        "0 (the baseline's, in the shipped scenarios); none: the scenario's own policy")


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------


def _field_at(path: tuple) -> tuple[type[BaseModel] | None, Any]:
    """Return (model class holding the field, FieldInfo) for a path, or (cls, None)."""
    cls: Any = Scenario
    info = None
    for i, part in enumerate(path):
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None, None
        fields = cls.model_fields
        if part not in fields:
            return cls, None
        info = fields[part]
        if i < len(path) - 1:
            cls = info.annotation
            if cls == (Policy | None):  # pre_plan: a policy block
                cls = Policy
    return cls, info


def _allowed(path: tuple, err_type: str) -> str:
    moved = MOVED.get(".".join(str(p) for p in path))
    if moved:
        return f"moved to {moved} (it describes merchants, not the bureau)"
    owner, info = _field_at(path)
    if info is None:
        if owner is not None and err_type == "extra_forbidden":
            names = ", ".join(owner.model_fields)
            return f"unknown field; allowed here: {names}"
        return "unknown field"
    ann = info.annotation
    extra = info.json_schema_extra or {}
    unit = extra.get("unit", "") if isinstance(extra, dict) else ""
    lo = hi = None
    for m in info.metadata:
        lo = getattr(m, "ge", lo)
        hi = getattr(m, "le", hi)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "a mapping with fields: " + ", ".join(ann.model_fields)
    if ann is bool:
        return "true or false"
    kind = {int: "a whole number", float: "a number", str: "text"}.get(ann, str(ann))
    if lo is not None and hi is not None:
        text = f"{kind} from {lo:g} to {hi:g}"
    elif lo is not None:
        text = f"{kind} of at least {lo:g}"
    else:
        text = kind
    if unit and unit != "switch":
        text += f" ({unit})"
    if info.description:
        text += f": {info.description}"
    return text


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) if loc else "(top level)"


def _get(d: Any, path: tuple) -> Any:
    for part in path:
        if isinstance(d, dict) and part in d:
            d = d[part]
        else:
            return None
    return d


def validate_dict(data: Any, source: str) -> Scenario:
    """Validate a raw scenario mapping; raise :class:`InputError` listing every problem.

    Parameters
    ----------
    data : dict
        Parsed YAML (after ``extends`` and overrides are resolved).
    source : str
        Name used at the start of each problem line (usually the file path).
    """
    if not isinstance(data, dict):
        raise InputError([Problem(source, "(top level)", f"a {type(data).__name__}",
                                  "a mapping of policy, behaviour, population")])
    # merge onto the full defaults, so a partial mapping (one sector's gain) keeps the other defaults
    data = _merge(_DEFAULTS, data)
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = tuple(e["loc"])
            value = e.get("input")
            if e["type"] == "missing":
                problems.append(Problem(source, _dotted(loc), "(missing)", "required"))
                continue
            if e["type"] == "extra_forbidden":  # the key is the offending token: its value is not shown
                value = "(a key not in the schema)"
            elif isinstance(value, dict):
                value = "{...}"
            problems.append(Problem(source, _dotted(loc), value, _allowed(loc, e["type"])))
        raise InputError(problems) from None
    problems = cross_checks(scn, source)
    if problems:
        raise InputError(problems)
    return scn


_DEFAULTS = Scenario().model_dump()


def cross_checks(scn: Scenario, source: str) -> list[Problem]:
    """Rules that involve more than one field; returns one :class:`Problem` per broken rule."""
    out: list[Problem] = []
    t = scn.policy.tiers
    if not (t.A > t.B > t.C):
        out.append(Problem(source, "policy.tiers", f"A={t.A:g}, B={t.B:g}, C={t.C:g}",
                           "cut-offs must fall strictly: A > B > C"))
    lists = scn.policy.lists
    if not (lists.blacklist.max_score < lists.key_attention.max_score < lists.red.min_score):
        out.append(Problem(
            source, "policy.lists",
            f"blacklist.max_score={lists.blacklist.max_score:g}, "
            f"key_attention.max_score={lists.key_attention.max_score:g}, red.min_score={lists.red.min_score:g}",
            "thresholds must rise strictly: blacklist.max_score < key_attention.max_score < red.min_score",
        ))
    for path, mix in (("population.type_mix", scn.population.type_mix.model_dump()),
                      ("population.sectors.*.share",
                       {k: v["share"] for k, v in scn.population.sectors.model_dump().items()})):
        total = sum(mix.values())
        if abs(total - 1.0) > 1e-6:
            out.append(Problem(source, path, f"sum={total:.6g}", "shares must sum to 1"))
    soc = scn.behaviour.social
    if soc.anchor_weight + soc.conduct_weight > 1 + 1e-9:
        out.append(Problem(source, "behaviour.social.conduct_weight", soc.conduct_weight,
                           f"at most 1 - anchor_weight ({1 - soc.anchor_weight:g}): the norm's target weighs "
                           "disposition, conduct and peers with shares summing to 1"))
    ins = scn.policy.inspection
    d = ins.detection_probability
    if d - ins.inspector_skill_spread < 0 or d + ins.inspector_skill_spread > 1:
        out.append(Problem(source, "policy.inspection.inspector_skill_spread", ins.inspector_skill_spread,
                           f"detection_probability ± spread must stay within 0-1 (detection_probability={d:g})"))
    camp = scn.policy.campaign
    if camp.sector not in SECTORS:
        out.append(Problem(source, "policy.campaign.sector", camp.sector, "one of " + ", ".join(SECTORS)))
    if camp.enabled and 0 < camp.every_months < camp.duration_months:
        out.append(Problem(source, "policy.campaign.every_months", camp.every_months,
                           f"0 (once) or at least duration_months ({camp.duration_months}): "
                           "campaigns must not overlap"))
    cc = scn.policy.credit_consumption
    bonus = [getattr(cc.demand_bonus, t) for t in TIERS]
    if cc.enabled and any(a < b for a, b in zip(bonus, bonus[1:])):
        out.append(Problem(source, "policy.credit_consumption.demand_bonus",
                           ", ".join(f"{t}={b:g}" for t, b in zip(TIERS, bonus)),
                           "bonuses that do not rise as credit falls: A >= B >= C >= D"))
    for name, sec in scn.population.sectors:
        if d * sec.detection_factor > 1 + 1e-9 or (d + ins.inspector_skill_spread) * sec.detection_factor > 1 + 1e-9:
            out.append(Problem(source, f"population.sectors.{name}.detection_factor", sec.detection_factor,
                               "detection_probability (plus spread) times this factor must not exceed 1"))
    if scn.pre_plan is not None:  # the burn-in's policy obeys the same rules, named by its own path
        for prob in cross_checks(scn.model_copy(update={"pre_plan": None, "policy": scn.pre_plan}), source):
            if prob.path.startswith("policy"):
                out.append(Problem(prob.source, "pre_plan" + prob.path[len("policy"):], prob.value, prob.allowed))
    return out


SCENARIO_SUFFIXES = (".yaml", ".yml")
"""A scenario file's name ends in one of these (so a batch or ``extends`` cannot read any file)."""


def _readable_yaml(path: Path, source: str, field: str, value: str) -> None:
    """Raise InputError unless ``path`` is an existing ``.yaml``/``.yml`` file."""
    if path.suffix.lower() not in SCENARIO_SUFFIXES:
        raise InputError([Problem(source, field, value, "a scenario file ending in .yaml or .yml")])
    if not path.is_file():
        where = " (relative to this one)" if field == "extends" else ""
        raise InputError([Problem(source, field, value, f"an existing scenario file{where}")])


def load_raw(path: str | Path, _chain: tuple = ()) -> dict:
    """Read a scenario file and the files it ``extends``, merged; not yet validated.

    The file is read by :func:`sim.model.safeyaml.load_yaml` (size caps, duplicate keys refused); an
    empty file is refused (a planner who saved an empty file must not get a run of the defaults).
    """
    path = Path(path)
    source = str(path)
    if not _chain:
        _readable_yaml(path, source, "(file)", source)
    resolved = path.resolve()
    data = load_yaml(read_capped(path, source), source)
    if data is None or data == {}:
        raise InputError([Problem(source, "(file)", "empty", "a scenario: at least a name, or extends: a file")])
    if not isinstance(data, dict):
        raise InputError([Problem(source, "(top level)", f"a {type(data).__name__}",
                                  "a mapping of policy, behaviour, population")])
    parent = data.pop("extends", None)
    own_description = "description" in data and "description_zh" not in data
    if parent is not None:
        if not isinstance(parent, str):
            raise InputError([Problem(source, "extends", f"a {type(parent).__name__}",
                                      "a path to another scenario file")])
        parent_path = path.parent / parent
        _readable_yaml(parent_path, source, "extends", parent)
        chain = _chain + (resolved,)
        if parent_path.resolve() in chain:
            loop = " -> ".join(p.name for p in chain + (parent_path.resolve(),))
            raise InputError([Problem(source, "extends", parent, f"no cycles ({loop})")])
        base = load_raw(parent_path, chain)
        data = _merge(base, data)
        if own_description:  # a new description without its Chinese: the parent's Chinese would be wrong
            data.pop("description_zh", None)
    return data


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_set(text: str) -> tuple[tuple[str, ...], Any]:
    """Parse one ``--set PATH=VALUE`` (VALUE read as YAML: ``0.5``, ``true``, ``text``)."""
    if "=" not in text:
        raise InputError([Problem("--set", text, text, "PATH=VALUE, e.g. policy.tiers.A=90")])
    key, _, raw = text.partition("=")
    key = key.strip()
    parts = tuple(key.split("."))
    if not key or any(not p for p in parts):
        raise InputError([Problem("--set", key or "(empty)", text, "a dotted field path, e.g. policy.tiers.A")])
    try:
        value = load_yaml(raw, "--set") if raw.strip() else None
    except InputError:
        raise InputError([Problem("--set", key, raw, "a YAML value (number, true/false, text)")]) from None
    if value is None:
        raise InputError([Problem("--set", key, raw, "a value after '='")])
    return parts, value


def apply_overrides(data: dict, sets: list[str]) -> dict:
    """Apply ``--set`` strings to a raw scenario mapping; unknown paths are errors."""
    out = copy.deepcopy(data)
    problems: list[Problem] = []
    for text in sets:
        try:
            parts, value = parse_set(text)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        owner, info = _field_at(parts)
        if info is None:
            problems.append(Problem("--set", ".".join(parts), value, _allowed(parts, "extra_forbidden")))
            continue
        node = out
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = value
    if problems:
        raise InputError(problems)
    return out


def load_scenario(path: str | Path, sets: list[str] | None = None, without: list[str] | None = None) -> Scenario:
    """Load, merge (``extends``), switch mechanisms off (``--without``), override (``--set``) and validate a
    scenario file.

    ``without`` names mechanisms of :mod:`sim.model.mechanisms`; each is switched off by its registered
    override, and the scenario's name becomes ``NAME-without-A-B`` (so its results do not overwrite those
    of the whole scenario).

    Raises
    ------
    InputError
        One :class:`Problem` per bad field, naming file, path, value and what is allowed.
    """
    data = load_raw(path)
    if without:
        from sim.model import mechanisms

        known = [m.name for m in mechanisms.MECHANISMS]
        bad = [Problem("--without", "--without", n, f"a mechanism: {', '.join(known)}") for n in without
               if n not in known]
        if bad:
            raise InputError(bad)
        data = mechanisms.without(data, list(without))
        if isinstance(data.get("name"), str):
            data["name"] = f"{data['name']}-without-{'-'.join(without)}"
    if sets:
        try:
            data = apply_overrides(data, sets)
        except InputError as exc:
            raise InputError(exc.problems) from None
    source = str(path) + (" (with --set)" if sets else "")
    return validate_dict(data, source)


def to_yaml(scn: Scenario) -> str:
    """The resolved scenario as YAML (every parameter, defaults included)."""
    return yaml.safe_dump(scn.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def scenario_hash(scn: Scenario) -> str:
    """SHA-256 of the resolved scenario's canonical YAML (hex, 16 characters)."""
    return hashlib.sha256(to_yaml(scn).encode()).hexdigest()[:16]


def parameter_table() -> list[dict]:
    """Every parameter: dotted path, default, unit, range, meaning, role (:data:`ROLES`; ``None`` for the
    text fields) and whether it takes whole numbers (``integer``: an ``int``, optional or not)."""
    rows: list[dict] = []

    def walk(cls: type[BaseModel], prefix: str, defaults: BaseModel) -> None:
        for name, info in cls.model_fields.items():
            ann = info.annotation
            path = f"{prefix}{name}"
            value = getattr(defaults, name)
            if path == "pre_plan":  # a second policy block (the burn-in's regime): its parameters are policy's
                continue
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, path + ".", value)
                continue
            extra = info.json_schema_extra or {}
            lo = hi = None
            for m in info.metadata:
                lo = getattr(m, "ge", lo)
                hi = getattr(m, "le", hi)
            extra = extra if isinstance(extra, dict) else {}
            rows.append({
                "path": path, "default": value, "unit": extra.get("unit", ""),
                "lo": lo, "hi": hi, "meaning": info.description or "",
                "role": extra.get("role", SECTION_ROLES.get(path.split(".")[0])),
                "integer": ann is int or ann == (int | None),
            })

    walk(Scenario, "", Scenario())
    return rows

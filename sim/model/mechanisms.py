"""The mechanism registry: each of the plan's instruments declared once.

A :class:`Mechanism` names an instrument (or a procedure of the list machine) with its clause of the
plan, its schema block, the override that switches it off, the parameters a planner moves, the
outputs that show it and the ODD rules that describe it. From this registry come, instead of lists
kept by hand:

* ``sim run SCENARIO --without NAME`` (:func:`without`), the ablation files of
  ``scenarios/ablations/`` (:func:`ablation_yaml`) and the batch of them,
  ``scenarios/batches/ablations.yaml`` (:func:`ablation_batch_yaml`; ``tests/test_mechanisms_registry.py``
  keeps them in step, ``python -m sim.present.generated`` rewrites them);
* the docking test's mutations (each mechanism switched off in one engine only, :data:`MECHANISMS`);
* the explorer's instrument levers (:func:`instrument_levers`);
* the metrics (:data:`sim.model.metrics.METRICS`: :data:`CORE_OUTPUTS` and each mechanism's ``outputs``)
  with their units, zh/en labels (the ``metric.*`` keys of :mod:`sim.present.i18n`), the counters the kernel and
  the engines keep, and the rows ``sim run`` prints;
* the clause table of the README (:func:`clause_table`) and the registry table of ``docs/ODD.md`` §4
  (:func:`mechanisms_table`), kept in step by the same test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.model.vocabulary import NEVER, ListState

__all__ = ["Metric", "Clause", "Mechanism", "CORE_OUTPUTS", "CLAUSES", "MECHANISMS", "ABLATIONS", "get", "without", "ablation_yaml",
           "instrument_levers", "clause_table", "mechanisms_table", "ablation_batch_yaml", "write_ablations"]


@dataclass(frozen=True)
class Metric:
    """An outcome of the model: ``name`` (the column of time series and summaries), ``unit``, its labels in
    Chinese and English (``zh``, ``en``: what reports, figures and notebooks show), ``meaning``, which way
    is ``better`` (``"higher"``, ``"lower"`` or ``None``), where it comes from (``source``: ``"tally"``,
    computed from the month's tally by :func:`sim.model.metrics.month_record`; ``"kernel"``, an event the
    merchant kernel counts, :data:`sim.model.layout.KERNEL_COUNTERS`; ``"engine"``, a count the engine
    keeps), whether a counted value is an ``integer``, and whether ``sim run`` prints it (``table``)."""

    name: str
    unit: str
    zh: str
    en: str
    meaning: str
    better: str | None = None
    source: str = "tally"
    integer: bool = True
    table: bool = False


@dataclass(frozen=True)
class Clause:
    """A clause of the Shahe plan as the model represents it (one row of the README's clause table; the
    parameter and output columns are Markdown)."""

    number: str
    zh: str
    instrument: str
    mechanism: str
    parameters: str
    outputs: str
    switched_off_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mechanism:
    """One mechanism: ``name`` (a slug: ``--without NAME``, ablation ``no_NAME``), its ``clause``, names in
    Chinese and English, ``off`` (the scenario override that switches it off), ``levers`` (parameter paths
    a planner moves), ``ablation`` (the plan is shipped with an ablation without it, with ``description``
    and ``description_zh``), ``docking`` (the docking scenario where its absence from one engine is
    detectable), ``kind``: a plan ``instrument``, a ``procedure`` of the list machine or a
    ``behaviour`` of merchants, ``outputs``: the metrics that show it (:class:`Metric`), ``shows``: the
    metric of ``sim run``'s output that must be larger with it than without (its first output unless
    given; a ``(sector, metric)`` pair for a breakdown), and the fields it
    adds to the merchant's state (``state``, rows as :data:`sim.model.layout.STATE`: name, numpy dtype,
    initial value, meaning) and to the kernel's parameter record (``parameters``, rows as
    :data:`sim.model.layout.PARAMETERS`: name, numpy dtype, value from a compiled scenario, meaning)."""

    name: str
    clause: str
    zh: str
    en: str
    off: dict
    odd: str
    levers: tuple[str, ...] = ()
    ablation: bool = False
    description: str = ""
    description_zh: str = ""
    docking: str = "shahe_plan"
    kind: str = "instrument"
    outputs: tuple[Metric, ...] = ()
    shows: str | tuple[str, str] = ""
    state: tuple = ()
    parameters: tuple = ()

    def evidence(self) -> str | tuple[str, str]:
        """The output that shows this mechanism at work (:attr:`shows`, or the first of :attr:`outputs`)."""
        return self.shows or (self.outputs[0].name if self.outputs else "")


CLAUSES: tuple[Clause, ...] = (
    Clause('1', '事前信用审查',
           'credit review before approvals; red-list fast track; blacklist market ban or service restriction',
           'applicants with a blacklist record refused (S24); fast-track value to red-listed merchants (S6, S19); market ban or restricted trading (S17)',
           '`policy.entry.exante_review`, `policy.incentives.red_list_monthly_value`, `policy.lists.blacklist.market_ban`',
           '`entries_refused`, `incentive_value`, `blacklist_share`',
           ('baseline.yaml',)),
    Clause('2', '信用承诺制度',
           'notify-and-commit approvals; spot checks of commitments; false or broken commitments recorded and punished',
           'applicants sign truthfully or falsely by type; a share of commitments verified; a false one found costs a penalty, score points and a record (S25)',
           '`policy.commitments.*`, `behaviour.unqualified_share`',
           '`commitments_signed`, `false_commitments`, `commitment_breaches`, `approval_days_saved`',
           ()),
    Clause('3', '信用公示制度',
           'publish penalties, check results, list status; objections',
           "published penalties cost demand for 3–36 months (S26); published check results move peers' perceived detection (S3, S22); list status costs demand (S4); objections overturn wrong records after a delay, ending the listings resting on them (S27)",
           '`policy.disclosure.*`, `policy.objections.*`, `policy.inspection.publish_results`, `policy.incentives.blacklist_demand_loss`',
           '`demand_lost_to_disclosure`, `objections`, `records_overturned`, `wrongly_listed` (summed: months wrongly listed), `wrongful_listings_stood`',
           ()),
    Clause('4', '事中分类监管',
           'tiers by credit evaluation; sampling ratio and frequency by tier',
           'score → tier; stratified double-random checks under capacity; random inspectors, imperfect detection, false positives (S1–S3, S14, S15)',
           '`policy.tiers.*`, `policy.inspection.*`, `policy.penalties.*`',
           '`inspections`, `hit_rate`, `burden_on_compliant`, `tier_share_*`',
           ('baseline.yaml',)),
    Clause('5', '事后联合奖惩',
           'blacklist with criteria, appeal, exit; joint punishment; key-attention list',
           'lists with thresholds, recognition delay, appeal, duration, credit repair; joint-punishment multiplier (S5, S6, S17–S21)',
           '`policy.lists.*`, `policy.incentives.*`, `behaviour.appeal_propensity`',
           'list shares and flows, `appeals`, `repairs`, `wrongful_listings`',
           ('no_lists.yaml',)),
    Clause('6', '消费领域',
           'six consumer sectors; special campaigns against severe dishonesty',
           "sectors with their own gains, margins, harm, severity; a campaign multiplies one sector's checks on a schedule (S28)",
           '`population.sectors.*`, `policy.campaign.*`',
           '`campaign_inspections`, breakdowns by sector',
           ()),
    Clause('7', '电子商务',
           'integrity pledges, platform credit archives, product traceability',
           "archives raise detection in e-commerce; traceability raises consumers' reaction to disclosed credit; pledges raise e-commerce merchants' integrity norm, at the start and on entry (S29)",
           '`policy.ecommerce.*`',
           'e-commerce `integrity_awareness`, `detections`, `compliance_rate` (sector breakdown)',
           ()),
    Clause('8', '信用消费',
           'credit-based consumption, credit instead of deposits',
           'extra demand by tier, and its loss weighed in decisions (S30)',
           '`policy.credit_consumption.*`, `behaviour.planning_horizon_months`',
           '`credit_demand`',
           ()),
    Clause('9', '行业自律',
           'association archives, lists, sanctions (warning, criticism, condemnation, refusal)',
           "membership by sector; associations find members' violations, sanction them and expel after repeated sanctions (S31); their own red list commends and recommends clean members, their black list refuses and publicly condemns the expelled (S34)",
           '`policy.associations.*`, `population.sectors.*.association_share`',
           '`association_members`, `association_sanctions`, `association_expulsions`, `association_cost`, `association_red_listed`, `association_black_listed`',
           ()),
    Clause('10', '对外贸易',
           'fake trade, malicious low pricing; credit reports and credit insurance',
           'foreign-trade sector (its violation parameters stand for these violations); credit insurance for red-listed merchants (S32)',
           '`population.sectors.foreign_trade.*`, `policy.trade.credit_insurance_monthly_value`',
           '`incentive_value`, sector breakdown',
           ()),
    Clause('11', '服务贸易',
           'credit review at exhibitions; trusted counterparty recommendation',
           'service-trade sector; demand bonus for recommended red-listed merchants (S32)',
           '`population.sectors.service_trade.*`, `policy.trade.trusted_counterparty_bonus`',
           '`credit_demand`, sector breakdown',
           ()),
    Clause('12', '外商投资',
           'foreign-invested enterprise archives; commit before, classify during, reward/punish after',
           'foreign-invested sector; archives raise detection (S32); before / during / after as for every sector (clauses 1, 2, 4, 5)',
           '`population.sectors.foreign_invested.*`, `policy.trade.investment_archive_detection_multiplier`',
           'sector breakdown',
           ()),
    Clause('13', '制度建设',
           'classification and list standards, procedures',
           'every standard is a validated parameter with unit, range and meaning',
           '`sim/model/schema.py`, `docs/PARAMETERS.md`',
           '—',
           ()),
    Clause('14–15', '学习与宣传',
           'training and integrity publicity',
           "publicity moves each merchant's integrity norm toward 1 every month (S23)",
           '`policy.publicity.intensity`',
           '`integrity_awareness`',
           ()),
)
"""The plan's clauses as the model represents them; ``switched_off_in`` names the shipped scenarios without
the clause's core mechanisms (the ablations of its instruments are added from :data:`MECHANISMS`)."""


CORE_OUTPUTS: tuple[Metric, ...] = (
    Metric('compliance_rate', 'share', '合规率', 'Compliance rate', 'Share of trading merchants that complied this month', better='higher', table=True),
    Metric('violations', 'merchants/month', '违规市场主体数', 'Merchants violating', 'Merchants that violated', better='lower', table=True),
    Metric('severe_violations', 'merchants/month', '严重违规市场主体数', 'Severe violations', 'Merchants that committed a severe violation', better='lower'),
    Metric('inspections', 'checks/month', '双随机抽查次数', 'Spot checks', 'Spot checks made', table=True),
    Metric('inspections_requested', 'checks/month', '按抽查比例和频次应查次数', 'Checks the sampling ratios ask for', 'Checks the sampling ratios asked for', source='engine', integer=False),
    Metric('capacity_shortfall', 'checks/month', '执法力量不足未完成的抽查', 'Checks not made for lack of capacity', 'Requested checks not made for lack of capacity', better='lower', source='engine', integer=False, table=True),
    Metric('hit_rate', 'share', '抽查命中率', 'Hit rate of checks', 'True detections per check', better='higher', table=True),
    Metric('burden_on_compliant', 'checks/month', '对守法市场主体的抽查', 'Checks of compliant merchants', 'Checks of merchants that complied', better='lower', table=True),
    Metric('detections', 'records/month', '查实违规', 'Violations found', 'Violations found by checks'),
    Metric('false_positives', 'records/month', '错误记录', 'False records', 'Violations wrongly recorded against compliant merchants', better='lower'),
    Metric('inspection_cost', 'CNY/month', '抽查成本', 'Inspection cost', 'Cost of the checks made', better='lower', table=True),
    Metric('fines', 'CNY/month', '罚款', 'Fines', 'Fines imposed on recorded violations'),
    Metric('consumer_harm', 'CNY/month', '消费者损害', 'Consumer harm', 'Harm to consumers from violations', better='lower', table=True),
    Metric('blacklist_share', 'share', '黑名单占比', 'Blacklist share', 'Share of merchants on the blacklist', better='lower', table=True),
    Metric('new_blacklistings', 'merchants/month', '新列入黑名单', 'New blacklistings', 'Merchants put on the blacklist', source='kernel'),
    Metric('wrongful_listings', 'merchants/month', '错误列入名单', 'Wrongful listings', 'New listings resting on a false record', better='lower', source='kernel', table=True),
    Metric('entries', 'merchants/month', '新设市场主体', 'Entries', 'New merchants admitted', source='engine'),
    Metric('entries_refused', 'merchants/month', '事前信用审查拒绝', 'Entries refused by credit review', 'Applicants refused by ex-ante credit review', source='engine'),
    Metric('exits', 'merchants/month', '退出市场', 'Exits', 'Merchants that left the market', source='kernel'),
    Metric('merchants', 'merchants', '市场主体数', 'Merchants', 'Merchants in the population (trading or banned)'),
    Metric('incentive_value', 'CNY/month', '红名单激励价值', 'Red-list incentive value', 'Value of red-list incentives: fast-track approvals, and credit insurance for foreign trade', source='engine', integer=False),
    Metric('wrongly_listed', 'merchants', '因错误记录在名单中的市场主体', 'Merchants listed on a false record', 'Merchants on the key-attention list or blacklist on a false record (summed over months: months wrongly listed)', better='lower', table=True),
    Metric('consumer_satisfaction', 'share', '消费满意度（守法商户消费占比）', 'Consumer satisfaction (spending at compliant merchants)', 'Share of consumer spending at merchants that complied', better='higher', table=True),
    Metric('integrity_awareness', 'share', '诚信意识', 'Integrity awareness', 'Mean integrity norm of merchants (0-1)', better='higher', table=True),
    Metric('full_process_share', 'share', '全过程信用监管覆盖率', 'Share under full-process credit supervision', 'Share of trading merchants under before-, in- and after-process credit supervision', better='higher', source='engine', integer=False, table=True),
)
"""Outcomes of the model as a whole (no single mechanism's), in the order reports show them."""


def _off(block: str, **values) -> dict:
    """The override ``{"policy": {block: values}}`` (a dotted ``block`` nests)."""
    out: dict = values
    for part in reversed(block.split(".")):
        out = {part: out}
    return out


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism("commitments", "2", "信用承诺", "credit commitments", _off("policy.commitments", enabled=False), "S25",
              levers=("policy.commitments.enabled", "policy.commitments.check_share"), ablation=True,
              description="The plan without credit commitments (notify-and-commit approvals and their spot checks).",
              description_zh="实施方案，但不实行信用承诺（告知承诺审批及其抽查）。",
              outputs=(
                  Metric('commitments_signed', 'commitments/month', '签署信用承诺', 'Credit commitments signed', 'Credit commitments signed for fast approval (clause 2)', source='kernel', table=True),
                  Metric('false_commitments', 'commitments/month', '虚假信用承诺', 'False commitments', 'Commitments signed by applicants that do not meet the conditions', better='lower', source='kernel', table=True),
                  Metric('commitment_breaches', 'commitments/month', '查实失信承诺', 'False commitments found', 'False commitments found by verification and recorded', source='kernel', table=True),
                  Metric('approval_days_saved', 'days/month', '告知承诺节省审批天数', 'Approval days saved', 'Approval time saved by commitments', better='higher', source='engine', integer=False, table=True),
              )),
    Mechanism("disclosure", "3", "处罚公示", "penalty disclosure", _off("policy.disclosure", enabled=False), "S26",
              levers=("policy.disclosure.enabled", "policy.disclosure.publication_months"), ablation=True,
              description="The plan without publication of penalties (list status and check results stay public).",
              description_zh="实施方案，但不公示行政处罚（名单状态和抽查结果仍公示）。", docking="strict_enforcement",
              outputs=(
                  Metric('demand_lost_to_disclosure', 'CNY/month', '信用公示造成的营业额损失', 'Demand lost to disclosure', 'Revenue merchants lose through disclosure of blacklisting and penalties', table=True),
              )),
    Mechanism("objections", "3", "异议处理", "objections", _off("policy.objections", enabled=False), "S27",
              levers=("policy.objections.enabled",), ablation=True, docking="stress_procedure",
              description="The plan without objection handling: wrong records stand unless a blacklist appeal "
                          "stops the listing.",
              description_zh="实施方案，但不受理异议：错误记录一直保留，除非黑名单认定时申诉成功。",
              outputs=(
                  Metric('objections', 'objections/month', '异议处理申请', 'Objections', 'Objections to recorded information (clause 3)', source='kernel', table=True),
                  Metric('records_overturned', 'records/month', '异议更正的错误记录', 'Records overturned on objection', 'Wrong records removed after an objection', source='kernel', table=True),
                  Metric('wrongful_listings_stood', 'merchants/month', '错误列入名单未经纠正而期满或修复退出', 'Wrongful listings that stood', 'Listings on a false record that ended by expiry or repair, not by an objection', better='lower', source='kernel', table=True),
              )),
    Mechanism("confiscation", "4", "没收违法所得", "confiscation of gains",
              _off("policy.penalties", confiscate_gains=False), "S14", kind="procedure",
              levers=("policy.penalties.confiscate_gains", "policy.penalties.statute_months"),
              outputs=(
                  Metric("confiscated_gains", "CNY/month", "没收违法所得", "Gains confiscated",
                         "Gains of the months violated since the last check, confiscated on a detection "
                         "(within the statute window; included in fines)", source="kernel", integer=False),
              ),
              state=(("unchecked_violations", np.int8, 0,
                      "months violated since the last check, at most the statute window"),),
              parameters=(
                  ("confiscate_on", np.bool_, lambda p: p.scenario.policy.penalties.confiscate_gains,
                   "a detection confiscates the gains since the last check"),
                  ("statute_months", np.int64, lambda p: p.scenario.policy.penalties.statute_months,
                   "statute window of confiscation, months"),
              )),
    Mechanism("false_records", "4", "错误记录", "false records",
              _off("policy.inspection", false_positive_rate=0.0), "S15", kind="procedure", docking="stress_procedure"),
    Mechanism("red_list", "5", "红名单", "red list", _off("policy.lists.red", enabled=False), "S19", kind="procedure",
              outputs=(
                  Metric('red_list_share', 'share', '红名单占比', 'Red list share', 'Share of merchants on the red list', better='higher', table=True),
              )),
    Mechanism("key_attention", "5", "重点关注名单", "key-attention list",
              _off("policy.lists.key_attention", enabled=False), "S18", kind="procedure",
              outputs=(
                  Metric('key_attention_share', 'share', '重点关注对象名单占比', 'Key-attention list share', 'Share of merchants on the key-attention list', better='lower', table=True),
                  Metric('new_key_listings', 'merchants/month', '新列入重点关注对象名单', 'New key-attention listings', 'Merchants put on the key-attention list', source='kernel'),
              )),
    Mechanism("repair", "5", "信用修复", "credit repair", _off("policy.lists.repair", enabled=False), "S21",
              kind="procedure", docking="stress_procedure",
              outputs=(
                  Metric('repairs', 'merchants/month', '信用修复', 'Credit repairs', 'Early list exits by credit repair', source='kernel'),
              )),
    Mechanism("appeals", "5", "申诉", "appeals", {"behaviour": {"appeal_propensity": 0.0}}, "S17", kind="procedure",
              outputs=(
                  Metric('appeals', 'appeals/month', '异议申诉', 'Appeals', 'Appeals against blacklist recognition', source='kernel'),
                  Metric('appeals_won', 'appeals/month', '申诉成功', 'Appeals won', 'Appeals that stopped a listing', source='kernel'),
              )),
    Mechanism("campaign", "6", "专项整治", "special campaign", _off("policy.campaign", enabled=False), "S28",
              levers=("policy.campaign.enabled", "policy.campaign.check_factor"), ablation=True,
              description="The plan without the yearly special campaign in refined oil.",
              description_zh="实施方案，但不开展成品油流通年度专项整治。", docking="stress_procedure",
              outputs=(
                  Metric('campaign_inspections', 'checks/month', '专项整治抽查次数', 'Checks in a special campaign', "Spot checks of merchants in a special campaign's sector (clause 6)", source='engine', table=True),
              )),
    Mechanism("ecommerce", "7", "电子商务信用档案", "e-commerce archives", _off("policy.ecommerce", enabled=False), "S29",
              levers=("policy.ecommerce.enabled",), ablation=True,
              description="The plan without platform credit archives, product traceability and integrity pledges "
                          "in e-commerce.",
              description_zh="实施方案，但电子商务领域无平台信用档案、产品追溯和诚信承诺。", docking="stress_procedure",
              shows=("ecommerce", "integrity_awareness")),
    Mechanism("credit_consumption", "8", "信用消费", "credit consumption",
              _off("policy.credit_consumption", enabled=False), "S30",
              levers=("policy.credit_consumption.enabled",), ablation=True,
              description="The plan without credit consumption (the tier bonus of credit instead of deposits).",
              description_zh="实施方案，但无信用消费（以信用代替押金带来的需求加成）。",
              outputs=(
                  Metric('credit_demand', 'CNY/month', '信用带来的营业额', 'Demand earned by good credit', 'Revenue good credit earns (red-list bonus, credit consumption)', table=True),
              )),
    Mechanism("associations", "9", "行业自律", "associations", _off("policy.associations", enabled=False), "S31",
              levers=("policy.associations.enabled", "policy.associations.detection_probability"), ablation=True,
              description="The plan without industry self-discipline (association monitoring and sanctions).",
              description_zh="实施方案，但无行业自律（行业协会的监督和惩戒）。",
              outputs=(
                  Metric('association_members', 'merchants', '行业协会会员数', 'Association members', 'Merchants in an industry association', table=True),
                  Metric('association_sanctions', 'sanctions/month', '行业协会惩戒', 'Association sanctions', 'Sanctions industry associations impose on members (clause 9)', source='kernel', table=True),
                  Metric('association_expulsions', 'merchants/month', '行业协会拒绝会员', 'Association expulsions', 'Members refused further membership', source='kernel'),
                  Metric('association_cost', 'CNY/month', '行业自律成本', 'Association cost', "Associations' cost of archives and monitoring"),
              )),
    Mechanism("association_lists", "9", "行业红黑名单", "association red and black lists",
              _off("policy.associations.lists", enabled=False), "S34",
              levers=("policy.associations.lists.enabled", "policy.associations.lists.recommendation_bonus",
                      "policy.associations.lists.condemnation_demand_loss"), ablation=True,
              description="The plan with associations that sanction and expel members but keep no red or black "
                          "lists of their own (no commendation, no public condemnation).",
              description_zh="实施方案，但行业协会只惩戒和拒绝会员，不制定自己的红黑名单（无表彰推荐、无公开谴责）。",
              outputs=(
                  Metric("association_commendations", "merchants/month", "行业协会红名单新列入（表彰推荐）",
                         "Association commendations", "Members newly put on their association's red list",
                         source="kernel"),
                  Metric("association_condemnations", "merchants/month", "行业协会黑名单新列入（公开谴责）",
                         "Association condemnations",
                         "Expelled members put on their association's black list and publicly condemned",
                         source="kernel"),
                  Metric("association_red_listed", "merchants", "行业协会红名单市场主体",
                         "On an association's red list", "Members on their association's red list at the end of the month",
                         better="higher", source="kernel", table=True),
                  Metric("association_black_listed", "merchants", "行业协会黑名单市场主体",
                         "On an association's black list",
                         "Merchants on an association's black list (condemnation standing) at the end of the month",
                         source="kernel", table=True),
              ),
              state=(
                  ("assoc_list", np.int8, int(ListState.NONE),
                   "ListState on the association's own lists: NONE, RED (commended) or BLACK (condemned)"),
                  ("assoc_until", np.int16, NEVER,
                   "month the association's last sanction stops barring commendation, or its condemnation ends"),
              ),
              parameters=(
                  ("assoc_lists_on", np.bool_, lambda p: p.scenario.policy.associations.enabled
                   and p.scenario.policy.associations.lists.enabled,
                   "derived: associations keep red and black lists (only when associations are on)"),
                  ("assoc_red_months", np.int64, lambda p: p.scenario.policy.associations.lists.red_clean_months,
                   "months without a record for the association's red list"),
                  ("assoc_red_bonus", np.float64,
                   lambda p: p.scenario.policy.associations.lists.recommendation_bonus,
                   "demand bonus of the association's recommendation, share of revenue"),
                  ("condemnation_loss", np.float64,
                   lambda p: p.scenario.policy.associations.lists.condemnation_demand_loss,
                   "demand lost while condemned by the association, share"),
                  ("condemnation_months", np.int64,
                   lambda p: p.scenario.policy.associations.lists.condemnation_months,
                   "months on the association's black list"),
              )),
    Mechanism("trade", "10-12", "外贸信用激励", "trade incentives", _off("policy.trade", enabled=False), "S32",
              levers=("policy.trade.enabled",), ablation=True,
              description="The plan without trade incentives (credit insurance, trusted counterparties) and "
                          "foreign-investment archives.",
              description_zh="实施方案，但无外贸信用激励（出口信用保险、可信交易对象推荐）和外资企业信用档案。",
              shows="incentive_value", docking="incentive_led"),
    Mechanism("publicity", "14-15", "诚信宣传", "publicity", _off("policy.publicity", intensity=0), "S23",
              levers=("policy.publicity.intensity",), ablation=True,
              description="The plan without integrity publicity and training.",
              description_zh="实施方案，但不开展诚信宣传和培训。", shows="integrity_awareness"),
    Mechanism("peer_norms", "14-15", "同行规范", "norms that follow peers",
              {"behaviour": {"social": {"norm_adaptation_rate": 0.0}}}, "S23", kind="behaviour"),
    Mechanism("capability", "4", "整改", "capability and rectification",
              {"behaviour": {"capability": {"unintended_rate": 0.0}, "careless_violation_rate": 0.0}}, "S36",
              kind="behaviour", docking="stress_procedure",
              outputs=(
                  Metric("unintended_violations", "merchants/month", "非故意违法", "Unintended violations",
                         "Violations a merchant did not choose (records, labelling, storage), included in violations",
                         source="kernel"),
                  Metric("rectifications", "merchants/month", "整改", "Rectifications",
                         "Merchants whose capability improves after a check found a problem", source="kernel"),
              ),
              state=(("slip", np.float32, None, "monthly chance of an unintended violation, 0-1 (capability)"),),
              parameters=(
                  ("rectification", np.float64, lambda p: p.scenario.behaviour.capability.rectification,
                   "share of the chance of unintended violations a finding removes"),
              )),
    Mechanism("complaints", "4", "投诉举报核查", "complaint investigations",
              _off("policy.complaints", enabled=False), "S38", kind="procedure",
              outputs=(
                  Metric("complaint_investigations", "merchants/month", "投诉举报核查", "Complaint investigations",
                         "Violations a consumer complained about that the bureau investigated, apart from checks",
                         source="kernel", table=True),
                  Metric("complaint_records", "merchants/month", "投诉查实", "Complaints upheld",
                         "Complaint investigations that found the violation (a record, as a check's finding)",
                         source="kernel"),
              ),
              parameters=(
                  ("complaints_on", np.bool_, lambda p: p.scenario.policy.complaints.enabled,
                   "complaints are investigated"),
                  ("complaint_rate", np.float64, lambda p: p.scenario.policy.complaints.rate,
                   "chance a minor violation's month draws an investigated complaint, probability/month"),
                  ("complaint_detection", np.float64, lambda p: p.scenario.policy.inspection.detection_probability,
                   "detection probability of a complaint's investigation (the inspectors' mean), 0-1"),
              )),
    Mechanism("own_norms", "14-15", "自身规范", "norms anchored by type and own conduct",
              {"behaviour": {"social": {"anchor_weight": 0.0, "conduct_weight": 0.0, "norm_attention": 0.0}}},
              "S37", kind="behaviour",
              state=(("anchor", np.float32, None, "integrity norm at entry, with any pledge, 0-1 (the norm's anchor)"),
                     ("conduct", np.int8, 1, "what last month's conduct says to the norm (Conduct)")),
              parameters=(
                  ("anchor_weight", np.float64, lambda p: p.scenario.behaviour.social.anchor_weight,
                   "weight of the disposition in the norm's target, share"),
                  ("conduct_weight", np.float64, lambda p: p.scenario.behaviour.social.conduct_weight,
                   "weight of the month's own conduct in the norm's target, share"),
                  ("norm_attention", np.float64, lambda p: p.scenario.behaviour.social.norm_attention,
                   "elasticity of unintended violations to the norm's laxity, x"),
                  ("norm_honest", np.float64, lambda p: p.scenario.behaviour.social.initial_norm.honest,
                   "honest merchants' mean norm at entry, 0-1"),
                  ("norm_strategic", np.float64, lambda p: p.scenario.behaviour.social.initial_norm.strategic,
                   "strategic merchants' mean norm at entry, 0-1"),
                  ("norm_defiant", np.float64, lambda p: p.scenario.behaviour.social.initial_norm.defiant,
                   "defiant merchants' mean norm at entry, 0-1"),
                  ("norm_careless", np.float64, lambda p: p.scenario.behaviour.social.initial_norm.careless,
                   "careless merchants' mean norm at entry, 0-1"),
              )),
    Mechanism("exit_by_profit", "1", "亏损退出", "exit by profit",
              {"population": {"exit_loss_sensitivity": 0.0}}, "S24", kind="behaviour", docking="stress_procedure",
              parameters=(
                  ("exit_loss_sensitivity", np.float64, lambda p: p.scenario.population.exit_loss_sensitivity,
                   "extra exit chance per month's profit lost, probability/month"),
              )),
)
"""Every mechanism, in the order of the plan's clauses."""

ABLATIONS = tuple(m for m in MECHANISMS if m.ablation)
"""Mechanisms shipped with an ablation of the plan (``scenarios/ablations/no_NAME.yaml``)."""


def get(name: str) -> Mechanism:
    """The mechanism called ``name`` (KeyError naming the allowed ones otherwise)."""
    for m in MECHANISMS:
        if m.name == name:
            return m
    raise KeyError(f"unknown mechanism {name!r}; allowed: {', '.join(m.name for m in MECHANISMS)}")


def without(data: dict, names: list[str]) -> dict:
    """A raw scenario ``data`` (a dict as in a scenario file) with the named mechanisms switched off."""
    from sim.model.schema import _merge

    for name in names:
        data = _merge(data, get(name).off)
    return data


def _flow(d: dict) -> str:
    """``{enabled: false}`` (or ``{lists: {enabled: false}}``) as a scenario file writes an override."""
    def val(v):
        if isinstance(v, dict):
            return _flow(v)
        return "false" if v is False else "true" if v is True else repr(v) if isinstance(v, str) else str(v)
    return "{" + ", ".join(f"{k}: {val(v)}" for k, v in d.items()) + "}"


def ablation_yaml(m: Mechanism) -> str:
    """The text of ``scenarios/ablations/no_NAME.yaml``: the Shahe plan with ``m`` switched off."""
    (section, block), = ((s, b) for s, b in m.off.items())
    clause = f"clauses {m.clause}" if "-" in m.clause else f"clause {m.clause}"
    lines = [f"# Ablation: the Shahe plan with one instrument switched off ({clause}), so that `sim run` "
             "shows what it adds.", "extends: ../shahe_plan.yaml", f"name: no_{m.name}", "description: >-",
             f"  {m.description}", f"description_zh: {m.description_zh}", "", f"{section}:"]
    (key, values), = block.items()
    lines.append(f"  {key}: {_flow(values)}")
    return "\n".join(lines) + "\n"


def _covers(mechanism_clause: str, table_clause: str) -> bool:
    """Whether a mechanism's clause label (``"2"``, ``"10-12"``) covers a table row (``"11"``, ``"14–15"``)."""
    def numbers(label: str) -> set[int]:
        lo, _, hi = label.replace("–", "-").partition("-")
        return set(range(int(lo), int(hi or lo) + 1))
    return numbers(table_clause) <= numbers(mechanism_clause)


def instrument_levers() -> tuple[str, ...]:
    """The parameter paths of every instrument's levers, in clause order (the explorer's instrument tab)."""
    return tuple(p for m in MECHANISMS for p in m.levers)


def ablation_batch_yaml() -> str:
    """The text of ``scenarios/batches/ablations.yaml``: the plan against each of its ablations, paired."""
    lines = ["# What each of the plan's instruments adds: the Shahe plan against the plan with one instrument "
             "switched off", "# (scenarios/ablations/), on common random numbers, so differences are paired. "
             "Run with", "#   sim batch scenarios/batches/ablations.yaml          (store: reports/batches/ablations)",
             "#   sim compare reports/batches/ablations --baseline shahe_plan",
             "# Generated from the mechanism registry (python -m sim.present.generated).",
             "name: ablations", "scenarios:                      # relative to this file", "  - ../shahe_plan.yaml"]
    for m in ABLATIONS:
        clause = f"clauses {m.clause}" if "-" in m.clause else f"clause {m.clause}"
        lines.append(f"  - {f'../ablations/no_{m.name}.yaml':<40} # {clause}")
    lines += ["replications: 40", "seed: 0", "seeds: common", "engine: auto"]
    return "\n".join(lines) + "\n"


def write_ablations(scenarios: Path) -> list[Path]:
    """Write every ablation file into ``scenarios/ablations`` and the batch of them into
    ``scenarios/batches/ablations.yaml``; returns the paths."""
    out = []
    for m in ABLATIONS:
        path = scenarios / "ablations" / f"no_{m.name}.yaml"
        path.write_text(ablation_yaml(m), encoding="utf-8")
        out.append(path)
    path = scenarios / "batches" / "ablations.yaml"
    path.write_text(ablation_batch_yaml(), encoding="utf-8")
    return out + [path]


def clause_table() -> str:
    """The README's table of the plan's clauses (Markdown), from :data:`CLAUSES` and :data:`MECHANISMS`."""
    rows = ["| clause | plan instrument | mechanism (ODD) | parameters | outputs that show it | switched off in |",
            "|---|---|---|---|---|---|"]
    for c in CLAUSES:
        off = c.switched_off_in + tuple(f"ablations/no_{m.name}.yaml" for m in ABLATIONS if _covers(m.clause, c.number))
        rows.append(f"| {c.number} {c.zh} | {c.instrument} | {c.mechanism} | {c.parameters} | {c.outputs} | "
                    f"{', '.join(f'`{x}`' for x in off) or '—'} |")
    return "\n".join(rows) + "\n"


def _override_text(d: dict, prefix: str = "") -> str:
    """``{"policy": {"campaign": {"enabled": False}}}`` as ``policy.campaign.enabled=false``."""
    parts = []
    for k, v in d.items():
        if isinstance(v, dict):
            parts.append(_override_text(v, f"{prefix}{k}."))
        else:
            parts.append(f"{prefix}{k}={str(v).lower() if isinstance(v, bool) else v}")
    return ", ".join(parts)


def mechanisms_table() -> str:
    """The ODD's table of the registry (Markdown): each mechanism, its clause, what switches it off, its rule,
    its outputs and its ablation."""
    rows = ["| `--without` | clause | mechanism | 机制 | kind | switched off by | rule | outputs | ablation |",
            "|---|---|---|---|---|---|---|---|---|"]
    for m in MECHANISMS:
        ablation = f"`scenarios/ablations/no_{m.name}.yaml`" if m.ablation else "—"
        outputs = ", ".join(f"`{o.name}`" for o in m.outputs) or "—"
        rows.append(f"| `{m.name}` | {m.clause} | {m.en} | {m.zh} | {m.kind} | `{_override_text(m.off)}` | {m.odd} | "
                    f"{outputs} | {ablation} |")
    return "\n".join(rows) + "\n"

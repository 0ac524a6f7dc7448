"""Chinese and English text of reports, notebooks and figures: one table, built on the plan's glossary.

Every label a reader sees (metric names, units, sectors, tiers, behavioural types, headings, table
headers, axis labels, legend entries and the sentences of the generated summary) is looked up here
by a key, in the chosen language (a metric's labels are declared with it in the mechanism registry,
:mod:`sim.model.mechanisms`). The Chinese terms are those of the glossary of the seed brief
(``../shared/seed/BRIEF.md``): 市场主体, 双随机、一公开, 抽查比例和频次, 红名单, 重点关注对象名单,
黑名单, 联合奖惩, 信用修复, 异议申诉, ...

Sentence templates use ``str.format`` fields; both languages of a template name the same fields
(a test checks it).
"""

from __future__ import annotations

from sim.errors import InputError, Problem
from sim.experiment.statistics import DERIVED
from sim.model.metrics import METRICS
from sim.model.vocabulary import TYPE_LABELS

__all__ = ["LANGS", "TEXT", "t", "check_lang"]

LANGS = ("zh", "en")
"""Report languages: Chinese (the default for the bureau) and English."""

TEXT: dict[str, tuple[str, str]] = {
    # --- metrics: their labels come from the mechanism registry (sim.model.metrics.METRICS) and the derived
    # indicators (sim.experiment.statistics.DERIVED), added below -------------------------------------------
    # --- units -------------------------------------------------------------------------------------------
    "unit.share": ("比例", "share"),
    "unit.merchants/month": ("户/月", "merchants/month"),
    "unit.merchants": ("户", "merchants"),
    "unit.checks/month": ("次/月", "checks/month"),
    "unit.records/month": ("条/月", "records/month"),
    "unit.appeals/month": ("件/月", "appeals/month"),
    "unit.CNY/month": ("元/月", "CNY/month"),
    "unit.checks/merchant/year": ("次/户·年", "checks/merchant/year"),
    "unit.CNY/merchant/month": ("元/户·月", "CNY/merchant/month"),
    "unit.commitments/month": ("份/月", "commitments/month"),
    "unit.days/month": ("天/月", "days/month"),
    "unit.objections/month": ("件/月", "objections/month"),
    "unit.sanctions/month": ("次/月", "sanctions/month"),
    # --- breakdowns ----------------------------------------------------------------------------------------
    "by.sector": ("行业", "Sector"),
    "by.tier": ("信用等级", "Credit tier"),
    "by.type": ("行为类型", "Behavioural type"),
    "sector.household_services": ("家庭服务业", "Household services"),
    "sector.catering_accommodation": ("餐饮住宿业", "Catering and accommodation"),
    "sector.retail": ("零售业", "Retail"),
    "sector.promotions": ("促销活动", "Promotions"),
    "sector.refined_oil": ("成品油流通", "Refined oil"),
    "sector.laundry_dyeing": ("洗染业", "Laundry and dyeing"),
    "sector.ecommerce": ("电子商务", "E-commerce"),
    "sector.foreign_trade": ("对外贸易", "Foreign trade"),
    "sector.service_trade": ("服务贸易", "Service trade"),
    "sector.foreign_invested": ("外商投资企业", "Foreign-invested"),
    "tier.A": ("A级（守信）", "A (good credit)"),
    "tier.B": ("B级（基本守信）", "B (fair)"),
    "tier.C": ("C级（失信风险）", "C (at risk)"),
    "tier.D": ("D级（严重失信）", "D (dishonest)"),
    # --- 2022 targets of the plan (section 一) and what stands for them ----------------------------------
    "target.full_process": ("全过程信用监管基本建立", "Full-process credit supervision in place"),
    "target.joint": ("联合奖惩机制有效运行", "Joint reward and punishment effective"),
    "target.consumer": ("消费信用体系完善、消费者满意度提升", "Consumer credit and satisfaction improved"),
    "target.integrity": ("市场主体诚信意识增强", "Merchants' integrity awareness raised"),
    # --- headings and labels -------------------------------------------------------------------------------
    "report.title": ("商务领域信用监管政策模拟报告", "Credit-based commercial supervision: policy simulation report"),
    "report.subtitle": ("沙河市商务局信用体系建设方案 · 情景比较", "Shahe City Commerce Bureau credit plan · scenario comparison"),
    "head.summary": ("摘要", "Summary"),
    "head.targets": ("2022年工作目标指标", "Indicators of the 2022 targets"),
    "head.differences": ("与基准情景的差异", "Differences from the baseline"),
    "head.timeseries": ("主要指标随时间变化", "Main indicators over time"),
    "head.targets_time": ("2022年目标指标随时间变化", "Indicators of the 2022 targets over time"),
    "head.harm_by_sector": ("分行业消费者损害随时间变化", "Consumer harm by sector over time"),
    "head.breakdowns": ("分行业、分等级、分类型合规率", "Compliance by sector, tier and type"),
    "head.tradeoff": ("合规与监管成本的权衡", "Compliance against inspection effort"),
    "head.table": ("指标汇总表", "Summary table"),
    "head.provenance": ("数据来源与可复现信息", "Provenance"),
    "head.scenarios": ("情景", "Scenarios"),
    "head.settings": ("当前设置与情景文件对照", "Current settings against the scenario file"),
    "label.scenario": ("情景", "Scenario"),
    "label.baseline": ("基准情景", "Baseline"),
    "label.file": ("文件", "File"),
    "label.description": ("说明", "Description"),
    "label.date": ("日期", "Date"),
    "label.code_version": ("代码版本", "Code version"),
    "label.engine": ("计算引擎", "Engine"),
    "label.seed": ("随机种子", "Seed"),
    "label.reps": ("重复次数", "Replications"),
    "label.merchants": ("市场主体数", "Merchants"),
    "label.months": ("模拟月数", "Months"),
    "label.created": ("生成时间", "Created"),
    "label.run_seconds": ("运行时间（秒）", "Run time (s)"),
    "label.overrides": ("参数修改", "Overrides"),
    "label.none": ("无", "none"),
    "label.month": ("月份", "Month"),
    "label.target": ("2022年目标", "2022 target"),
    "label.indicator": ("指标", "Indicator"),
    "label.unit": ("单位", "Unit"),
    "label.metric": ("指标", "Metric"),
    "label.difference": ("差异", "Difference"),
    "label.interval": ("95%区间", "95% interval"),
    "label.relative": ("相对变化", "Relative change"),
    "label.effect": ("效应量", "Effect size"),
    "label.parameter": ("参数", "Parameter"),
    "label.current": ("当前值", "Current"),
    "label.in_file": ("情景文件中", "In the file"),
    "label.changed": ("已修改", "changed"),
    "label.list_shares": ("名单占比", "List shares"),
    "label.band": ("阴影为95%区间", "shaded: 95% interval"),
    "label.relative_to_baseline": ("相对基准情景的变化（%）", "Change against the baseline (%)"),
    "label.not_distinguishable": ("无法区分", "not distinguishable"),
    "label.component": ("来源", "Source"),
    "label.compliance_pp": ("守法率变化（百分点）", "Change in compliance (percentage points)"),
    "label.share": ("占总效应", "Share of the total"),
    "label.total": ("总效应", "Total effect"),
    "label.first_year_total": ("总效应（第一年）", "Total effect (first year)"),
    "caption.decomposition": ("{name}：与基准情景相比守法率变化的来源（最后12个月；每户每年抽查{volume:.2f}次）",
                              "{name}: where its effect on compliance against the baseline comes from (last 12 months; "
                              "{volume:.2f} checks per merchant a year)"),
    "note.decomposition": (
        "从基准情景出发逐项加入本情景的措施：先按本情景的抽查数量在全部市场主体中均匀抽查（抽查数量），再改为本情景"
        "按信用等级和名单分类的抽查（分级分类抽查），再加入红名单、重点关注名单、黑名单及激励（名单与激励），最后加入"
        "其余措施（其他措施）。每项为相邻两次运行按重复配对的差异及其95%区间，各项之和等于总效应。先后顺序会影响各项大小。"
        "“第一年”一行为实施首年的总效应（过渡期），其余各行为稳定期（最后12个月）。",
        "From the baseline, the scenario's measures are added one block at a time: first as many checks as it makes, "
        "spread uniformly over all merchants (more checks), then its checks by tier and list (targeting them), then "
        "its red, key-attention and blacklists and incentives (lists and incentives), then everything else (other "
        "instruments). Each is the paired difference of two consecutive runs with its 95% interval; they add up to "
        "the total. The order matters for the sizes. The first-year row is the total effect in the plan's first "
        "year (its transient); the others are its steady state (last 12 months)."),
    "head.decomposition": ("效应从何而来", "Where the effect comes from"),
    "note.window": ("汇总值为最后12个月的平均值，取各次重复的均值及其95%置信区间。",
                    "Summary values average the last 12 months; mean over replications with its 95% interval."),
    "note.crn": ("各情景使用相同的随机种子（共同随机数），差异按重复配对计算。",
                 "All scenarios use the same seeds (common random numbers), so differences are paired by "
                 "replication."),
    "note.calibration": ("行为参数尚不能由公开数据确定：用简报中的公开数据校准时（sim calibrate scenarios/calibration/public_evidence.csv），"
                         "模型只有在策略型商户很少时才能重现改革前随机抽查约8%的问题发现率，且不能同时重现公开的信用等级分布和随机抽查与定向抽查的差距（J检验拒绝）。"
                         "结果应理解为方向和量级，而非精确预测；可用本地抽查记录校准（sim calibrate）。",
                         "Behavioural parameters are not pinned down by public data: fitted to the brief's public "
                         "figures (sim calibrate scenarios/calibration/public_evidence.csv), the model reproduces the "
                         "pre-reform problem rate of random checks (about 8%) only with few strategic merchants, and "
                         "cannot at the same time reproduce the published tier mixes or the gap between random and "
                         "targeted checks (the J test rejects it). Read the results as directions and orders of "
                         "magnitude, not forecasts; a bureau's own records can be fitted with sim calibrate."),
    "note.arrows": ("↑ ↓：与基准情景的配对差异，其95%区间不含零。", "↑ ↓: paired difference from the baseline whose 95% interval excludes zero."),
    "sent.base": ("基准情景“{base}”下，最后12个月的合规率为{value}，每月抽查{checks}次。",
                  "Under the baseline \"{base}\", compliance over the last 12 months is {value}, with {checks} "
                  "spot checks a month."),
    "sent.share.up": ("“{alt}”下{metric}由{base_value}升至{alt_value}（提高{diff}个百分点，差异的95%区间{lo}至{hi}）。",
                      "{metric}: higher under \"{alt}\", {alt_value} against {base_value} (+{diff} points; 95% "
                      "interval of the difference {lo} to {hi})."),
    "sent.share.down": ("“{alt}”下{metric}由{base_value}降至{alt_value}（降低{diff}个百分点，差异的95%区间{lo}至{hi}）。",
                        "{metric}: lower under \"{alt}\", {alt_value} against {base_value} (-{diff} points; 95% "
                        "interval of the difference {lo} to {hi})."),
    "sent.level.up": ("“{alt}”下{metric}由{base_value}增至{alt_value}（{change}，差异的95%区间{lo}至{hi}）。",
                      "{metric}: higher under \"{alt}\", {alt_value} against {base_value} ({change}; 95% interval "
                      "of the difference {lo} to {hi})."),
    "sent.level.down": ("“{alt}”下{metric}由{base_value}减至{alt_value}（{change}，差异的95%区间{lo}至{hi}）。",
                        "{metric}: lower under \"{alt}\", {alt_value} against {base_value} ({change}; 95% interval "
                        "of the difference {lo} to {hi})."),
    "sent.level.from_zero": ("“{alt}”下{metric}由{base_value}增至{alt_value}（差异的95%区间{lo}至{hi}）。",
                             "{metric}: higher under \"{alt}\", {alt_value} against {base_value} (95% interval "
                             "of the difference {lo} to {hi})."),
    "sent.same": ("“{alt}”与基准情景的{metric}无法区分（差异{diff}，95%区间{lo}至{hi}，包含零）。",
                  "{metric}: \"{alt}\" cannot be told apart from the baseline (difference {diff}; 95% interval "
                  "{lo} to {hi} includes zero)."),
    "sent.best": ("在各备选情景中，“{best}”提高合规率最多，且与次优的“{second}”的差异显著（{diff}个百分点，95%区间{lo}至{hi}）。",
                  "Of the alternatives, \"{best}\" raises compliance most, clearly more than \"{second}\" ({diff} "
                  "points; 95% interval {lo} to {hi})."),
    "sent.best_tie": ("“{best}”与“{second}”提高合规率的幅度无法区分（差异{diff}个百分点，95%区间{lo}至{hi}）。",
                      "\"{best}\" and \"{second}\" raise compliance by amounts that cannot be told apart ({diff} "
                      "points; 95% interval {lo} to {hi})."),
    "sent.capacity": ("注意：“{scenario}”的抽查比例和频次每月要求抽查{asked}次，超出执法力量所能完成的{made}次{excess}%，"
                      "方案的抽查比例并未完全落实。",
                      "Note: \"{scenario}\"'s sampling ratios ask for {asked} checks a month, {excess}% more than "
                      "the {made} its capacity allows: the plan's ratios are not carried out in full."),
    "sent.capacity_none": ("注意：“{scenario}”的抽查比例和频次每月要求抽查{asked}次，但执法力量一次也未能完成。",
                           "Note: \"{scenario}\"'s sampling ratios ask for {asked} checks a month, and its capacity "
                           "allows none of them."),
    "sent.cost_per_point": ("“{alt}”每提高1个百分点合规率，每月多花抽查成本约{cost}。",
                            "Under \"{alt}\", each point of compliance gained costs about {cost} a month in extra "
                            "checks."),
    "sent.no_alternative": ("本报告只有一个情景，没有可比较的备选情景。",
                            "This report has one scenario and no alternative to compare."),
    # --- explore notebook --------------------------------------------------------------------------------
    "tab.checks": ("抽查比例和频次", "Sampling ratio and frequency"),
    "tab.tiers": ("信用等级划分", "Tier cut-offs"),
    "tab.lists": ("红黑名单", "Lists"),
    "tab.incentives": ("联合奖惩", "Joint reward and punishment"),
    "tab.instruments": ("其他政策工具", "Other instruments"),
    "explore.invalid": ("设置无效", "Settings not valid"),
    "explore.running": ("计算中……", "running..."),
    "explore.seconds": ("用时{seconds:.2f}秒", "{seconds:.2f} s"),
}
TEXT |= {f"metric.{m.name}": (m.zh, m.en) for m in METRICS + DERIVED}
TEXT |= {f"type.{name}": labels for name, labels in TYPE_LABELS.items()}


def t(key: str, lang: str, **fields: object) -> str:
    """The text of ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``fields`` if given.

    Unknown keys raise ``KeyError`` (a missing translation is a bug, never a silent fallback).
    """
    zh, en = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**fields) if fields else text


def check_lang(lang: object, source: str = "parameter") -> str:
    """Return ``lang`` if it is one of :data:`LANGS`; else raise :class:`InputError` naming it."""
    if lang not in LANGS:
        raise InputError([Problem(source, "lang", lang, f"one of: {', '.join(LANGS)}")])
    return str(lang)

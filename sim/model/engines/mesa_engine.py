"""The reference engine: one Mesa 3 ``Agent`` per merchant.

Readable rather than fast. Every rule comes from :mod:`sim.model.rules`; this module
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

from sim.model import kernel as K
from sim.model import rules as R
from sim.model.layout import KERNEL_COUNTERS, STATE, World, as_namespace, rows_as_namespaces
from sim.model.metrics import COUNTERS, MonthLog, Months, month_table, tally
from sim.model.params import (
    N_STRATA,
    Params,
    campaign_active,
    draw_entrants,
    draw_merchants,
    initial_peer_compliance,
    plan_checks,
    regimes,
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



class Merchant(mesa.Agent):
    """A market entity (市场主体) under the commerce bureau.

    Its state has the names of :data:`sim.model.layout.STATE` (fixed traits ``sector``, ``mtype``,
    ``revenue``; ``score``, ``tier``, ``list_state``, the record of violations, ``p_hat``, ``norm``,
    association membership, ...) and its month those of :data:`sim.model.layout.MONTH`. Each phase
    method calls the one merchant kernel (:mod:`sim.model.kernel`) on the agent itself, uncompiled,
    with the model's generator as its random stream.
    """

    def __init__(self, model: CreditModel, sector: int, mtype: int, revenue: float, score: float,
                 norm: float, member: bool = False, months_clean: int = 0, slip: float = 0.0,
                 anchor: float | None = None) -> None:
        super().__init__(model)
        for name, _, initial, _ in STATE:
            if initial is not None:
                setattr(self, name, initial)
        self.sector = int(sector)
        self.mtype = int(mtype)
        self.revenue = float(revenue)
        self.score = float(score)
        self.norm = float(norm)
        self.member = bool(member)
        self.months_clean = int(months_clean)
        self.slip = float(np.float32(slip))  # stored as float32, as in the fast engine's state
        self.anchor = float(np.float32(self.norm if anchor is None else anchor))
        self.tier = int(R.tier_of(self.score, *model.p.cuts))
        self.p_hat = model.P.initial_p_hat
        self.stratum = 0
        self.operating = True
        self.violated = self.severe = self.checked = self.detected = self.false_positive = self.breach = False
        self.investigated = False
        self.gain = self.harm = self.fine = self.own_signal = 0.0
        self.unintended = False
        self.revenue_now = self.demand_lost = self.credit_demand = 0.0

    def decide(self) -> None:
        """Comply or violate this month, and apply on a credit commitment (:func:`sim.model.kernel.decide`)."""
        m = self.model
        K.decide(self, self, m.P, m.world, m.rng, m.k)

    def on_check(self, inspector_skill: float) -> None:
        """Checked by an inspector of skill ``inspector_skill`` (detection probability, 0-1)."""
        m = self.model
        K.on_check(self, self, m.P, m.world, inspector_skill, m.rng)

    def update_record(self) -> None:
        """Apply this month's check result to the score and the record (:func:`sim.model.kernel.update_record`)."""
        m = self.model
        K.update_record(self, self, m.P, m.world, m.rng, m.k)

    def update_lists(self) -> None:
        """Recognition, expiry, new listings, red list and credit repair (:func:`sim.model.kernel.update_lists`)."""
        m = self.model
        K.update_lists(self, self, m.P, m.world, m.rng, m.k)

    def learn(self) -> None:
        """Perceived detection (own check, published results) and the integrity norm from this month's peers."""
        m = self.model
        K.learn_belief(self, self, m.P, m.world)
        K.learn_norm(self, m.P, m.peer_compliance[self.sector])

    def update_tier(self) -> None:
        """Public credit evaluation: the month's score and the tier from it."""
        K.close_month(self, self, self.model.P)


class CreditModel(mesa.Model):
    """Merchants under a commerce bureau's credit-based supervision (Mesa reference engine).

    Parameters
    ----------
    params : Params
        Compiled scenario (:func:`sim.model.params.compile_scenario`).
    rng : numpy.random.Generator or int
        Source of every random draw in the run.
    """

    def __init__(self, params: Params, rng: np.random.Generator | int | None = None) -> None:
        super().__init__(rng=rng)
        self.regimes = regimes(params)
        self.month = 0  # month of the current regime (the burn-in's or the scenario's)
        self.now = 0  # months since the run began, burn-in included: the kernel's month stamps
        self.reported = self.regimes[0][2]
        self._set_regime(self.regimes[0][0])
        self.peer_compliance = np.full(len(params.sector_share), initial_peer_compliance(self.scn))
        self.world = World(0, self.sectors, self.tiers, self.strata, self.peer_compliance)
        pol = params.scenario.policy
        self.observer: Callable[[int, dict, list], None] | None = None
        self.log = MonthLog(pol.inspection.cost_per_check, pol.associations.cost_per_member, pol.associations.enabled)
        # the starting population has a clean record of red.clean_months (the plan starts on existing records);
        # entrants start with none
        self._add(draw_merchants(self.p, params.merchants, self.rng), self.scn.policy.lists.red.clean_months)

    def _set_regime(self, params: Params) -> None:
        """Put a regime in force: its parameters and tables, its inspectors (drawn), its published rates; when
        it follows another (the plan after the burn-in, S0), its integrity pledges raise the norms of the
        merchants present."""
        before = getattr(self, "p", None)
        self.p = params
        self.scn = params.scenario
        # the kernel's named records as Python numbers (much faster than numpy scalars in per-agent
        # arithmetic; the same values)
        self.P = as_namespace(params.record)
        self.sectors = rows_as_namespaces(params.sectors)
        self.tiers = rows_as_namespaces(params.tiers)
        ins = self.scn.policy.inspection
        self.inspector_skill = self.rng.uniform(ins.detection_probability - ins.inspector_skill_spread,
                                                ins.detection_probability + ins.inspector_skill_spread,
                                                ins.inspectors)
        published = params.stratum_prob * ins.detection_probability
        self.strata = [SimpleNamespace(true_detection=x, published_detection=x, planned_detection=x)
                       for x in published.tolist()]
        if before is not None:
            boost = (params.norm_boost - before.norm_boost).tolist()
            for a in self.agents:
                a.norm = min(1.0, max(0.0, a.norm + boost[a.sector]))
                a.anchor = float(np.float32(min(1.0, max(0.0, a.anchor + boost[a.sector]))))

    def _add(self, d: dict, months_clean: int = 0) -> None:
        for i in range(len(d["sector"])):
            Merchant(self, d["sector"][i], d["mtype"][i], d["revenue"][i], d["score"][i], d["norm"][i],
                     d["member"][i], months_clean, d["slip"][i], d["anchor"][i])

    # -- 1 ---------------------------------------------------------------------
    def exit_and_entry(self) -> None:
        """Exits (base hazard, higher under market ban), then entry through ex-ante review."""
        leaving = [a for a in self.agents if K.leaves(a, self.P, self.rng, K.profit_lost(a, a, self.world))]
        for a in leaving:
            a.remove()
        self.counters["exits"] = len(leaving)
        new, self.counters["entries"], self.counters["entries_refused"] = draw_entrants(self.p, self.rng)
        for d in new:
            self._add(d)

    # -- 2 ---------------------------------------------------------------------
    def plan_checks(self) -> None:
        """Sort merchants into strata and fix this month's check counts under capacity."""
        self.members: list[list[Merchant]] = [[] for _ in range(N_STRATA)]
        campaign = campaign_active(self.scn, self.month)
        for a in self.agents:  # merchants under market ban sit in strata whose check probability is 0
            a.stratum = stratum_of(a.tier, a.list_state, campaign[a.sector])
            self.members[a.stratum].append(a)
        sizes = np.array([len(s) for s in self.members])
        self.check_counts, true_detection, planned = plan_checks(self.p, sizes, self.rng)
        self.counters.update(planned)
        for row, x in zip(self.strata, true_detection.tolist()):
            row.true_detection = x
        self.world = World(self.now, self.sectors, self.tiers, self.strata, self.peer_compliance)

    # -- 4 ---------------------------------------------------------------------
    def inspect(self) -> None:
        """Double-random checks: merchants drawn without replacement per stratum, inspectors at random."""
        ins = self.scn.policy.inspection
        published = np.zeros(N_STRATA)
        for s, members in enumerate(self.members):
            n = int(self.check_counts[s])
            if members:
                published[s] = n / len(members) * ins.detection_probability
            if n == 0:
                continue
            for idx in self.rng.choice(len(members), size=n, replace=False):
                a = members[idx]
                a.on_check(self.inspector_skill[self.rng.integers(ins.inspectors)])
        if ins.publish_results:
            for row, x in zip(self.strata, published.tolist()):
                row.published_detection = x

    # -- 8 ---------------------------------------------------------------------
    def collect(self) -> None:
        """Count the month (shared definitions in :mod:`sim.model.metrics`) and update peer compliance."""
        # one pass over the agents, then one column per attribute (faster than a pass per attribute)
        get = operator.attrgetter(*(name for name, _, _ in _COLLECTED))
        rows = [get(a) for a in self.agents]
        columns = list(zip(*rows)) if rows else [()] * len(_COLLECTED)
        arrays = {key: np.array(col, dtype=dt) for (_, key, dt), col in zip(_COLLECTED, columns)}
        ls = arrays["list_state"]
        arrays["wrongly_listed"] = arrays.pop("wrong_list") & ((ls == R.KEY) | (ls == R.BLACK))
        pol = self.scn.policy
        red = ls == R.RED
        op = arrays["operating"]
        n_op = np.bincount(arrays["sector"][op], minlength=len(self.peer_compliance))
        n_ok = np.bincount(arrays["sector"][op & ~arrays["violated"]], minlength=len(self.peer_compliance))
        self.peer_compliance = np.where(n_op > 0, n_ok / np.maximum(n_op, 1), self.peer_compliance)
        if not self.reported:
            return
        for name in KERNEL_COUNTERS:
            if name != "exits":  # counted in exit_and_entry
                self.counters[name] = getattr(self.k, name)
        self.counters["approval_days_saved"] = self.k.commitments_signed * pol.commitments.days_saved
        self.counters["incentive_value"] = float(self.p.red_value[arrays["sector"][red]].sum())
        self.log.add(tally(arrays), self.counters)
        if self.observer is not None:  # records of single checks (sim.experiment.records): reads, never draws
            self.observer(self.month, arrays, [a.unique_id for a in self.agents])

    @property
    def records(self) -> list[dict]:
        """The reported months so far, one dict of :data:`sim.model.metrics.METRICS` each (numbers as numpy
        scalars; :func:`sim.model.metrics.month_table`)."""
        totals, _ = month_table(self.log.months())
        return [{k: v[i] for k, v in totals.items()} for i in range(len(self.log.tallies))]

    def step(self) -> None:
        """One month, in the order given in the module docstring."""
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.k = SimpleNamespace(**dict.fromkeys(KERNEL_COUNTERS, 0))
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
        self.now += 1


def run(params: Params, rng: np.random.Generator, on_month: Callable[[], None] | None = None,
        observer: Callable[[int, dict, list], None] | None = None) -> Months:
    """Run one replication with the Mesa engine.

    Returns the reported months' tallies and counts (:class:`sim.model.metrics.Months`;
    :func:`sim.model.metrics.month_table` gives the metrics). ``on_month`` is called after each
    reported month (for progress bars); ``observer(month, arrays, ids)`` after each reported month's count, with
    the per-merchant arrays of :func:`sim.model.metrics.tally` and the merchants' ids in the same order (it reads;
    the numbers are the same with or without it). The burn-in under the pre-plan regime
    (:func:`sim.model.params.regimes`) runs first, unreported; month stamps run on through it.
    """
    model = CreditModel(params, rng=rng)
    model.observer = observer
    for r, (regime, months, reported) in enumerate(model.regimes):
        if r > 0:  # the plan starts after the burn-in (S0)
            model._set_regime(regime)
            model.month = 0
            model.reported = reported
        for _ in range(months):
            model.step()
            if reported and on_month is not None:
                on_month()
    return model.log.months()

"""The fast engine: the one merchant kernel, compiled, over an array of state records.

The merchant's month is :mod:`sim.model.kernel`, compiled by numba from the very source the Mesa engine
runs. What this engine does itself is scheduling:

* **State** is an array of :data:`sim.model.layout.STATE_DTYPE` records (64 bytes per merchant slot). A
  slot whose merchant left is reused by the next entrant.
* **One pass per month.** Each merchant, in one loop, goes through the kernel's phases (decide; be
  checked or not; record; lists; learn; close the month), is tallied, and draws whether it leaves before
  next month; then it is counted into next month's inspection strata. The integrity norm needs the
  whole sector's compliance of the month, known only after the pass, so its update (same phase, same
  numbers) is applied at the start of the next pass, before the merchant decides.
* **Random numbers.** Per-merchant draws are counter-based (:mod:`sim.model.streams`): a hash of
  (replication key, month, slot, purpose), so a merchant's draws do not depend on which thread handles
  it. Population-level draws (entrants, checks per stratum, inspectors' skills) come from the
  replication's numpy generator, as in the Mesa engine.
* **Checks without replacement, in parallel.** Slots are cut into fixed chunks of :data:`CHUNK` slots. A
  stratum's checks are split over chunks by a multivariate hypergeometric draw, then drawn within each
  chunk by sequential selection sampling (Knuth's Algorithm S): together, a uniformly random subset of
  exactly the planned size, as ``rng.choice(..., replace=False)`` gives the Mesa engine.

* **Burn-ins kept.** A run's burn-in under the pre-plan regime depends only on that regime, the behaviour,
  the population and the generator's state, so the process keeps recent ones (:func:`_burnt_in`) and
  continues from a copy when they match: the numbers of stepping it again.
* **Threads.** A month's chunks run in parallel; runs of one chunk instead step side by side in threads,
  one per replication (``serial``: each month in the calling thread, without the interpreter lock).

The chunking is fixed, and per-chunk sums are added in chunk order, so the numbers do not depend on the
number of threads. The random streams differ from the Mesa engine's, so the two agree in distribution,
not draw by draw: ``tests/test_docking.py`` holds them together.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable

import numba
import numpy as np
from numba.core import cgutils
from numba.extending import intrinsic

from sim.model import kernel as K
from sim.model import rules as R
from sim.model.layout import (
    COUNTER_DTYPE,
    MONTH_DTYPE,
    STATE,
    STATE_DTYPE,
    STRATUM_DTYPE,
    World,
)
from sim.model.metrics import COUNTERS, GROUP_OFFSETS, N_GROUPS, SUM_COLUMNS, TALLY_COLUMNS, MonthLog, Months
from sim.model.params import (
    N_STRATA,
    Params,
    campaign_active,
    draw_entrants,
    draw_merchants,
    initial_peer_compliance,
    plan_checks,
    stratum_of,
)
from sim.model.schema import SECTORS
from sim.model.streams import BEFORE_START, Draw, counter, counter_uniform

__all__ = ["run", "burn_in_key", "clear_burn_ins", "BURN_IN_CACHE_BYTES",
           "State", "CHUNK", "bytes_per_merchant", "N_CELLS", "N_PATTERNS", "MONEY_DTYPE"]

CHUNK = 1 << 16
"""Slots per chunk (65,536): the unit of parallel work; fixed, so results do not depend on threads."""

INIT_BLOCK = 4 * CHUNK
"""The starting population is drawn in blocks of this many merchants (262,144), so that drawing
hundreds of millions needs little memory beyond the state."""

MONEY_DTYPE = np.dtype([(name, np.float64) for name in SUM_COLUMNS], align=True)
"""Per chunk and cell: the sums of :data:`sim.model.metrics.SUM_COLUMNS` (CNY, norms, merchants)."""

_U_SELECT, _U_INSPECTOR, _U_EXIT = int(Draw.SELECT), int(Draw.INSPECTOR), int(Draw.EXIT)
_N_SECTORS = len(SECTORS)
_N_TIERS = 4
_N_TYPES = 4
_N_LISTS = 4


@intrinsic
def _borrowed(typingctx, arr):
    """A view of ``arr`` that is not reference-counted, valid while ``arr`` lives.

    The kernel's phases take the month's :class:`~sim.model.layout.World`, a tuple of arrays; numba would
    count a reference to each array at every phase of every merchant (atomic operations on counters the
    threads share, which made the month pass about 1.8 times slower). :func:`_chunk` holds the arrays for
    its whole run, so the phases can borrow them.
    """
    def codegen(context, builder, signature, args):
        src = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        for name in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, name, getattr(src, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    return arr(arr), codegen


def bytes_per_merchant() -> int:
    """Bytes of state per merchant slot (:data:`sim.model.layout.STATE_DTYPE`)."""
    return STATE_DTYPE.itemsize


# ---------------------------------------------------------------------------
# the month's tally, counted by cell and pattern
# ---------------------------------------------------------------------------
# A merchant's month falls in one *cell* (sector x tier x type) and one *pattern*
# (trading and what it did x checked and what was recorded x list state). The
# month pass only adds 1 to (cell, pattern) and the money to the cell; the tally
# of sim.model.metrics (groups x TALLY_COLUMNS) follows exactly from those counts.

N_CELLS = _N_SECTORS * _N_TIERS * _N_TYPES
N_PATTERNS = 4 * 3 * _N_LISTS


@numba.njit(inline="always", cache=True)
def _cell_of(sector, tier, mtype):
    """Cell index (0..159) of a sector, tier and type."""
    return (sector * _N_TIERS + tier) * _N_TYPES + mtype


@numba.njit(inline="always", cache=True)
def _pattern_of(operating, violated, severe, checked, recorded, list_state):
    """Pattern index (0..47): act (0 banned, 1 complied, 2 minor, 3 severe violation) x check (0 none,
    1 checked without record, 2 checked with a record) x list state."""
    act = 0 if not operating else (1 if not violated else (3 if severe else 2))
    chk = 0 if not checked else (2 if recorded else 1)
    return (act * 3 + chk) * _N_LISTS + list_state


def _pattern_columns() -> np.ndarray:
    """(N_PATTERNS, len(TALLY_COLUMNS)) matrix: what each pattern adds to each tally column."""
    out = np.zeros((N_PATTERNS, len(TALLY_COLUMNS)))
    col = {name: j for j, name in enumerate(TALLY_COLUMNS)}
    for act in range(4):
        for chk in range(3):
            for ls in range(_N_LISTS):
                row = out[(act * 3 + chk) * _N_LISTS + ls]
                row[col["merchants"]] = 1
                row[col["operating"]] = act > 0
                row[col["violations"]] = act >= 2
                row[col["severe_violations"]] = act == 3
                row[col["compliant"]] = act == 1
                row[col["inspections"]] = chk > 0
                row[col["burden_on_compliant"]] = chk > 0 and act == 1
                row[col["detections"]] = chk == 2 and act >= 2
                row[col["false_positives"]] = chk == 2 and act == 1
                row[col["serious_findings"]] = chk == 2 and act == 3
                row[col["red"]] = ls == R.RED
                row[col["key_attention"]] = ls == R.KEY
                row[col["blacklist"]] = ls == R.BLACK
    return out


def _cell_groups() -> np.ndarray:
    """(N_CELLS, 3) tally rows of each cell: its sector, tier and type groups."""
    out = np.zeros((N_CELLS, 3), dtype=np.int64)
    for s in range(_N_SECTORS):
        for t in range(_N_TIERS):
            for m in range(_N_TYPES):
                out[_cell_of(s, t, m)] = (GROUP_OFFSETS["sector"] + s, GROUP_OFFSETS["tier"] + t,
                                          GROUP_OFFSETS["type"] + m)
    return out


_PATTERN_COLUMNS = _pattern_columns()
_CELL_GROUPS = _cell_groups()
_SUM_TO_TALLY = np.array([TALLY_COLUMNS.index(c) for c in SUM_COLUMNS], dtype=np.int64)


@numba.njit(nogil=True, cache=True)
def _tally_from_cells_jit(cells, money, pattern_columns, cell_groups, n_groups, sum_to_tally):
    n_chunks, n_cells, n_patterns = cells.shape
    n_cols = pattern_columns.shape[1]
    out = np.zeros((n_groups, n_cols))
    for cell in range(n_cells):
        for pat in range(n_patterns):
            k = 0
            for c in range(n_chunks):
                k += cells[c, cell, pat]
            if k:
                for g in range(3):
                    for j in range(n_cols):
                        out[cell_groups[cell, g], j] += k * pattern_columns[pat, j]
        for j in range(sum_to_tally.shape[0]):
            total = 0.0
            for c in range(n_chunks):  # in chunk order: the same sum whatever the threads
                total += money[c, cell, j]
            for g in range(3):
                out[cell_groups[cell, g], sum_to_tally[j]] += total
    return out


def _tally_from_cells(cells: np.ndarray, money: np.ndarray) -> np.ndarray:
    """The :func:`sim.model.metrics.tally` table from per-chunk (cell, pattern) counts and per-cell sums
    (a :data:`MONEY_DTYPE` array of shape (chunks, cells))."""
    sums = money.view(np.float64).reshape(money.shape + (len(SUM_COLUMNS),))
    return _tally_from_cells_jit(cells, sums, _PATTERN_COLUMNS, _CELL_GROUPS, N_GROUPS, _SUM_TO_TALLY)


@numba.njit(inline="always", cache=True)
def _tally(cells, money, c, m, mo):
    """Count one merchant's month into chunk ``c``'s cell counts and sums (tier before this month's update,
    lists after it, as the Mesa engine's collect)."""
    cell = _cell_of(m.sector, m.tier, m.mtype)
    recorded = mo.detected or mo.false_positive
    cells[c, cell, _pattern_of(mo.operating, mo.violated, mo.severe, mo.checked, recorded, m.list_state)] += 1
    sums = money[c, cell]
    if mo.violated:
        sums.consumer_harm += mo.harm
    if recorded or mo.breach:
        sums.fines += mo.fine
        if recorded and mo.checked:
            sums.check_fines += mo.fine
    if mo.operating:
        sums.revenue += mo.revenue_now
        if not mo.violated:
            sums.revenue_compliant += mo.revenue_now
        sums.demand_lost += mo.demand_lost
        sums.credit_demand += mo.credit_demand
    sums.norm += m.norm
    if m.wrong_list and (m.list_state == R.KEY or m.list_state == R.BLACK):
        sums.wrongly_listed += 1.0
    if m.member:
        sums.members += 1.0


# ---------------------------------------------------------------------------
# the month pass
# ---------------------------------------------------------------------------

Plan = namedtuple("Plan", ["key", "to_check", "counts", "campaign", "campaign_next", "skills", "has_next"])
Plan.__doc__ = """The month's schedule: ``key`` (the replication's draw key), ``to_check[c, s]`` checks to make in
chunk ``c`` and stratum ``s`` among ``counts[c, s]`` merchants, the sectors under a special campaign this
month and next (0/1), the inspectors' skills (0-1), and whether a next month follows (0/1)."""

Out = namedtuple("Out", ["cells", "money", "counters", "counts_next", "month"])
Out.__doc__ = """What a month pass writes, per chunk: (cell, pattern) counts, the sums per cell
(:data:`MONEY_DTYPE`), the kernel's counters (:data:`sim.model.layout.COUNTER_DTYPE`), next month's strata
counts, and one :data:`sim.model.layout.MONTH_DTYPE` record as the month's scratch."""


@numba.njit(parallel=True, cache=True)
def _exits_before_start(key, st, campaign, params, counts, counters):
    """Month 0 only: the exits that open the first month, and the strata counts of those who stay.

    Later months draw their exits at the end of the month before (in :func:`_chunk`), with the same phase.
    ``params`` holds the parameter record (an array of one, so that numba passes it by reference).
    """
    for c in numba.prange(counts.shape[0]):
        _exits_in_chunk(c, key, st, campaign, params, counts, counters)


@numba.njit(nogil=True, cache=True)
def _exits_before_start_serial(key, st, campaign, params, counts, counters):
    """:func:`_exits_before_start` chunk after chunk in the calling thread (see :func:`_month_serial`)."""
    for c in range(counts.shape[0]):
        _exits_in_chunk(c, key, st, campaign, params, counts, counters)


@numba.njit(cache=True)
def _exits_in_chunk(c, key, st, campaign, params, counts, counters):
    """Chunk ``c`` of :func:`_exits_before_start` (a function of its own: numba passes the records in it by
    reference, not through the parallel loop)."""
    P = params[0]
    for i in range(c * CHUNK, min(st.shape[0], (c + 1) * CHUNK)):
        m = st[i]
        if m.alive == 0:
            continue
        if K.leaves(m, P, counter(key, BEFORE_START, i), 0.0):
            m.alive = 0
            counters[c].exits += 1
        else:
            counts[c, stratum_of(m.tier, m.list_state, campaign[m.sector])] += 1


@numba.njit(parallel=True, cache=True)
def _month(st, params, w, plan, out):
    """One month for every merchant slot, chunks in parallel (see :func:`_chunk`); ``params`` holds the
    parameter record (an array of one)."""
    for c in numba.prange(plan.counts.shape[0]):
        _chunk(c, st, params, w, plan, out)


@numba.njit(nogil=True, cache=True)
def _month_serial(st, params, w, plan, out):
    """:func:`_month` chunk after chunk in the calling thread, without the interpreter lock: for runs of one
    chunk stepped side by side in threads (:func:`run` with ``serial``), the same numbers."""
    for c in range(plan.counts.shape[0]):
        _chunk(c, st, params, w, plan, out)


@numba.njit(cache=True, error_model="numpy")
def _chunk(c, st, params, w, plan, out):
    """Chunk ``c`` of :func:`_month`, merchant by merchant: the kernel's phases, selection for checks,
    the tally, and the exit draw and strata of the next month."""
    P = params[0]
    n = st.shape[0]
    w = World(w.now, _borrowed(w.sectors), _borrowed(w.tiers), _borrowed(w.strata), _borrowed(w.peer))
    now = w.now
    left_k = plan.to_check[c].copy()
    left_n = plan.counts[c].copy()
    next_counts = np.zeros(N_STRATA, dtype=np.int64)
    mo = out.month[c]
    k = out.counters[c]
    for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
        m = st[i]
        if m.alive == 0:
            continue
        rng = counter(plan.key, now, i)
        if m.new:
            m.new = False
        elif now > 0:  # the norm update owed from last month
            K.learn_norm(m, P, w.peer[m.sector])
        s = stratum_of(m.tier, m.list_state, plan.campaign[m.sector])
        mo.stratum = s
        K.decide(m, mo, P, w, rng, k)
        # sequential selection sampling within the chunk's stratum
        if left_k[s] > 0 and counter_uniform(rng, _U_SELECT) * left_n[s] < left_k[s]:
            left_k[s] -= 1
            K.on_check(m, mo, P, w, plan.skills[int(counter_uniform(rng, _U_INSPECTOR) * P.inspectors)], rng)
        left_n[s] -= 1
        K.update_record(m, mo, P, w, rng, k)
        K.update_lists(m, mo, P, w, rng, k)
        _tally(out.cells, out.money, c, m, mo)
        K.learn_belief(m, mo, P, w)
        K.close_month(m, mo, P)
        if plan.has_next:
            if K.leaves(m, P, rng, K.profit_lost(m, mo, w)):
                m.alive = 0
                k.exits += 1
            else:
                next_counts[stratum_of(m.tier, m.list_state, plan.campaign_next[m.sector])] += 1
    out.counts_next[c] = next_counts


# ---------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------


class State:
    """The merchants' state records (:data:`sim.model.layout.STATE_DTYPE`) with room to grow by whole chunks."""

    def __init__(self, capacity: int) -> None:
        if capacity > CHUNK:
            capacity = -(-capacity // CHUNK) * CHUNK  # whole chunks
        capacity = max(capacity, 1)
        self.a = np.zeros(capacity, dtype=STATE_DTYPE)

    @property
    def capacity(self) -> int:
        """Slots (merchants present + free)."""
        return len(self.a)

    def n_chunks(self) -> int:
        """Chunks covering the slots."""
        return -(-self.capacity // CHUNK)

    def grow(self, need: int) -> None:
        """Make room for at least ``need`` slots (by at least a quarter, in whole chunks)."""
        old = self.capacity
        new = max(need, old + old // 4)
        new = -(-new // CHUNK) * CHUNK if new > CHUNK else new
        grown = np.zeros(new, dtype=STATE_DTYPE)
        grown[:old] = self.a
        self.a = grown

    def place(self, slots: np.ndarray | slice, d: dict, tier: np.ndarray, p_hat0: float, months_clean: int) -> None:
        """Put new merchants (a :func:`sim.model.params.draw_merchants` dict) into ``slots``."""
        a = self.a
        a[slots] = _NEW_RECORD  # every field's initial value at once (the drawn ones are set below)
        for name in ("sector", "mtype", "revenue", "score", "norm", "member", "slip", "anchor"):
            a[name][slots] = d[name]
        a["tier"][slots] = tier
        a["p_hat"][slots] = p_hat0
        a["months_clean"][slots] = months_clean


_COUNTER_NAMES = COUNTER_DTYPE.names

_NEW_RECORD = np.zeros(1, STATE_DTYPE)
for _name, _, _initial, _ in STATE:
    if _initial is not None:
        _NEW_RECORD[_name] = _initial
_NEW_RECORD = _NEW_RECORD[0]
"""A new merchant's state record before its drawn fields: :data:`sim.model.layout.STATE`'s initial values, 0
elsewhere (the fields :meth:`State.place` sets next)."""


def _split_checks(rng: np.random.Generator, counts: np.ndarray, per_stratum: np.ndarray) -> np.ndarray:
    """Spread each stratum's checks over chunks in proportion to chance (multivariate hypergeometric)."""
    out = np.zeros_like(counts)
    if counts.shape[0] == 1:
        out[0] = per_stratum
        return out
    for s in np.flatnonzero(per_stratum):
        out[:, s] = rng.multivariate_hypergeometric(counts[:, s], int(per_stratum[s]))
    return out


def _strata_table(true_detection: np.ndarray, published: np.ndarray, planned: np.ndarray) -> np.ndarray:
    """The month's stratum table (:data:`sim.model.layout.STRATUM_DTYPE`)."""
    t = np.zeros(N_STRATA, STRATUM_DTYPE)
    t["true_detection"] = true_detection
    t["published_detection"] = published
    t["planned_detection"] = planned
    return t


def _skills(p: Params, rng: np.random.Generator) -> np.ndarray:
    """The regime's inspectors' skills (detection probability, 0-1), drawn from the replication's generator."""
    ins = p.scenario.policy.inspection
    return rng.uniform(ins.detection_probability - ins.inspector_skill_spread,
                       ins.detection_probability + ins.inspector_skill_spread, ins.inspectors)


@numba.njit(parallel=True, cache=True)
def _recount(st, campaign, counts):
    """Strata counts per chunk of the merchants present (``counts``, zeroed by the caller), with ``campaign``
    the sectors under a special campaign: what the last month's pass counted for the month that follows."""
    for c in numba.prange(counts.shape[0]):
        _recount_chunk(c, st, campaign, counts)


@numba.njit(nogil=True, cache=True)
def _recount_serial(st, campaign, counts):
    """:func:`_recount` chunk after chunk in the calling thread (see :func:`_month_serial`)."""
    for c in range(counts.shape[0]):
        _recount_chunk(c, st, campaign, counts)


@numba.njit(nogil=True, cache=True)
def _recount_chunk(c, st, campaign, counts):
    """Chunk ``c`` of :func:`_recount`."""
    for i in range(c * CHUNK, min(st.shape[0], (c + 1) * CHUNK)):
        m = st[i]
        if m.alive != 0:
            counts[c, stratum_of(m.tier, m.list_state, campaign[m.sector])] += 1


class _Carry:
    """What a run hands from one month to the next: the state records and the run-level values around them
    (strata counts per chunk, sector compliance ``peer`` 0-1, exits that open the next month, sectors under a
    campaign, the month stamp, the replication's draw key, the inspectors' skills 0-1, the parameter record and
    the regime's integrity-pledge boost 0-1 per sector)."""

    __slots__ = ("state", "counts", "peer", "exits", "campaign", "now", "key", "skills", "P", "norm_boost", "p_hat0",
                 "serial")

    def copy(self) -> _Carry:
        """A copy whose arrays are the run's own (a cached burn-in is continued from copies)."""
        out = _Carry()
        for name in self.__slots__:
            v = getattr(self, name)
            setattr(out, name, v.copy() if isinstance(v, (np.ndarray, np.generic)) else v)
        state = State(1)
        state.a = self.state.a.copy()
        out.state = state
        return out

    def nbytes(self) -> int:
        """Bytes held by the copy of a carry (the state records dominate)."""
        return self.state.a.nbytes + self.counts.nbytes + 4096


def _start(first: Params, merchants: int, rng: np.random.Generator, serial: bool) -> _Carry:
    """A run's first draws (its key, the inspectors, the starting population) and the exits that open its first
    month, under the first regime ``first``; ``serial``: stepped in the calling thread (:func:`_month_serial`)."""
    c = _Carry()
    c.serial = serial
    c.key = np.uint64(rng.integers(0, 2**63, dtype=np.uint64))
    c.skills = _skills(first, rng)
    c.P = np.array([first.record], dtype=first.record.dtype)
    c.norm_boost = first.norm_boost
    c.p_hat0 = p_hat0 = float(first.record["initial_p_hat"])  # entrants' belief, in every regime
    state = State(merchants)
    for start in range(0, merchants, INIT_BLOCK):
        n = min(INIT_BLOCK, merchants - start)
        d = draw_merchants(first, n, rng)
        slots = slice(start, start + n)
        # within each chunk, slots in order of type and sector (a slot's number carries no meaning): the
        # month loop's branches then follow runs of alike merchants, which the processor predicts well,
        # while every chunk keeps the population's mix (threads get equal work)
        chunk = (np.arange(n) // CHUNK).astype(np.uint8)  # a block holds 4 chunks: the key fits in a byte
        order = np.argsort(chunk * 64 + d["mtype"].astype(np.uint8) * 16 + d["sector"].astype(np.uint8),
                           kind="stable")
        d = {k: v[order] for k, v in d.items()}
        state.place(slots, d, R.tier_of(d["score"], *first.cuts), p_hat0,
                    first.scenario.policy.lists.red.clean_months)
    state.a["new"][:] = False  # nobody owes a norm update at month 0 anyway
    c.state = state
    c.counts = np.zeros((state.n_chunks(), N_STRATA), dtype=np.int64)
    kcount = np.zeros(state.n_chunks(), COUNTER_DTYPE)
    c.campaign = campaign_active(first.scenario, 0)
    (_exits_before_start_serial if serial else _exits_before_start)(c.key, state.a, c.campaign, c.P, c.counts,
                                                                     kcount)
    c.exits = int(kcount["exits"].sum())
    c.peer = np.full(len(SECTORS), initial_peer_compliance(first.scenario))
    c.now = 0  # months since the run began, burn-in included: the kernel's month stamps
    return c


def _enter(c: _Carry, reg: Params, rng: np.random.Generator) -> None:
    """A new regime starts (the plan after the burn-in): its inspectors, its parameters, its integrity pledges
    (S0), and the strata of its first month (its campaigns)."""
    c.skills = _skills(reg, rng)
    c.P = np.array([reg.record], dtype=reg.record.dtype)
    boost = (reg.norm_boost - c.norm_boost)[c.state.a["sector"]]
    c.norm_boost = reg.norm_boost
    a = c.state.a
    alive = a["alive"] == 1
    for name in ("norm", "anchor"):  # a pledge is a standing commitment: it moves the anchor too (S37)
        a[name][alive] = np.clip(a[name][alive] + boost[alive], 0.0, 1.0)
    c.campaign = campaign_active(reg.scenario, 0)
    c.counts = np.zeros((c.state.n_chunks(), N_STRATA), dtype=np.int64)
    (_recount_serial if c.serial else _recount)(a, c.campaign, c.counts)


BURN_IN_CACHE_BYTES = 512 << 20
"""Bytes of burn-ins this process keeps (:func:`_burnt_in`); a burn-in larger than a quarter of this is not kept."""

_burn_ins: OrderedDict = OrderedDict()
_burn_ins_lock = threading.Lock()
burn_in_hits = 0
"""Runs this process continued from a kept burn-in (for tests and benchmarks)."""


def clear_burn_ins() -> None:
    """Forget the burn-ins this process keeps (the next run of each steps its burn-in again)."""
    with _burn_ins_lock:
        _burn_ins.clear()


def burn_in_key(params: Params) -> str:
    """What determines a run's burn-in besides its random numbers (SHA-256, 16 hex characters): the pre-plan
    regime's policy with the scenario's behaviour and population. Scenarios that differ only in the plan's
    levers share it."""
    scn = params.pre_plan.scenario
    dump = scn.model_dump(mode="json")
    doc = {k: dump[k] for k in ("policy", "behaviour", "population")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def _burnt_in(params: Params, rng: np.random.Generator, serial: bool) -> _Carry:
    """The run after its burn-in under the pre-plan regime, and ``rng`` where the burn-in left it.

    A burn-in is a function of :func:`burn_in_key` and the generator's state at the start, so this process keeps
    the last few (:data:`BURN_IN_CACHE_BYTES`) and continues a run from a copy of one when both match: the same
    numbers as stepping the burn-in again, for the plan and its counterfactuals, replications of a batch's sample
    points, and lever moves in the explorer.
    """
    key = (burn_in_key(params), json.dumps(rng.bit_generator.state, sort_keys=True, default=int))
    with _burn_ins_lock:
        hit = _burn_ins.get(key)
        if hit is not None:
            _burn_ins.move_to_end(key)
    if hit is not None:
        global burn_in_hits
        burn_in_hits += 1
        carry, after = hit
        rng.bit_generator.state = after
        c = carry.copy()
        c.serial = serial
        return c
    pre = params.pre_plan
    c = _start(pre, params.merchants, rng, serial)
    _months(c, pre, params.burn_in, True, rng)
    if c.nbytes() <= BURN_IN_CACHE_BYTES // 4:
        with _burn_ins_lock:
            _burn_ins[key] = (c.copy(), rng.bit_generator.state)
            while sum(v[0].nbytes() for v in _burn_ins.values()) > BURN_IN_CACHE_BYTES:
                _burn_ins.popitem(last=False)
    return c


def _months(c: _Carry, reg: Params, n_months: int, then: bool, rng: np.random.Generator,
            log: MonthLog | None = None, on_month: Callable[[], None] | None = None) -> None:
    """Step ``n_months`` months of regime ``reg`` drawing from ``rng``; when ``log`` is given (reported months),
    add each month's tally and counts to it and call ``on_month``. ``then``: another regime follows (the
    merchants' exits are drawn after the last month)."""
    state = c.state
    scn = reg.scenario
    pol = scn.policy
    ins = pol.inspection
    P = c.P
    p_hat0 = c.p_hat0
    reported = log is not None
    sector_rows = slice(GROUP_OFFSETS["sector"], GROUP_OFFSETS["sector"] + len(SECTORS))
    red_col, op_col, ok_col = (TALLY_COLUMNS.index(name) for name in ("red", "operating", "compliant"))
    plan_rates = reg.stratum_prob * ins.detection_probability  # the plan's rates: what merchants look ahead with
    published = plan_rates  # until the first month's results are published
    counts, campaign, peer, exits, now = c.counts, c.campaign, c.peer, c.exits, c.now
    for month in range(n_months):
        last = month + 1 == n_months
        campaign_next = campaign_active(scn, month + 1) if not last else campaign  # (recounted by the next regime)
        counters = dict.fromkeys(COUNTERS, 0)
        counters["exits"] = exits
        # entries through ex-ante review, into free slots
        new, n_new, refused = draw_entrants(reg, rng=rng)
        if n_new:
            free = np.flatnonzero(state.a["alive"] == 0)
            if len(free) < n_new:
                old = state.capacity
                state.grow(old + n_new - len(free))
                free = np.concatenate([free, np.arange(old, state.capacity)])
                counts = np.vstack([counts, np.zeros((state.n_chunks() - len(counts), N_STRATA), np.int64)])
            slots = free[:n_new]
            drawn = [x for x in new if len(x["sector"])]
            d = drawn[0] if len(drawn) == 1 else {k: np.concatenate([x[k] for x in new]) for k in new[0]}
            tier = R.tier_of(d["score"], *reg.cuts)
            state.place(slots, d, tier, p_hat0, 0)
            np.add.at(counts, (slots // CHUNK, stratum_of(tier, R.NONE, campaign[d["sector"]])), 1)
        counters["entries"] = n_new
        counters["entries_refused"] = refused
        # plan the checks
        sizes = counts.sum(axis=0)
        per_stratum, true_det, planned = plan_checks(reg, sizes, rng)
        counters.update(planned)
        if ins.publish_results:
            published = np.where(sizes > 0, per_stratum / np.maximum(sizes, 1), 0.0) * ins.detection_probability
        has_next = int(then or not last)
        plan = Plan(c.key, _split_checks(rng, counts, per_stratum), counts, campaign, campaign_next, c.skills,
                    has_next)
        # the month
        n_chunks = state.n_chunks()
        out = Out(np.zeros((n_chunks, N_CELLS, N_PATTERNS), dtype=np.int32),  # a chunk holds < 2**31 slots
                  np.zeros((n_chunks, N_CELLS), MONEY_DTYPE), np.zeros(n_chunks, COUNTER_DTYPE),
                  np.zeros((n_chunks, N_STRATA), dtype=np.int64), np.zeros(n_chunks, MONTH_DTYPE))
        world = World(now, reg.sectors, reg.tiers, _strata_table(true_det, published, plan_rates), peer)
        (_month_serial if c.serial else _month)(state.a, P, world, plan, out)
        t = _tally_from_cells(out.cells, out.money)
        if reported:
            if n_chunks == 1:  # the one chunk's counters as they are
                counters.update(zip(_COUNTER_NAMES, out.counters[0].item()))
            else:
                counters.update((name, out.counters[name].sum().item()) for name in _COUNTER_NAMES)
            counters["exits"] = exits  # this pass's exits open the next month
            counters["incentive_value"] = float(t[sector_rows, red_col] @ reg.red_value)
            counters["approval_days_saved"] = counters["commitments_signed"] * pol.commitments.days_saved
            log.add(t, counters)
        n_op = t[sector_rows, op_col]
        n_ok = t[sector_rows, ok_col]
        peer = np.where(n_op > 0, n_ok / np.maximum(n_op, 1), peer)
        exits = int(out.counters["exits"].sum())
        counts = out.counts_next
        campaign = campaign_next
        now += 1
        if reported and on_month is not None:
            on_month()
    c.counts, c.campaign, c.peer, c.exits, c.now = counts, campaign, peer, exits, now


def run(params: Params, rng: np.random.Generator, on_month: Callable[[], None] | None = None,
        serial: bool = False) -> Months:
    """Run one replication with the fast engine.

    Same contract as :func:`sim.model.engines.mesa_engine.run`: the reported months' tallies and counts
    (:class:`sim.model.metrics.Months`; :func:`sim.model.metrics.month_table` gives the metrics). ``on_month`` is
    called after each reported month. The burn-in under the pre-plan regime (:func:`sim.model.params.regimes`)
    runs first, unreported; month stamps run on through it. A burn-in this process has stepped before from the
    same generator state is continued, not stepped again (:func:`_burnt_in`). ``serial`` steps the months in the
    calling thread without the interpreter lock (for replications run side by side in threads; the same
    numbers), else the chunks of a month in parallel.
    """
    pol = params.scenario.policy
    log = MonthLog(pol.inspection.cost_per_check, pol.associations.cost_per_member, pol.associations.enabled)
    if params.pre_plan is not None and params.burn_in > 0:
        c = _burnt_in(params, rng, serial)
        _enter(c, params, rng)
    else:
        c = _start(params, params.merchants, rng, serial)
    _months(c, params, params.months, False, rng, log, on_month)
    return log.months()

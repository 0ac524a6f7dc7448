"""The fast engine: the same rules over arrays, one compiled pass per month.

The rules are those of :mod:`sim.rules`, compiled by numba from the same
Python source the Mesa engine calls (:data:`RULES`). What differs is the
orchestration:

* **State** lives in flat arrays of small dtypes (:data:`STATE_FIELDS`, 43 bytes
  per merchant slot). A slot whose merchant left is reused by the next entrant.
* **One pass per month.** Each merchant, in one loop: decide; be checked or not;
  record; lists; tally; learn; new tier; draw whether it leaves before next
  month; count itself into next month's inspection strata. The integrity norm
  needs the whole sector's compliance of the month, known only after the pass,
  so its update (same rule, same numbers) is applied at the start of the
  next pass, before the merchant decides.
* **Random numbers.** Per-merchant draws come from a counter-based generator,
  a hash of (replication key, month, slot, purpose): a merchant's draws do not
  depend on which thread handles it. Population-level draws (entrants,
  checks per stratum, inspectors' skills) come from the replication's numpy
  generator, as in the Mesa engine.
* **Checks without replacement, in parallel.** Slots are cut into fixed chunks of
  :data:`CHUNK` slots. A stratum's checks are split over chunks by a
  multivariate hypergeometric draw, then drawn within each chunk by sequential
  selection sampling (Knuth's Algorithm S): together, a uniformly random
  subset of exactly the planned size, as ``rng.choice(..., replace=False)``
  gives the Mesa engine.

The chunking is fixed, and per-chunk sums are added in chunk order, so the
numbers do not depend on the number of threads. The random streams differ
from the Mesa engine's, so the two agree in distribution, not draw by draw:
``tests/test_docking.py`` holds them together.
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np

from sim import rules as R
from sim.metrics import (
    COUNTERS,
    GROUP_OFFSETS,
    N_GROUPS,
    SUM_COLUMNS,
    T_BLACK,
    T_BURDEN,
    T_COMPLIANT,
    T_DETECTIONS,
    T_FALSE_POSITIVES,
    T_INSPECTIONS,
    T_KEY,
    T_MERCHANTS,
    T_OPERATING,
    T_RED,
    T_SEVERE,
    T_VIOLATIONS,
    TALLY_COLUMNS,
    month_record,
)
from sim.params import CAMPAIGN_STRATA, N_STRATA, Params, campaign_active, draw_merchants, full_process_share
from sim.scenario import SECTORS

__all__ = ["run", "State", "STATE_FIELDS", "CHUNK", "RULES", "bytes_per_merchant"]

CHUNK = 1 << 16
"""Slots per chunk (65,536): the unit of parallel work; fixed, so results do not depend on threads."""

INIT_BLOCK = 4 * CHUNK
"""The starting population is drawn in blocks of this many merchants (262,144), so that drawing
hundreds of millions needs little memory beyond the state."""

STATE_FIELDS = (
    ("alive", np.uint8), ("flags", np.uint8), ("sector", np.int8), ("mtype", np.int8), ("tier", np.int8),
    ("list_state", np.int8), ("revenue", np.float32), ("score", np.float32), ("norm", np.float32),
    ("p_hat", np.float32), ("list_since", np.int16), ("list_until", np.int16), ("pending_until", np.int16),
    ("r1", np.int16), ("r2", np.int16), ("r3", np.int16), ("months_clean", np.int16),
    ("last_repair", np.int16), ("prev_repair", np.int16), ("objection_until", np.int16), ("strikes", np.int8),
)
"""Per-slot state and dtypes. Months are int16 (scenarios run at most 600 months)."""

# flag bits
CLEAN = 1       # no recorded violation since the merchant entered its current list
WRONGFUL = 2    # the pending blacklist recognition rests on a false record
NEW = 4         # entered this month: no norm update from last month is owed
MEMBER = 8      # member of the sector's industry association
WRONG_LIST = 16  # on the key-attention list or blacklist because of a false record

BEFORE_START = 0xFFFF
"""Month number keying the draws made before month 0 (the exits that open the first month)."""

# purposes of per-merchant random draws
(U_CARELESS, U_SEVERE, U_SELECT, U_INSPECTOR, U_DETECT, U_APPEAL, U_APPEAL_WON, U_REPAIR, U_EXIT, U_APPLY,
 U_QUALIFIED, U_VERIFY, U_OBJECT, U_OBJECTION_UPHELD, U_ASSOCIATION) = range(15)

# integer counters kept per chunk
(K_NEW_BLACK, K_NEW_KEY, K_WRONGFUL, K_APPEALS, K_APPEALS_WON, K_REPAIRS, K_EXITS_NEXT, K_SIGNED, K_FALSE_COMMIT,
 K_BREACHES, K_OBJECTIONS, K_OVERTURNED, K_SANCTIONS, K_EXPULSIONS, K_STOOD, N_K) = range(16)

# per-cell sums (CNY, norms, merchants), in sim.metrics.SUM_COLUMNS order
(S_HARM, S_FINES, S_REVENUE, S_REVENUE_COMPLIANT, S_DEMAND_LOST, S_CREDIT_DEMAND, S_NORM, S_WRONGLY_LISTED,
 S_MEMBERS) = range(len(SUM_COLUMNS))
_SUM_TO_TALLY = np.array([TALLY_COLUMNS.index(c) for c in SUM_COLUMNS], dtype=np.int64)

_RULE_NAMES = [n for n in R.__all__ if callable(getattr(R, n)) and n != "stratified_counts"]
RULES = {n: numba.njit(inline="always", cache=True)(getattr(R, n)) for n in _RULE_NAMES}
"""The functions of :mod:`sim.rules`, compiled by numba from the very same source."""

_severe_share = RULES["severe_share"]
_exit_hazard = RULES["exit_hazard"]
_careless_violates = RULES["careless_violates"]
_records_in_window = RULES["records_in_window"]
_blacklist_if_recorded = RULES["blacklist_if_recorded"]
_consequence_ratio = RULES["consequence_ratio"]
_expected_sanction = RULES["expected_sanction"]
_defiant_complies = RULES["defiant_complies"]
_moral_cost = RULES["moral_cost"]
_strategic_complies = RULES["strategic_complies"]
_honest_complies = RULES["honest_complies"]
_effective_revenue = RULES["effective_revenue"]
_credit_bonus = RULES["credit_bonus"]
_demand_kept = RULES["demand_kept"]
_penalty_published = RULES["penalty_published"]
_association_sanction = RULES["association_sanction"]
_commits_falsely = RULES["commits_falsely"]
_drop_record = RULES["drop_record"]
_consumer_harm = RULES["consumer_harm"]
_score_after = RULES["score_after"]
_fine_due = RULES["fine_due"]
_blacklist_trigger = RULES["blacklist_trigger"]
_key_trigger = RULES["key_trigger"]
_red_eligible = RULES["red_eligible"]
_repair_eligible = RULES["repair_eligible"]
_score_on_exit = RULES["score_on_exit"]
_update_belief = RULES["update_belief"]
_update_norm = RULES["update_norm"]
_tier_of = RULES["tier_of"]

_G_SECTOR = GROUP_OFFSETS["sector"]
_G_TIER = GROUP_OFFSETS["tier"]
_G_TYPE = GROUP_OFFSETS["type"]
_N_SECTORS = len(SECTORS)
_NEVER = R.NEVER
_HONEST, _STRATEGIC, _DEFIANT, _CARELESS = R.HONEST, R.STRATEGIC, R.DEFIANT, R.CARELESS
_NONE, _RED, _KEY, _BLACK = R.NONE, R.RED, R.KEY, R.BLACK
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_GOLD16 = np.uint64(0x9E3779B97F4A7C15 * 16 % 2**64)
_S30, _S27, _S31, _S11, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def bytes_per_merchant() -> int:
    """Bytes of state per merchant slot (sum of the :data:`STATE_FIELDS` dtypes)."""
    return sum(np.dtype(dt).itemsize for _, dt in STATE_FIELDS)


# ---------------------------------------------------------------------------
# counter-based random numbers
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def _mix(z):
    """SplitMix64 finaliser: a bijective 64-bit hash."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always", cache=True)
def _base(key, month, slot):
    """Counter of one merchant's draws in one month: ``key + ((month << 32 | slot) << 4) * golden``.

    Draw ``purpose`` (0-15) is SplitMix64 at position ``counter + purpose``: one
    hash per draw, and distinct (month, slot, purpose) never share a position.
    """
    return key + ((np.uint64(month) << _S32) | np.uint64(slot)) * _GOLD16


@numba.njit(inline="always", cache=True)
def _uniform(base, purpose):
    """Uniform draw in [0, 1) for one purpose (53 random bits)."""
    return np.float64(np.int64(_mix(base + np.uint64(purpose + 1) * _GOLD) >> _S11)) * _TO_UNIT


# ---------------------------------------------------------------------------
# the month's tally, counted by cell and pattern
# ---------------------------------------------------------------------------
# A merchant's month falls in one *cell* (sector x tier x type) and one *pattern*
# (trading and what it did x checked and what was recorded x list state). The
# month pass only adds 1 to (cell, pattern) and the money to the cell; the tally
# of sim.metrics (groups x TALLY_COLUMNS) follows exactly from those counts.

N_CELLS = len(SECTORS) * 4 * 4
N_PATTERNS = 4 * 3 * 4


@numba.njit(inline="always", cache=True)
def _cell_of(sector, tier, mtype):
    """Cell index (0..159) of a sector, tier and type."""
    return (sector * 4 + tier) * 4 + mtype


@numba.njit(inline="always", cache=True)
def _pattern_of(operating, violated, severe, checked, recorded, list_state):
    """Pattern index (0..47): act (0 banned, 1 complied, 2 minor, 3 severe violation) x check (0 none,
    1 checked without record, 2 checked with a record) x list state."""
    act = 0 if not operating else (1 if not violated else (3 if severe else 2))
    chk = 0 if not checked else (2 if recorded else 1)
    return (act * 3 + chk) * 4 + list_state


def _pattern_columns() -> np.ndarray:
    """(N_PATTERNS, len(TALLY_COLUMNS)) matrix: what each pattern adds to each tally column."""
    out = np.zeros((N_PATTERNS, len(TALLY_COLUMNS)))
    for act in range(4):
        for chk in range(3):
            for ls in range(4):
                row = out[(act * 3 + chk) * 4 + ls]
                row[T_MERCHANTS] = 1
                row[T_OPERATING] = act > 0
                row[T_VIOLATIONS] = act >= 2
                row[T_SEVERE] = act == 3
                row[T_COMPLIANT] = act == 1
                row[T_INSPECTIONS] = chk > 0
                row[T_BURDEN] = chk > 0 and act == 1
                row[T_DETECTIONS] = chk == 2 and act >= 2
                row[T_FALSE_POSITIVES] = chk == 2 and act == 1
                row[T_RED] = ls == R.RED
                row[T_KEY] = ls == R.KEY
                row[T_BLACK] = ls == R.BLACK
    return out


def _cell_groups() -> np.ndarray:
    """(N_CELLS, 3) tally rows of each cell: its sector, tier and type groups."""
    out = np.zeros((N_CELLS, 3), dtype=np.int64)
    for s in range(len(SECTORS)):
        for t in range(4):
            for m in range(4):
                out[(s * 4 + t) * 4 + m] = (_G_SECTOR + s, _G_TIER + t, _G_TYPE + m)
    return out


_PATTERN_COLUMNS = _pattern_columns()
_CELL_GROUPS = _cell_groups()


@numba.njit(cache=True)
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
    """The :func:`sim.metrics.tally` table from per-chunk (cell, pattern) counts and per-cell sums
    (:data:`sim.metrics.SUM_COLUMNS`: CNY, norms, merchants)."""
    return _tally_from_cells_jit(cells, money, _PATTERN_COLUMNS, _CELL_GROUPS, N_GROUPS, _SUM_TO_TALLY)


# ---------------------------------------------------------------------------
# the month pass
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def _recognise(base, ls, f, appeal_prop, appeal_success):
    """End of a blacklist recognition delay: the candidate may appeal; a wrongful record may win.

    Returns the list state, flags, and whether it appealed and won (0/1). Mirrors
    ``Merchant._recognise_blacklist`` of the Mesa engine.
    """
    appealed = 0
    won = 0
    if _uniform(base, U_APPEAL) < appeal_prop:
        appealed = 1
        if (f & WRONGFUL) and _uniform(base, U_APPEAL_WON) < appeal_success:
            won = 1
    if not won:
        ls = _BLACK
        f |= CLEAN
    return ls, f, appealed, won


@numba.njit(parallel=True, cache=True)
def _exits_before_start(key, alive, list_state, tier, sector, campaign, exit_rate, ban, banned_mult, counts, kcount):
    """Month 0 only: the exits that open the first month, and the strata counts of those who stay.

    Later months draw their exits at the end of the month before (in :func:`_chunk`), with the same rule.
    """
    n = alive.shape[0]
    for c in numba.prange(counts.shape[0]):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            if alive[i] == 0:
                continue
            ls = list_state[i]
            hazard = _exit_hazard(exit_rate, ban and ls == _BLACK, banned_mult)
            if _uniform(_base(key, BEFORE_START, i), U_EXIT) < hazard:
                alive[i] = 0
                kcount[c, K_EXITS_NEXT] += 1
            else:
                counts[c, (campaign[sector[i]] * 4 + tier[i]) * 4 + ls] += 1


@numba.njit(parallel=True, cache=True)
def _month(key, now, st, sector_f, strata_f, policy_f, policy_i, skills, to_check, counts_now, peer_prev,
           cells, money, kcount, counts_next, tier_bonus, campaign_now, campaign_next):
    """One month for every merchant slot (see the module docstring for the order), chunks in parallel.

    ``st`` is the tuple of state arrays in :data:`STATE_FIELDS` order;
    ``sector_f`` rows: margin, gain share, harm per gain, severe share,
    detection factor, red-list value, red-list bonus, consumers' information;
    ``tier_bonus`` the credit-consumption bonus per tier; ``campaign_now`` and
    ``campaign_next`` the sectors under a special campaign this month and next;
    ``strata_f`` rows: true detection, published detection
    (per stratum); ``policy_f``/``policy_i`` the scalar parameters (see
    :func:`_pack`). ``to_check[c, s]`` checks to make in chunk ``c``, stratum
    ``s``, among ``counts_now[c, s]`` merchants. Writes the chunk's cell
    counts and money (see :func:`_tally_from_cells`), counters and next
    month's strata counts.
    """
    for c in numba.prange(counts_now.shape[0]):
        _chunk(c, key, now, st, sector_f, strata_f, policy_f, policy_i, skills, to_check, counts_now, peer_prev,
               cells, money, kcount, counts_next, tier_bonus, campaign_now, campaign_next)


@numba.njit(cache=True, error_model="numpy")
def _chunk(c, key, now, st, sector_f, strata_f, policy_f, policy_i, skills, to_check, counts_now, peer_prev,
           cells, money, kcount, counts_next, tier_bonus, campaign_now, campaign_next):
    """Chunk ``c`` of :func:`_month`, merchant by merchant."""
    (alive, flags, sector, mtype, tier, list_state, revenue, score, norm, p_hat, list_since, list_until,
     pending_until, r1, r2, r3, months_clean, last_repair, prev_repair, objection_until, strikes) = st
    margin = sector_f[0]
    gain_share = sector_f[1]
    harm_per_gain = sector_f[2]
    sector_severe = sector_f[3]
    det_factor = sector_f[4]
    red_value_s = sector_f[5]
    red_bonus_s = sector_f[6]
    information = sector_f[7]
    true_det = strata_f[0]
    published = strata_f[1]
    (black_loss, joint_mult, cons_weight, fine_multiple, risk_aversion, defiant_min,
     defiant_multiple, defiant_severe_mult, careless_rate, influence, collapse_norm, norm_rate, learn_rate,
     own_weight, severe_harm_multiple, fp_rate, appeal_prop, appeal_success, repair_prob, loss_minor,
     loss_severe, recovery, red_min, key_max, black_max, exit_score, exit_rate, banned_mult, cut_a, cut_b,
     cut_c, publicity, pub_months, pen_loss, horizon, commit_rate, unqualified, check_share, commit_penalty,
     approval_value, commit_loss, objection_prop, objection_success, assoc_detection, assoc_multiple) = policy_f
    (red_on, key_on, black_on, ban, full_info, repeat_n, repeat_window, black_months, key_months,
     delay, red_clean, repair_on, repair_min_listed, repair_between, repair_max36, n_inspectors, disclosure_on,
     commit_on, objections_on, objection_delay, expel_after, has_next) = policy_i
    n = alive.shape[0]
    left_k = to_check[c].copy()
    left_n = counts_now[c].copy()
    next_counts = np.zeros(N_STRATA, dtype=np.int64)
    n_black = n_key = n_wrongful = n_appeals = n_won = n_repairs = n_exits = 0
    n_signed = n_false = n_breach = n_objections = n_overturned = n_sanctions = n_expelled = n_stood = 0
    for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
        if alive[i] == 0:
            continue
        base = _base(key, now, i)
        s = sector[i]
        mt = mtype[i]
        ls = list_state[i]
        f = np.int64(flags[i])
        # norm update owed from last month (same rule as Mesa's learn, applied one step later)
        if f & NEW:
            f &= ~NEW
        elif now > 0:
            norm[i] = _update_norm(norm[i], peer_prev[s], norm_rate, publicity)
        stratum = (campaign_now[s] * 4 + tier[i]) * 4 + ls
        # -- decide
        is_red = ls == _RED
        is_black = ls == _BLACK
        operating = not (is_black and ban != 0)
        violated = False
        severe = False
        breach = False
        gain = 0.0
        harm = 0.0
        rev = 0.0
        credit_demand = 0.0
        demand_lost = 0.0
        if operating:
            info = information[s]
            base_rev = np.float64(revenue[i])
            published_pen = _penalty_published(now, r1[i], pub_months, disclosure_on)
            bonus = _credit_bonus(is_red, red_bonus_s[s], tier_bonus[tier[i]], info)
            kept = _demand_kept(is_black, black_loss, published_pen, pen_loss, info)
            rev = _effective_revenue(base_rev, bonus, kept)
            credit_demand = base_rev * bonus * kept
            demand_lost = base_rev * (1.0 + bonus) - rev
            sev_share = _severe_share(sector_severe[s], mt == _DEFIANT, defiant_severe_mult)
            if mt == _CARELESS:
                ok = not _careless_violates(_uniform(base, U_CARELESS), careless_rate)
            elif mt == _HONEST and _honest_complies(np.float64(norm[i]), collapse_norm, False):
                ok = True  # an honest merchant whose norm holds complies whatever the sanction
            else:
                if full_info:
                    ph = true_det[stratum] * det_factor[s]
                else:
                    ph = np.float64(p_hat[i])
                n_rec = _records_in_window(r1[i], r2[i], r3[i], now, repeat_window)
                p_bl = _blacklist_if_recorded(1.0 if is_black else sev_share, n_rec, repeat_n, black_on)
                loss = loss_minor + sev_share * (loss_severe - loss_minor)
                tier_after = _tier_of(max(0.0, np.float64(score[i]) - loss), cut_a, cut_b, cut_c)
                cons = _consequence_ratio(p_bl, black_months, margin[s], gain_share[s], black_loss, joint_mult,
                                          is_red and red_on != 0, red_clean, red_value_s[s], red_bonus_s[s], rev,
                                          cons_weight, pub_months, disclosure_on * pen_loss,
                                          tier_bonus[tier[i]] - tier_bonus[tier_after], horizon, info)
                sanction = (_expected_sanction(ph, fine_multiple, cons, risk_aversion)
                            + _association_sanction((f & MEMBER) != 0, assoc_detection, assoc_multiple,
                                                    risk_aversion))
                if mt == _DEFIANT:
                    ok = _defiant_complies(ph, sanction, defiant_min, defiant_multiple)
                else:
                    moral = _moral_cost(np.float64(norm[i]), influence, peer_prev[s])
                    ok = _strategic_complies(sanction, moral)
                    if mt == _HONEST:
                        ok = _honest_complies(np.float64(norm[i]), collapse_norm, ok)
            if not ok:
                violated = True
                severe = _uniform(base, U_SEVERE) < sev_share
                gain = gain_share[s] * rev
                harm = _consumer_harm(gain, harm_per_gain[s], severe, severe_harm_multiple)
            # -- an approval on a credit commitment (Mesa: Merchant.apply_on_commitment)
            if commit_on != 0 and not is_black and _uniform(base, U_APPLY) < commit_rate:
                signs = True
                if _uniform(base, U_QUALIFIED) < unqualified:
                    moral = _moral_cost(np.float64(norm[i]), influence, peer_prev[s])
                    signs = _commits_falsely(mt, np.float64(norm[i]), collapse_norm, moral, check_share,
                                             commit_penalty, risk_aversion, defiant_min, defiant_multiple)
                    if signs:
                        n_false += 1
                        if _uniform(base, U_VERIFY) < check_share:
                            breach = True
                            n_breach += 1
                if signs:
                    n_signed += 1
        # -- inspect: sequential selection sampling within the chunk's stratum
        checked = False
        detected = False
        false_pos = False
        own_signal = 0.0
        if left_k[stratum] > 0:
            if _uniform(base, U_SELECT) * left_n[stratum] < left_k[stratum]:
                checked = True
                left_k[stratum] -= 1
        left_n[stratum] -= 1
        if checked:
            skill = min(1.0, skills[int(_uniform(base, U_INSPECTOR) * n_inspectors)] * det_factor[s])
            own_signal = skill
            if violated:
                detected = _uniform(base, U_DETECT) < skill
            else:
                false_pos = _uniform(base, U_DETECT) < fp_rate
        # -- record
        recorded = detected or false_pos
        severe_rec = detected and severe
        sc = _score_after(np.float64(score[i]), recorded, severe_rec, loss_minor, loss_severe, recovery, breach,
                          commit_loss)
        fine = 0.0
        if recorded or breach:
            if recorded:
                g = gain if detected else gain_share[s] * revenue[i]
                fine = _fine_due(g, fine_multiple)
            if breach:
                fine += _fine_due(approval_value, commit_penalty)
            r3[i] = r2[i]
            r2[i] = r1[i]
            r1[i] = now
            months_clean[i] = 0
            f &= ~CLEAN
            if detected or breach:
                f &= ~WRONG_LIST
            elif (objections_on != 0 and objection_until[i] == _NEVER
                  and _uniform(base, U_OBJECT) < objection_prop):
                objection_until[i] = now + objection_delay
                n_objections += 1
        else:
            months_clean[i] += 1
        if (f & MEMBER) and violated and _uniform(base, U_ASSOCIATION) < assoc_detection:
            strikes[i] += 1
            n_sanctions += 1
            if strikes[i] >= expel_after:
                f &= ~MEMBER
                n_expelled += 1
        false_pos_only = false_pos and not breach
        recorded_v = recorded
        recorded = recorded or breach
        # -- lists
        if objection_until[i] != _NEVER and now >= objection_until[i]:
            record_month = objection_until[i] - objection_delay
            objection_until[i] = _NEVER
            if _uniform(base, U_OBJECTION_UPHELD) < objection_success:
                n_overturned += 1
                a1, a2, a3 = _drop_record(r1[i], r2[i], r3[i], record_month)
                r1[i] = a1
                r2[i] = a2
                r3[i] = a3
                sc = min(100.0, sc + loss_minor)
                if pending_until[i] != _NEVER and (f & WRONGFUL) and pending_until[i] - delay == record_month:
                    pending_until[i] = _NEVER  # the recognition rested on the record just removed
                if (f & WRONG_LIST) and (ls == _KEY or ls == _BLACK):
                    ls = _NONE
                    f &= ~WRONG_LIST
                elif ls == _KEY or ls == _BLACK:
                    duration = key_months if ls == _KEY else black_months
                    if list_until[i] == record_month + duration:  # the false record renewed it: undo that
                        list_until[i] = max(list_since[i], r1[i]) + duration
        if pending_until[i] != _NEVER and now >= pending_until[i]:
            pending_until[i] = _NEVER
            ls, f, appealed, won = _recognise(base, ls, f, appeal_prop, appeal_success)
            n_appeals += appealed
            n_won += won
            if not won:  # _recognise put the merchant on the blacklist
                list_since[i] = now
                list_until[i] = now + black_months
                n_black += 1
                n_wrongful += (f & WRONGFUL) != 0
                f = (f | WRONG_LIST) if (f & WRONGFUL) else (f & ~WRONG_LIST)
        if (ls == _KEY or ls == _BLACK) and now >= list_until[i]:
            ls = _NONE
            n_stood += (f & WRONG_LIST) != 0
            f &= ~WRONG_LIST
            sc = _score_on_exit(sc, exit_score)
        if ls == _BLACK and recorded:
            list_until[i] = now + black_months
        n_rec = _records_in_window(r1[i], r2[i], r3[i], now, repeat_window)
        if (black_on != 0 and ls != _BLACK and pending_until[i] == _NEVER
                and _blacklist_trigger(severe_rec, n_rec, repeat_n, sc, black_max)):
            if false_pos:
                f |= WRONGFUL
            else:
                f &= ~WRONGFUL
            pending_until[i] = now + delay
            if delay == 0:
                pending_until[i] = _NEVER
                ls, f, appealed, won = _recognise(base, ls, f, appeal_prop, appeal_success)
                n_appeals += appealed
                n_won += won
                if not won:
                    list_since[i] = now
                    list_until[i] = now + black_months
                    n_black += 1
                    n_wrongful += (f & WRONGFUL) != 0
                    f = (f | WRONG_LIST) if (f & WRONGFUL) else (f & ~WRONG_LIST)
        if key_on != 0 and ls != _BLACK and _key_trigger(recorded, sc, key_max):
            if ls != _KEY:
                ls = _KEY
                list_since[i] = now
                list_until[i] = now + key_months
                f |= CLEAN
                f = (f | WRONG_LIST) if false_pos_only else (f & ~WRONG_LIST)
                n_key += 1
                n_wrongful += false_pos
            elif recorded:
                list_until[i] = now + key_months
        if red_on != 0:
            if ls == _RED and (recorded or sc < red_min):
                ls = _NONE
            elif ls == _NONE and _red_eligible(sc, months_clean[i], red_min, red_clean):
                ls = _RED
        if (repair_on != 0 and (ls == _KEY or ls == _BLACK)
                and _repair_eligible(now, list_since[i], (f & CLEAN) != 0, last_repair[i], prev_repair[i],
                                     repair_min_listed, repair_between, repair_max36)
                and _uniform(base, U_REPAIR) < repair_prob):
            ls = _NONE
            n_stood += (f & WRONG_LIST) != 0
            f &= ~WRONG_LIST
            sc = _score_on_exit(sc, exit_score)
            prev_repair[i] = last_repair[i]
            last_repair[i] = now
            n_repairs += 1
        # -- tally (tier before this month's update, lists after it, as Mesa's collect)
        cell = _cell_of(s, tier[i], mt)
        cells[c, cell, _pattern_of(operating, violated, severe, checked, recorded_v, ls)] += 1
        if violated:
            money[c, cell, S_HARM] += harm
        if recorded:
            money[c, cell, S_FINES] += fine
        if operating:
            money[c, cell, S_REVENUE] += rev
            if not violated:
                money[c, cell, S_REVENUE_COMPLIANT] += rev
            money[c, cell, S_DEMAND_LOST] += demand_lost
            money[c, cell, S_CREDIT_DEMAND] += credit_demand
        money[c, cell, S_NORM] += norm[i]
        if (f & WRONG_LIST) and (ls == _KEY or ls == _BLACK):
            money[c, cell, S_WRONGLY_LISTED] += 1.0
        if f & MEMBER:
            money[c, cell, S_MEMBERS] += 1.0
        # -- learn (belief now; the norm at the start of next month), new tier
        pub = published[stratum] * det_factor[s]
        p_hat[i] = _update_belief(np.float64(p_hat[i]), own_signal, pub, learn_rate, own_weight)
        score[i] = sc
        list_state[i] = ls
        tier[i] = _tier_of(sc, cut_a, cut_b, cut_c)
        flags[i] = f
        if has_next != 0:
            hazard = _exit_hazard(exit_rate, ban != 0 and ls == _BLACK, banned_mult)
            if _uniform(base, U_EXIT) < hazard:
                alive[i] = 0
                n_exits += 1
            else:
                next_counts[(campaign_next[s] * 4 + tier[i]) * 4 + ls] += 1
    counts_next[c] = next_counts
    kcount[c, K_NEW_BLACK] = n_black
    kcount[c, K_NEW_KEY] = n_key
    kcount[c, K_WRONGFUL] = n_wrongful
    kcount[c, K_APPEALS] = n_appeals
    kcount[c, K_APPEALS_WON] = n_won
    kcount[c, K_REPAIRS] = n_repairs
    kcount[c, K_EXITS_NEXT] = n_exits
    kcount[c, K_SIGNED] = n_signed
    kcount[c, K_FALSE_COMMIT] = n_false
    kcount[c, K_BREACHES] = n_breach
    kcount[c, K_OBJECTIONS] = n_objections
    kcount[c, K_OVERTURNED] = n_overturned
    kcount[c, K_SANCTIONS] = n_sanctions
    kcount[c, K_EXPULSIONS] = n_expelled
    kcount[c, K_STOOD] = n_stood


# ---------------------------------------------------------------------------
# orchestration
# ---------------------------------------------------------------------------


class State:
    """Per-slot arrays (:data:`STATE_FIELDS`) with room to grow by whole chunks."""

    def __init__(self, capacity: int) -> None:
        if capacity > CHUNK:
            capacity = -(-capacity // CHUNK) * CHUNK  # whole chunks
        capacity = max(capacity, 1)
        self.a = {name: np.zeros(capacity, dtype=dt) for name, dt in STATE_FIELDS}

    @property
    def capacity(self) -> int:
        """Slots (merchants present + free)."""
        return len(self.a["alive"])

    def n_chunks(self) -> int:
        """Chunks covering the slots."""
        return -(-self.capacity // CHUNK)

    def grow(self, need: int) -> None:
        """Make room for at least ``need`` slots (by at least a quarter, in whole chunks)."""
        old = self.capacity
        new = max(need, old + old // 4)
        new = -(-new // CHUNK) * CHUNK if new > CHUNK else new
        for name, dt in STATE_FIELDS:
            grown = np.zeros(new, dtype=dt)
            grown[:old] = self.a[name]
            self.a[name] = grown

    def tuple(self) -> tuple:
        """The arrays in :data:`STATE_FIELDS` order (what :func:`_month` takes)."""
        return tuple(self.a[name] for name, _ in STATE_FIELDS)

    def place(self, slots: np.ndarray | slice, d: dict, tier: np.ndarray, p_hat0: float, months_clean: int) -> None:
        """Put new merchants (a :func:`sim.params.draw_merchants` dict) into ``slots``."""
        a = self.a
        a["alive"][slots] = 1
        a["flags"][slots] = (NEW | CLEAN) + MEMBER * d["member"].astype(np.uint8)
        a["sector"][slots] = d["sector"]
        a["mtype"][slots] = d["mtype"]
        a["tier"][slots] = tier
        a["list_state"][slots] = R.NONE
        a["revenue"][slots] = d["revenue"]
        a["score"][slots] = d["score"]
        a["norm"][slots] = d["norm"]
        a["p_hat"][slots] = p_hat0
        for name in ("list_since", "list_until", "pending_until", "r1", "r2", "r3", "last_repair", "prev_repair",
                     "objection_until"):
            a[name][slots] = R.NEVER
        a["strikes"][slots] = 0
        a["months_clean"][slots] = months_clean


def _pack(p: Params) -> tuple[tuple, tuple, float]:
    """Scalar parameters as the (float, int) tuples :func:`_month` unpacks, and the exit score."""
    scn = p.scenario
    pol, beh, pop = scn.policy, scn.behaviour, scn.population
    L = pol.lists
    red_on, key_on, black_on = bool(L.red.enabled), bool(L.key_attention.enabled), bool(L.blacklist.enabled)
    ban = bool(L.blacklist.market_ban)
    black_loss = 1.0 if ban else pol.incentives.blacklist_demand_loss
    exit_score = max(L.blacklist.max_score if black_on else 0.0, L.key_attention.max_score if key_on else 0.0)
    own_weight = beh.learning.own_weight if pol.inspection.publish_results else 1.0
    f = (black_loss, pol.incentives.joint_punishment_multiplier, beh.consequence_weight, pol.penalties.fine_multiple,
         beh.risk_aversion, beh.defiant.min_detection, beh.defiant.deterrence_multiple,
         beh.defiant.severe_share_multiplier, beh.careless_violation_rate, beh.social.influence,
         beh.social.honest_collapse_norm, beh.social.norm_adaptation_rate, beh.learning.rate, own_weight,
         p.severe_harm_multiple, pol.inspection.false_positive_rate, beh.appeal_propensity,
         L.blacklist.appeal_success_probability, L.repair.application_probability, pol.penalties.score_loss_minor,
         pol.penalties.score_loss_severe, pol.penalties.monthly_score_recovery, L.red.min_score,
         L.key_attention.max_score, L.blacklist.max_score, exit_score, pop.exit_rate_per_month,
         pop.banned_exit_multiplier, *p.cuts, pol.publicity.intensity, pol.disclosure.publication_months,
         pol.disclosure.penalty_demand_loss, beh.planning_horizon_months, pol.commitments.application_rate,
         beh.unqualified_share, pol.commitments.check_share, pol.commitments.penalty_multiple,
         pol.commitments.approval_value, pol.commitments.score_loss, pol.objections.propensity,
         pol.objections.success_probability,
         pol.associations.detection_probability if pol.associations.enabled else 0.0,
         pol.associations.sanction_multiple)
    i = (red_on, key_on, black_on, ban, bool(beh.learning.full_information), L.blacklist.repeat_violations,
         L.blacklist.repeat_window_months, L.blacklist.duration_months, L.key_attention.duration_months,
         L.blacklist.recognition_delay_months, L.red.clean_months, bool(L.repair.enabled),
         L.repair.min_months_on_list, L.repair.min_months_between, L.repair.max_in_36_months,
         pol.inspection.inspectors, bool(pol.disclosure.enabled), bool(pol.commitments.enabled),
         bool(pol.objections.enabled), pol.objections.delay_months, pol.associations.expel_after, True)
    return tuple(float(x) for x in f), tuple(int(x) for x in i), exit_score


def _split_checks(rng: np.random.Generator, counts: np.ndarray, per_stratum: np.ndarray) -> np.ndarray:
    """Spread each stratum's checks over chunks in proportion to chance (multivariate hypergeometric)."""
    out = np.zeros_like(counts)
    if counts.shape[0] == 1:
        out[0] = per_stratum
        return out
    for s in np.flatnonzero(per_stratum):
        out[:, s] = rng.multivariate_hypergeometric(counts[:, s], int(per_stratum[s]))
    return out


def run(params: Params, rng: np.random.Generator, on_month: Callable[[], None] | None = None
        ) -> tuple[list[dict], list[list[dict]]]:
    """Run one replication with the fast engine.

    Same contract as :func:`sim.engines.mesa_engine.run`: the month records
    (one dict of :data:`sim.metrics.METRICS` per month) and the breakdown rows
    per month. ``on_month`` is called after each month.
    """
    scn = params.scenario
    pol, pop = scn.policy, scn.population
    ins = pol.inspection
    key = np.uint64(rng.integers(0, 2**63, dtype=np.uint64))
    skills = rng.uniform(ins.detection_probability - ins.inspector_skill_spread,
                         ins.detection_probability + ins.inspector_skill_spread, ins.inspectors)
    pf, pi, _ = _pack(params)
    p_hat0 = float(scn.behaviour.learning.initial_perceived_detection)
    sector_f = np.stack([params.margin, params.gain_share, params.harm, params.severe_share,
                         params.detection_factor, params.red_value, params.red_bonus,
                         params.information]).astype(np.float64)
    tier_bonus = params.tier_bonus.astype(np.float64)

    state = State(params.merchants)
    for start in range(0, params.merchants, INIT_BLOCK):
        n = min(INIT_BLOCK, params.merchants - start)
        d = draw_merchants(params, n, rng)
        slots = slice(start, start + n)
        # within each chunk, slots in order of type and sector (a slot's number carries no meaning): the
        # month loop's branches then follow runs of alike merchants, which the processor predicts well,
        # while every chunk keeps the population's mix (threads get equal work)
        chunk = (np.arange(n) // CHUNK).astype(np.uint8)  # a block holds 4 chunks: the key fits in a byte
        order = np.argsort(chunk * 64 + d["mtype"].astype(np.uint8) * 16 + d["sector"].astype(np.uint8),
                           kind="stable")
        d = {k: v[order] for k, v in d.items()}
        state.place(slots, d, R.tier_of(d["score"], *params.cuts), p_hat0, pol.lists.red.clean_months)
    state.a["flags"][:] &= ~np.uint8(NEW)  # nobody owes a norm update at month 0 anyway

    counts = np.zeros((state.n_chunks(), N_STRATA), dtype=np.int64)
    kcount = np.zeros((state.n_chunks(), N_K), dtype=np.int64)
    campaign = campaign_active(scn, 0)
    _exits_before_start(key, state.a["alive"], state.a["list_state"], state.a["tier"], state.a["sector"], campaign,
                        pop.exit_rate_per_month, bool(pol.lists.blacklist.market_ban), pop.banned_exit_multiplier,
                        counts, kcount)
    exits = int(kcount[:, K_EXITS_NEXT].sum())
    peer = np.full(len(SECTORS), scn.behaviour.social.initial_norm_mean)
    published = params.stratum_prob * ins.detection_probability
    records: list[dict] = []
    group_records: list[list[dict]] = []
    for now in range(params.months):
        campaign_next = campaign_active(scn, now + 1)
        counters = dict.fromkeys(COUNTERS, 0)
        counters["exits"] = exits
        # entries through ex-ante review, into free slots
        applicants = int(rng.poisson(pop.entry_rate_per_month * params.merchants))
        flagged = int((rng.random(applicants) < pop.blacklisted_applicant_share).sum())
        refused = flagged if pol.entry.exante_review else 0
        new = [draw_merchants(params, applicants - flagged, rng),
               draw_merchants(params, flagged - refused, rng, forced_type=R.DEFIANT)]
        n_new = applicants - refused
        if n_new:
            free = np.flatnonzero(state.a["alive"] == 0)
            if len(free) < n_new:
                old = state.capacity
                state.grow(old + n_new - len(free))
                free = np.concatenate([free, np.arange(old, state.capacity)])
                counts = np.vstack([counts, np.zeros((state.n_chunks() - len(counts), N_STRATA), np.int64)])
            slots = free[:n_new]
            d = {k: np.concatenate([x[k] for x in new]) for k in new[0]}
            tier = R.tier_of(d["score"], *params.cuts)
            state.place(slots, d, tier, p_hat0, 0)
            np.add.at(counts, (slots // CHUNK, (campaign[d["sector"]] * 4 + tier) * 4 + R.NONE), 1)
        counters["entries"] = n_new
        counters["entries_refused"] = refused
        # plan the checks
        sizes = counts.sum(axis=0)
        per_stratum, requested, scale = R.stratified_counts(sizes, params.stratum_prob, ins.capacity_per_month, rng)
        counters["inspections_requested"] = requested
        counters["capacity_shortfall"] = requested * (1.0 - scale)
        counters["full_process_share"] = full_process_share(scn, sizes, params.stratum_prob * scale)
        counters["campaign_inspections"] = int(per_stratum[CAMPAIGN_STRATA].sum())
        true_det = params.stratum_prob * scale * ins.detection_probability
        if ins.publish_results:
            published = np.where(sizes > 0, per_stratum / np.maximum(sizes, 1), 0.0) * ins.detection_probability
        to_check = _split_checks(rng, counts, per_stratum)
        # the month
        n_chunks = state.n_chunks()
        cells = np.zeros((n_chunks, N_CELLS, N_PATTERNS), dtype=np.int32)  # a chunk holds < 2**31 slots
        money = np.zeros((n_chunks, N_CELLS, len(SUM_COLUMNS)))
        kcount = np.zeros((n_chunks, N_K), dtype=np.int64)
        counts_next = np.zeros((n_chunks, N_STRATA), dtype=np.int64)
        _month(key, now, state.tuple(), sector_f, np.stack([true_det, published]), pf,
               pi[:-1] + (int(now + 1 < params.months),), skills, to_check, counts, peer, cells, money, kcount,
               counts_next, tier_bonus, campaign, campaign_next)
        t = _tally_from_cells(cells, money)
        k = kcount.sum(axis=0)
        counters["new_blacklistings"] = int(k[K_NEW_BLACK])
        counters["new_key_listings"] = int(k[K_NEW_KEY])
        counters["wrongful_listings"] = int(k[K_WRONGFUL])
        counters["appeals"] = int(k[K_APPEALS])
        counters["appeals_won"] = int(k[K_APPEALS_WON])
        counters["repairs"] = int(k[K_REPAIRS])
        counters["incentive_value"] = float(t[_G_SECTOR:_G_SECTOR + _N_SECTORS, T_RED] @ params.red_value)
        for name, j in (("commitments_signed", K_SIGNED), ("false_commitments", K_FALSE_COMMIT),
                        ("commitment_breaches", K_BREACHES), ("objections", K_OBJECTIONS),
                        ("records_overturned", K_OVERTURNED), ("association_sanctions", K_SANCTIONS),
                        ("association_expulsions", K_EXPULSIONS), ("wrongful_listings_stood", K_STOOD)):
            counters[name] = int(k[j])
        counters["approval_days_saved"] = counters["commitments_signed"] * pol.commitments.days_saved
        totals, groups = month_record(t, counters, ins.cost_per_check, pol.associations.cost_per_member)
        totals["month"] = now
        records.append(totals)
        group_records.append(groups)
        n_op = t[_G_SECTOR:_G_SECTOR + _N_SECTORS, T_OPERATING]
        n_ok = t[_G_SECTOR:_G_SECTOR + _N_SECTORS, T_COMPLIANT]
        peer = np.where(n_op > 0, n_ok / np.maximum(n_op, 1), peer)
        exits = int(k[K_EXITS_NEXT])
        counts = counts_next
        campaign = campaign_next
        if on_month is not None:
            on_month()
    return records, group_records

"""Random draws the merchant kernel asks for, by purpose.

The kernel calls :func:`uniform` ``(rng, purpose)`` for every per-merchant draw. What ``rng`` is depends
on who runs the kernel:

* uncompiled (the Mesa engine): a :class:`numpy.random.Generator`; the purpose is ignored and the
  generator's next uniform is returned, so the draws come in the order the kernel asks for them;
* compiled (the fast engine): a 64-bit counter of one merchant's month (:func:`counter`), and the draw is
  SplitMix64 at ``counter + purpose``: a hash of (replication key, month, slot, purpose), the same
  whichever thread handles the merchant.
"""

from __future__ import annotations

from enum import IntEnum

import numba
import numpy as np
from numba import types
from numba.extending import overload

__all__ = ["Draw", "uniform", "counter", "counter_uniform", "BEFORE_START"]


class Draw(IntEnum):
    """Purposes of a merchant's draws in a month (each at most once a month)."""

    CARELESS = 0        # an unintended violation
    SEVERE = 1          # the violation is severe
    SELECT = 2          # selection for a check (fast engine's sampling)
    INSPECTOR = 3       # which inspector (fast engine)
    DETECT = 4          # the check finds the violation, or records a false one
    APPEAL = 5          # a blacklist candidate appeals
    APPEAL_WON = 6      # the appeal of a wrongful candidate succeeds
    REPAIR = 7          # an eligible merchant repairs its credit
    EXIT = 8            # the merchant leaves the market
    APPLY = 9           # applies for an approval on a credit commitment
    QUALIFIED = 10      # ... without meeting the conditions
    VERIFY = 11         # the bureau verifies the commitment
    OBJECT = 12         # a wrongly recorded merchant objects
    OBJECTION_UPHELD = 13
    ASSOCIATION = 14    # the association finds a member's violation
    CHOICE = 15         # the logit choice of a merchant weighing sanctions
    COMPLAINT = 16      # a consumer's complaint about a violation is investigated


BEFORE_START = 0xFFFF
"""Month number keying the draws made before month 0 (the exits that open the first month)."""

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_GOLD32 = np.uint64(0x9E3779B97F4A7C15 * 32 % 2**64)
_S30, _S27, _S31, _S11, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11), np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@numba.njit(inline="always", cache=True)
def _mix(z):
    """SplitMix64 finaliser: a bijective 64-bit hash."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always", cache=True)
def counter(key, month, slot):
    """Counter of one merchant's draws in one month: ``key + ((month << 32 | slot) << 5) * golden``.

    Draw ``purpose`` (0-30) is SplitMix64 at position ``counter + purpose``: one hash per draw, and
    distinct (month, slot, purpose) never share a position (room for 31 purposes; :class:`Draw` uses 17).
    """
    return key + ((np.uint64(month) << _S32) | np.uint64(slot)) * _GOLD32


@numba.njit(inline="always", cache=True)
def counter_uniform(base, purpose):
    """Uniform draw in [0, 1) for one purpose at a merchant's month counter (53 random bits)."""
    return np.float64(np.int64(_mix(base + np.uint64(purpose + 1) * _GOLD) >> _S11)) * _TO_UNIT


def uniform(rng, purpose):
    """A uniform draw in [0, 1) for ``purpose`` (:class:`Draw`): ``rng.random()`` uncompiled; compiled,
    the counter-based draw of the merchant's month counter ``rng`` (see the module docstring)."""
    return rng.random()


@overload(uniform, inline="always")
def _uniform_compiled(rng, purpose):
    if isinstance(rng, types.Integer):
        def impl(rng, purpose):
            return counter_uniform(rng, purpose)
        return impl
    return None

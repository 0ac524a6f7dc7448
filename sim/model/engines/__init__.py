"""Engines: orchestrations of the rules in :mod:`sim.model.rules`.

Each engine exposes ``run(params, rng, on_month=None) -> Months`` (:class:`sim.model.metrics.Months`: the
reported months' tallies and counts, which :func:`sim.model.metrics.month_table` turns into metrics):

* ``mesa``: the readable reference, one Mesa ``Agent`` per merchant;
* ``fast``: the same rules over arrays, compiled by numba (docked to ``mesa`` by
  ``tests/test_docking.py``).

``auto`` picks ``mesa`` up to :data:`AUTO_FAST_ABOVE` merchants and ``fast`` above.
"""

from __future__ import annotations

from collections.abc import Callable

from sim.model.layout import STATE_DTYPE

__all__ = ["ENGINES", "CHOICES", "AUTO_FAST_ABOVE", "BYTES_PER_MERCHANT", "resolve_engine", "get_engine",
           "available_memory", "check_fits"]

ENGINES = ("mesa", "fast")
"""Engine names."""

CHOICES = ("auto",) + ENGINES
"""Values accepted by ``--engine`` and by :func:`sim.experiment.runner.run_scenario`."""

AUTO_FAST_ABOVE = 1000
"""``auto`` uses the fast engine above this many merchants (a Mesa replication of 1,000 merchants over
60 months takes about 2 seconds; at 2,000 and beyond the fast engine is 20-100x quicker)."""


BYTES_PER_MERCHANT = {"mesa": 2500, "fast": STATE_DTYPE.itemsize + 8}
"""Memory a run needs per merchant (bytes), for planning: measured peak growth per merchant in
``benchmarks/bench_engines.py`` (Mesa about 2.2 KB; fast: the state record,
:data:`sim.model.layout.STATE_DTYPE`, plus 8 B of per-chunk counts and growth), rounded up."""


def resolve_engine(name: str, merchants: int) -> str:
    """The engine to use: ``name`` itself, or for ``auto`` the choice by population size (merchants)."""
    if name == "auto":
        return "fast" if merchants > AUTO_FAST_ABOVE else "mesa"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(CHOICES)}")
    return name


def get_engine(name: str) -> Callable:
    """The ``run`` function of the named engine (imported on demand)."""
    if name == "mesa":
        from sim.model.engines.mesa_engine import run
        return run
    if name == "fast":
        from sim.model.engines.fast_engine import run
        return run
    raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}")


def available_memory() -> int:
    """Memory the system can give a new run now (bytes): ``MemAvailable``, else physical memory."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(engine: str, merchants: int, months: int, entry_rate: float, exit_rate: float,
               source: str = "scenario") -> None:
    """Raise :class:`sim.errors.InputError` if a run of ``merchants`` (growing at the entry minus exit
    rate per month for ``months``) would not fit in the memory available to ``engine``."""
    from sim.errors import InputError, Problem

    peak = merchants * (1.0 + max(0.0, entry_rate - exit_rate) * months)
    per = BYTES_PER_MERCHANT[engine]
    avail = available_memory()
    if peak * per > 0.9 * avail:
        most = int(0.9 * avail / per / (peak / merchants))
        raise InputError([Problem(source, "population.merchants", merchants,
                                  f"at most {most:,} with engine {engine} here ({per} bytes each, "
                                  f"{avail / 2**30:.1f} GiB available)")])

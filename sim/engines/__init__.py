"""Engines: orchestrations of the rules in :mod:`sim.rules`.

Each engine exposes ``run(params, rng, on_month=None) -> (records, group_records)``:

* ``mesa``: the readable reference, one Mesa ``Agent`` per merchant;
* ``fast``: the same rules over arrays, compiled by numba (docked to ``mesa`` by
  ``tests/test_docking.py``).

``auto`` picks ``mesa`` up to :data:`AUTO_FAST_ABOVE` merchants and ``fast`` above.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ENGINES", "CHOICES", "AUTO_FAST_ABOVE", "resolve_engine", "get_engine"]

ENGINES = ("mesa", "fast")
"""Engine names."""

CHOICES = ("auto",) + ENGINES
"""Values accepted by ``--engine`` and by :func:`sim.runner.run_scenario`."""

AUTO_FAST_ABOVE = 1000
"""``auto`` uses the fast engine above this many merchants (a Mesa replication of 1,000 merchants over
60 months takes about 2 seconds; at 2,000 and beyond the fast engine is 20-100x quicker)."""


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
        from sim.engines.mesa_engine import run
        return run
    if name == "fast":
        from sim.engines.fast_engine import run
        return run
    raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}")

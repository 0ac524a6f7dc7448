"""Engines: orchestrations of the rules in :mod:`sim.rules`.

Each engine exposes ``run(params, rng, on_month=None) -> (records, group_records)``.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ENGINES", "get_engine"]

ENGINES = ("mesa",)
"""Engine names accepted by ``--engine``."""


def get_engine(name: str) -> Callable:
    """The ``run`` function of the named engine (imported on demand)."""
    if name == "mesa":
        from sim.engines.mesa_engine import run
        return run
    raise ValueError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}")

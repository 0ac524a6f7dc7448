"""Shared fixtures: paths found relative to this file, small scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model.schema import Scenario, _merge, load_raw, validate_dict

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHIPPED = sorted(SCENARIOS.glob("*.yaml"))


def small(base: str | None = None, **over) -> Scenario:
    """A shipped scenario (or the defaults) shrunk for tests (300 merchants, 24 months, no burn-in), with nested
    overrides merged in."""
    data = load_raw(SCENARIOS / base) if base else {}
    # no burn-in unless a test asks for one: most tests follow the month's rules from a known start
    data = _merge(data, {"population": {"merchants": 300, "months": 24, "burn_in_months": 0}})
    data = _merge(data, over)
    return validate_dict(data, base or "test")


@pytest.fixture
def root() -> Path:
    return ROOT
